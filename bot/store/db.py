"""What the SQL store needs of a database, and the numbered migration files both kinds apply.

`bot.store.sqlite.SQLiteDatabase` and `bot.store.postgres.PostgresDatabase` implement `Database`.
The queries (bot/store/sql.py, sql_agents.py, sql_translations.py, sql_limits.py;
bot/delivery/sql_outbox.py and sql_delivery.py) are written once, with `?` placeholders; a database converts values where the two differ (timestamps are fixed-width
UTC text in SQLite and TIMESTAMPTZ in PostgreSQL; JSON is text in SQLite and JSONB in PostgreSQL).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Protocol

from bot.errors import StorageError

FAILURE_SECONDS = 10.0  # a failed write keeps /healthz unhealthy this long, unless a write commits
_MIGRATION_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ...) -> Cursor: ...


class Database(Protocol):
    """One database: rows are read by column name; every write is one committed transaction."""

    name: str  # the file, or the URL without its password: error messages start with it
    failures: FailedWrites  # set by write() (and PostgreSQL's reads), read by HealthProbe
    # Appended to a SELECT that picks rows to claim: other workers skip the rows it locked.
    skip_locked: str

    def write(self, doing: str) -> AbstractContextManager[Connection]: ...

    def atomic(self, doing: str) -> AbstractContextManager[None]:
        """This thread's writes inside it in one transaction (each write a savepoint of it)."""

    def read(self, doing: str, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...

    def migrate(self, migrations: list[Migration], applied_at: datetime) -> None: ...

    def open(self) -> None:
        """Start serving (after migrate): PostgreSQL opens its pool here."""

    def close(self) -> None: ...

    def stamp(self, moment: datetime) -> Any:
        """A timezone-aware UTC datetime as this database stores it."""

    def time(self, value: Any) -> datetime:
        """A stored timestamp as a timezone-aware UTC datetime."""

    def json(self, value: Any) -> Any:
        """A stored JSON column as Python data."""

    def order_ids(self, conn: Connection) -> None:
        """Make this transaction's new message ids commit in id order (readers poll with after_id)."""

    def is_unique_violation(self, error: BaseException | None) -> bool: ...

    def probe(self) -> str | None:
        """None if a write could start now, else why not; writes nothing (health checks)."""


@contextmanager
def unit_of_work(local: threading.local, write: Callable[[str], AbstractContextManager[Any]], doing: str) -> Iterator[None]:
    """A database's `atomic`: one `write` transaction whose connection is this thread's `local.unit`
    meanwhile, so the writes inside (savepoints) and the reads share it. Nested: one transaction."""
    if getattr(local, "unit", None) is not None:
        yield
        return
    with write(doing) as conn:
        local.unit = conn
        try:
            yield
        finally:
            local.unit = None


class FailedWrites:
    """The last failure of the database itself (not of a statement: a unique key is not one),
    kept until a write commits: the health check reports it, as requests are seeing it."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.at = -math.inf

    def failed(self, reason: str) -> None:
        self.reason, self.at = reason, time.monotonic()

    def succeeded(self) -> None:
        self.reason = None

    def recent(self, seconds: float) -> str | None:
        reason = self.reason
        return reason if reason is not None and time.monotonic() - self.at < seconds else None


class HealthProbe:
    """`Database.probe` at most once every `every` seconds; the result is kept in between, so
    health checks from a load balancer cost one small transaction per interval."""

    def __init__(self, database: Database, every: float = 2.0) -> None:
        self.database = database
        self.every = every
        self._lock = threading.Lock()
        self._at = -math.inf
        self._result: str | None = None

    def __call__(self) -> str | None:
        # A write that failed lately and none committed since: a fresh connection may still
        # work (SQLite hands it a writable descriptor an old connection left open) while
        # request threads fail, so their failures count too.
        failing = self.database.failures.recent(FAILURE_SECONDS)
        if failing is not None:
            return failing
        with self._lock:
            now = time.monotonic()
            if now - self._at >= self.every:
                self._result = self.database.probe()
                self._at = time.monotonic()
            return self._result


def database_of(store: object, keeps: str) -> Database:
    """The SQL database behind `store`, for the modules that keep `keeps` (the outbox, seen
    keys…) beside its conversations; StorageError for a store that has none (a test fake)."""
    database = getattr(store, "database", None)
    if database is None:
        raise StorageError(f"{type(store).__name__} keeps no {keeps}; only the SQL store (SQLite, PostgreSQL) does")
    return database


def aware(moment: datetime, name: str = "clock") -> datetime:
    """`moment` in UTC; ValueError for a naive datetime, which would be stored as if it were UTC."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware; use datetime.now(timezone.utc)")
    return moment.astimezone(timezone.utc)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str  # the file name, e.g. "0001_initial.sql"
    sql: str


def refuse_newer(name: str, current: int, migrations: list[Migration], target: str) -> None:
    """StorageError when the database's schema is newer than the migrations this Answerdesk has."""
    latest = migrations[-1] if migrations else None
    known = latest.version if latest else 0
    if current > known:
        raise StorageError(
            f"{name} has schema version {current}, newer than this Answerdesk knows "
            f"(up to {known}{', ' + latest.name if latest else ''}); upgrade Answerdesk or set ANSWERDESK_DB to another {target}"
        )


def read_migrations(folder: Traversable | Path) -> list[Migration]:
    """The migration files of `folder`, in version order."""
    found: list[Migration] = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _MIGRATION_NAME.fullmatch(entry.name)
        if not match:
            raise StorageError(f"{folder}/{entry.name}: migration files are named NNNN_<what>.sql, e.g. 0002_add_tags.sql")
        found.append(Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    for before, after in zip(found, found[1:]):
        if before.version == after.version:
            raise StorageError(f"{folder}: {before.name} and {after.name} have the same number; renumber one")
    return found

