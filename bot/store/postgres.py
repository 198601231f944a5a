"""One PostgreSQL database: a psycopg connection pool, a committed transaction per write,
and the numbered SQL files of bot/store/migrations_pg applied in order when it opens."""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import psycopg
from psycopg import errors
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from bot.errors import StorageError
from bot.store.db import FailedWrites, Migration, read_migrations, refuse_newer, unit_of_work

# Any constants; held for the whole migration so two processes starting together apply each file
# once, and around each message insert so message ids commit in order.
_MIGRATION_LOCK = 7_261_001
_MESSAGE_LOCK = 7_261_002


def redact(url: str) -> str:
    """The URL without its password, for error messages and logs."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)


def load_pg_migrations(folder: Traversable | Path | None = None) -> list[Migration]:
    """The migration files of `folder` (default bot/store/migrations_pg), in version order."""
    return read_migrations(folder if folder is not None else resources.files("bot.store").joinpath("migrations_pg"))


@lru_cache(maxsize=512)
def _pg_sql(sql: str) -> str:
    """The queries are written with ? placeholders (bot/store/db.py); psycopg wants %s."""
    return sql.replace("%", "%%").replace("?", "%s")


class _Connection:
    """A pooled connection that takes the store's ? placeholders."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.raw = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        return self.raw.execute(_pg_sql(sql), params)


def storage_error(name: str, doing: str, e: BaseException, timeout: float) -> StorageError:
    """A StorageError naming the database, what failed, the cause and the likely fix."""
    cause = " ".join(str(e).split())  # psycopg's text spans lines (LINE 2: ... ^)
    text = cause.lower()
    if isinstance(e, (errors.LockNotAvailable, errors.QueryCanceled)):
        fix = f"another transaction held a lock for more than {timeout:g} s; raise ANSWERDESK_DB_BUSY_TIMEOUT or find the long transaction"
    elif isinstance(e, PoolTimeout):
        fix = f"no connection was free or could be opened within {timeout:g} s; check that PostgreSQL runs and accepts connections"
    elif isinstance(e, errors.InvalidCatalogName) or ("database" in text and "does not exist" in text):
        fix = "create the database (createdb) or set ANSWERDESK_DB to an existing one"
    elif isinstance(e, (errors.InvalidPassword, errors.InvalidAuthorizationSpecification)) or "authentication failed" in text:
        fix = "check the user and password in ANSWERDESK_DB"
    elif isinstance(e, errors.InsufficientPrivilege):
        fix = "grant the user rights on the database, or set ANSWERDESK_DB to a user that has them"
    elif isinstance(e, errors.DiskFull):
        fix = "check the free disk space of the PostgreSQL server"
    elif isinstance(e, psycopg.OperationalError):
        fix = "check that PostgreSQL runs, and the host, port and database in ANSWERDESK_DB"
    else:
        fix = "see the cause above"
    return StorageError(f"{name}: cannot {doing}: {cause}; {fix}")


class PostgresDatabase:
    """A pool of connections to one PostgreSQL database; every session runs in UTC.

    Timestamps are TIMESTAMPTZ and JSON columns JSONB. JSON goes in as text, which PostgreSQL
    casts to the column's type (psycopg sends str untyped), and comes out parsed.
    """

    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str, busy_timeout: float, max_size: int = 10) -> None:
        self.url = url
        self.name = redact(url)
        self.timeout = busy_timeout
        self._closed = False
        self._local = threading.local()  # `unit`: the connection of this thread's `atomic` block
        self.failures = FailedWrites()
        # lock_timeout turns a lock wait past busy_timeout into an error, like SQLite's busy timeout.
        options = f"-c timezone=UTC -c lock_timeout={max(1, int(busy_timeout * 1000))}"
        self._kwargs: dict[str, Any] = {
            "autocommit": True, "row_factory": dict_row, "options": options,
            "connect_timeout": max(2, int(busy_timeout)),
        }
        # check: a connection the server dropped (a restart) is replaced before it is handed out,
        # so the first request after a restart succeeds instead of failing on a dead socket.
        self._pool = ConnectionPool(
            url, min_size=1, max_size=max_size, kwargs=self._kwargs, timeout=busy_timeout, open=False,
            check=ConnectionPool.check_connection, reconnect_timeout=max(30.0, busy_timeout),
        )

    def error(self, doing: str, e: BaseException) -> StorageError:
        return storage_error(self.name, doing, e, self.timeout)

    @staticmethod
    def stamp(moment: datetime) -> datetime:
        return moment.astimezone(timezone.utc)

    @staticmethod
    def time(value: datetime) -> datetime:
        return value.astimezone(timezone.utc)

    @staticmethod
    def json(value: Any) -> Any:
        return value

    def order_ids(self, conn: _Connection) -> None:
        """Insert messages one transaction at a time, so a reader polling with after_id (live
        updates, bot/delivery/relay.py) never passes an id whose row commits later."""
        conn.execute("SELECT pg_advisory_xact_lock(?)", (_MESSAGE_LOCK,))

    @staticmethod
    def is_unique_violation(error: BaseException | None) -> bool:
        return isinstance(error, errors.UniqueViolation)

    def open(self) -> None:
        """Open the pool; call after migrate(), which checks the server is reachable."""
        self._pool.open()

    @contextmanager
    def connection(self, doing: str) -> Iterator[_Connection]:
        """A connection from the pool, in autocommit mode; inside `atomic`, the unit's own."""
        if self._closed:
            raise StorageError(f"{self.name}: the store is closed; open a new one with open_store()")
        unit = getattr(self._local, "unit", None)
        if unit is not None:
            yield unit
            return
        try:
            with self._pool.connection() as conn:
                yield _Connection(conn)
        except (psycopg.Error, PoolTimeout) as e:
            error = self.error(doing, e)
            if not isinstance(e, (errors.IntegrityError, errors.DataError, errors.ProgrammingError)):  # not the statement's fault
                self.failures.failed(str(error))
            raise error from e

    def atomic(self, doing: str) -> AbstractContextManager[None]:
        """Every write of this thread inside it in one transaction: committed together on exit, or
        none of them. The reads inside see those writes (one connection). Nested: one transaction."""
        return unit_of_work(self._local, self.write, doing)

    @contextmanager
    def write(self, doing: str) -> Iterator[_Connection]:
        """One transaction, committed on exit, rolled back on any error (inside `atomic`, a
        savepoint of its transaction: undone alone)."""
        with self.connection(doing) as conn, conn.raw.transaction():
            yield conn
        self.failures.succeeded()

    def read(self, doing: str, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """The rows of one query."""
        with self.connection(doing) as conn:
            return conn.execute(sql, params).fetchall()

    def probe(self) -> str | None:
        """None if a pooled connection can write now, else why not (an UPDATE of no row, rolled back)."""
        if self._closed:
            return "the store is closed"
        try:
            with self._pool.connection(timeout=min(self.timeout, 2.0)) as conn, conn.transaction():
                # Fails on a read-only server or transaction; takes no row lock.
                conn.execute("UPDATE schema_version SET version = version WHERE false")
                raise psycopg.Rollback()  # ends the transaction without an error
        except (psycopg.Error, PoolTimeout) as e:
            return str(self.error("write", e))
        return None

    def migrate(self, migrations: list[Migration], applied_at: datetime) -> None:
        """Apply the migrations newer than the database, each in its own transaction."""
        try:
            conn = psycopg.connect(self.url, **self._kwargs)
        except psycopg.Error as e:
            raise self.error("open the database", e) from e
        with conn:
            try:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
                    conn.execute(
                        "CREATE TABLE IF NOT EXISTS schema_version "
                        "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
                    )
                    current = conn.execute("SELECT COALESCE(MAX(version), 0) AS v FROM schema_version").fetchone()["v"]
            except psycopg.Error as e:
                raise self.error("read the schema version", e) from e
            refuse_newer(self.name, current, migrations, "database")
            for migration in migrations:
                if migration.version > current:
                    self._apply(conn, migration, applied_at)

    def _apply(self, conn: psycopg.Connection[Any], migration: Migration, applied_at: datetime) -> None:
        try:
            with conn.transaction():
                conn.execute(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, applied_at),
                )
                conn.execute(migration.sql.encode("utf-8"))  # no parameters: may hold many statements
        except psycopg.Error as e:
            raise StorageError(
                f"{self.name}: migration {migration.name} failed: {' '.join(str(e).split())}; nothing of it was applied. "
                "Fix the SQL file and start again"
            ) from e

    def close(self) -> None:
        """Close every connection; the database cannot be used afterwards."""
        self._closed = True
        self._pool.close()
