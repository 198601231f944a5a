"""One SQLite database: WAL, one connection per thread, a committed transaction per write,
and the numbered SQL files of bot/store/migrations applied in order when it opens."""

from __future__ import annotations

import json
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from bot.errors import StorageError
from bot.store.db import FailedWrites, Migration, read_migrations, refuse_newer, unit_of_work

MEMORY = ":memory:"


def load_migrations(folder: Traversable | Path | None = None) -> list[Migration]:
    """The migration files of `folder` (default bot/store/migrations), in version order."""
    return read_migrations(folder if folder is not None else resources.files("bot.store").joinpath("migrations"))


def storage_error(path: str, doing: str, e: BaseException, timeout: float) -> StorageError:
    """A StorageError naming the database, what failed, the cause and the likely fix."""
    text = str(e).lower()
    if "locked" in text or "busy" in text:
        fix = f"another connection held the write lock for more than {timeout:g} s; raise ANSWERDESK_DB_BUSY_TIMEOUT or find the long transaction"
    elif "unable to open" in text:
        fix = "check that its folder exists and is writable"
    elif "readonly" in text:
        fix = "make the file and its folder writable by this user"
    elif "not a database" in text or "malformed" in text:
        fix = "it is not an Answerdesk database or it is damaged; restore a backup or set ANSWERDESK_DB to another file"
    elif "disk" in text or "full" in text:
        fix = "check the free disk space"
    else:
        fix = "see the cause above"
    return StorageError(f"{path}: cannot {doing}: {e}; {fix}")


# Errors after which this thread's connection is closed and the next call opens a new one.
# SQLite opens a file it cannot write read-only and keeps it so: without this, a thread whose
# connection was opened during a read-only episode failed every write until a restart.
_REOPEN_AFTER = ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_NOTADB", "SQLITE_CORRUPT", "SQLITE_PERM", "SQLITE_FULL")


def heals_on_reopen(e: BaseException) -> bool:
    """Whether `e` may be a state of the connection, not of the file: then a new connection may work."""
    name = getattr(e, "sqlite_errorname", "") or ""
    return isinstance(e, sqlite3.Error) and name.startswith(_REOPEN_AFTER)


SYNCHRONOUS = {"full": "FULL", "normal": "NORMAL"}  # ANSWERDESK_SQLITE_SYNCHRONOUS → the pragma


class _Held:
    """Holds one thread's connection; weak-referenceable, unlike sqlite3.Connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn


class SQLiteDatabase:
    """Connections to one file, one per thread; for :memory:, one shared connection and a lock.

    Timestamps are fixed-width UTC ISO-8601 text ("2026-01-02T09:00:00.000000+00:00"), so
    comparing the text compares the times; JSON columns are text.
    """

    # Writers take the whole database (BEGIN IMMEDIATE), so a claim never meets a locked row.
    skip_locked = ""

    def __init__(self, path: str, busy_timeout: float, synchronous: str = "full") -> None:
        self.path = path
        self.name = path
        self.timeout = busy_timeout
        if synchronous not in SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {', '.join(SYNCHRONOUS)}, not {synchronous!r}")
        self.synchronous = synchronous
        if path != MEMORY:
            parent = Path(path).parent
            try:
                parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StorageError(f"{path}: cannot create the folder {parent}: {e}; create it or set ANSWERDESK_DB to another path") from e
        self._local = threading.local()
        # Weak, so a finished thread's connection is freed with its thread-local storage.
        self._held: weakref.WeakSet[_Held] = weakref.WeakSet()
        self._registry = threading.Lock()
        # An in-memory database lives in its connection, so every thread must share that one.
        self._shared: sqlite3.Connection | None = None
        self._shared_lock = threading.RLock()
        # Writers of this process queue on a Python lock: SQLite's own busy handler sleeps with
        # growing back-off (up to 100 ms a try), which at 8 concurrent visitors gave a p99 of
        # 300-550 ms (bench/web_load.py). Other processes still meet SQLite's lock and timeout.
        self._write_lock = threading.Lock()
        self._closed = False
        self.failures = FailedWrites()

    def _open(self) -> sqlite3.Connection:
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, one transaction per write.
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            # FULL: a committed message survives a power cut too, not only a crash of the process.
            # NORMAL (WAL): a crash of the process loses nothing; a power cut may lose the last
            # commits (README "Durability"). ANSWERDESK_SQLITE_SYNCHRONOUS chooses.
            conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS[self.synchronous]}")
        except sqlite3.Error as e:
            raise self.error("open the database", e) from e
        return conn

    def error(self, doing: str, e: BaseException) -> StorageError:
        return storage_error(self.path, doing, e, self.timeout)

    @staticmethod
    def stamp(moment: datetime) -> str:
        return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")

    @staticmethod
    def time(value: str) -> datetime:
        return datetime.fromisoformat(value)

    @staticmethod
    def json(value: str) -> Any:
        return json.loads(value)

    def open(self) -> None:
        """Nothing to do: each thread opens its connection when it first needs one."""

    def order_ids(self, conn: sqlite3.Connection) -> None:
        """Nothing to do: one writer at a time, so ids commit in order."""

    @staticmethod
    def is_unique_violation(error: BaseException | None) -> bool:
        return isinstance(error, sqlite3.IntegrityError) and "UNIQUE" in str(error)

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection (the shared one, locked, for :memory:)."""
        if self._closed:
            raise StorageError(f"{self.path}: the store is closed; open a new one with open_store()")
        if self.path == MEMORY:
            with self._shared_lock:
                if self._shared is None:
                    self._shared = self._open()
                yield self._shared
            return
        held: _Held | None = getattr(self._local, "held", None)
        if held is None:
            held = _Held(self._open())
            self._local.held = held
            with self._registry:
                self._held.add(held)
        try:
            yield held.conn
        except BaseException as e:
            # A connection left in a transaction (its rollback failed) or broken by an error
            # the file may heal from is replaced, so this thread recovers when the cause goes.
            if held.conn.in_transaction or heals_on_reopen(e) or heals_on_reopen(e.__cause__ or e):
                self._drop(held)
            raise

    def _drop(self, held: _Held) -> None:
        """Close this thread's connection; its next call opens a new one."""
        self._local.held = None
        with self._registry:
            self._held.discard(held)
        try:
            held.conn.close()
        except sqlite3.Error:
            pass  # closing a broken connection may fail too; it is dropped either way

    def atomic(self, doing: str) -> AbstractContextManager[None]:
        """Every write of this thread inside it in one transaction: committed together on exit, or
        none of them. The reads inside see those writes (one connection). Nested: one transaction."""
        return unit_of_work(self._local, self.write, doing)

    @contextmanager
    def write(self, doing: str) -> Iterator[sqlite3.Connection]:
        """One transaction, committed on exit; IMMEDIATE so concurrent writers queue, never deadlock.
        Inside `atomic`, a savepoint of its transaction instead: undone alone if it fails."""
        unit = getattr(self._local, "unit", None)
        if unit is not None:
            yield from _savepoint(unit, lambda e: self._failed(doing, e))
            return
        with self._write_lock, self.connection() as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                raise self._failed(doing, e) from e
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as e:
                if conn.in_transaction:
                    try:
                        conn.rollback()
                    except sqlite3.Error:
                        pass  # still in a transaction: connection() replaces this connection
                if isinstance(e, sqlite3.Error):
                    raise self._failed(doing, e) from e
                raise
            self.failures.succeeded()

    def _failed(self, doing: str, e: sqlite3.Error) -> StorageError:
        """The StorageError for `e`, noted for the health check unless a statement was at fault."""
        error = self.error(doing, e)
        if not isinstance(e, (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)):
            self.failures.failed(str(error))
        return error

    def read(self, doing: str, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """The rows of one query."""
        with self.connection() as conn:
            try:
                return conn.execute(sql, params).fetchall()
            except sqlite3.Error as e:
                raise self.error(doing, e) from e

    def probe(self) -> str | None:
        """None if a new connection can write now, else why not (a write of no row, rolled back)."""
        if self._closed:
            return "the store is closed"
        if self.path == MEMORY:
            return None
        try:
            # A new connection, not this thread's: it sees the file as a new request thread would.
            conn = sqlite3.connect(self.path, timeout=min(self.timeout, 2.0), isolation_level=None, check_same_thread=False)
            try:
                conn.execute("BEGIN IMMEDIATE")
                # BEGIN IMMEDIATE succeeds on a read-only connection; a write statement does not.
                conn.execute("UPDATE schema_version SET version = version WHERE 0")
                conn.execute("ROLLBACK")
            finally:
                conn.close()
        except sqlite3.Error as e:
            return str(self.error("write", e))
        return None

    def migrate(self, migrations: list[Migration], applied_at: datetime) -> None:
        """Apply the migrations newer than the database, each in its own transaction."""
        with self.connection() as conn:
            try:
                if self.path != MEMORY:
                    # WAL lets the console read while a channel writes; it persists in the file.
                    conn.execute("PRAGMA journal_mode = WAL")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
                )
                current = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]
            except sqlite3.Error as e:
                raise self.error("read the schema version", e) from e
            refuse_newer(self.path, current, migrations, "file")
            for migration in migrations:
                if migration.version > current:
                    self._apply(conn, migration, self.stamp(applied_at))

    def _apply(self, conn: sqlite3.Connection, migration: Migration, applied_at: str) -> None:
        # executescript commits any open transaction first, so BEGIN is part of the script; the
        # version row goes in first so a second process applying the same file fails on its key.
        # Foreign keys are off while a migration runs (SQLite cannot change a table's CHECK
        # without rebuilding it, and dropping the old table must not cascade to its messages);
        # they are checked before the commit.
        script = (
            "BEGIN IMMEDIATE;\n"
            f"INSERT INTO schema_version (version, name, applied_at) VALUES ({migration.version}, '{migration.name}', '{applied_at}');\n"
            f"{migration.sql}\n;"
        )
        conn.execute("PRAGMA foreign_keys = OFF")
        try:
            conn.executescript(script)
            broken = conn.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise sqlite3.IntegrityError(f"foreign keys broken in {', '.join(sorted({row[0] for row in broken}))}")
            conn.execute("COMMIT")
        except sqlite3.IntegrityError as e:
            if conn.in_transaction:
                conn.rollback()
            if "schema_version" not in str(e):
                raise StorageError(f"{self.path}: migration {migration.name} failed: {e}; nothing of it was applied") from e
            # applied meanwhile by another process
        except sqlite3.Error as e:
            if conn.in_transaction:
                conn.rollback()
            raise StorageError(
                f"{self.path}: migration {migration.name} failed: {e}; nothing of it was applied. Fix the SQL file and start again"
            ) from e
        finally:
            conn.execute("PRAGMA foreign_keys = ON")

    def close(self) -> None:
        """Close every connection; the database cannot be used afterwards."""
        self._closed = True
        with self._registry:
            for held in list(self._held):
                held.conn.close()
        with self._shared_lock:
            if self._shared is not None:
                self._shared.close()


def _savepoint(conn: sqlite3.Connection, failed: Callable[[sqlite3.Error], Exception]) -> Iterator[sqlite3.Connection]:
    conn.execute("SAVEPOINT answerdesk_write")
    try:
        yield conn
    except BaseException as e:
        conn.execute("ROLLBACK TO answerdesk_write")
        conn.execute("RELEASE answerdesk_write")
        if isinstance(e, sqlite3.Error):
            raise failed(e) from e
        raise
    conn.execute("RELEASE answerdesk_write")
