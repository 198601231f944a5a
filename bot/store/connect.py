"""Which database a setting names, and the store over it: SQLite (the default) or PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from importlib.resources.abc import Traversable
from pathlib import Path

from bot.errors import ConfigError
from bot.store.model import Store, utc_now
from bot.store.sql import SQLStore


class SQLiteStore(SQLStore):
    """The store in one SQLite file (or :memory: for tests); the default."""

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Callable[[], datetime] = utc_now,
        busy_timeout: float = 5.0,
        migrations: Traversable | Path | None = None,
        synchronous: str = "full",
    ) -> None:
        from bot.store.sqlite import SQLiteDatabase, load_migrations

        super().__init__(SQLiteDatabase(str(path), busy_timeout, synchronous), load_migrations(migrations), clock)


class PostgresStore(SQLStore):
    """The store in one PostgreSQL database (postgresql://user:password@host:port/dbname)."""

    def __init__(
        self,
        url: str,
        *,
        clock: Callable[[], datetime] = utc_now,
        busy_timeout: float = 5.0,
        migrations: Traversable | Path | None = None,
    ) -> None:
        from bot.store.postgres import PostgresDatabase, load_pg_migrations  # psycopg only when asked for

        super().__init__(PostgresDatabase(url, busy_timeout), load_pg_migrations(migrations), clock)


def open_store(
    url_or_path: str, *, clock: Callable[[], datetime] | None = None, busy_timeout: float = 5.0, setting: str = "ANSWERDESK_DB",
    synchronous: str = "full",
) -> Store:
    """The store at `sqlite:///relative.db`, `sqlite:////absolute.db`, a file path, `:memory:` or `postgresql://…`;
    `synchronous` (SQLite): "full" or "normal" (ANSWERDESK_SQLITE_SYNCHRONOUS)."""
    target = url_or_path.strip()
    if target.startswith(("postgresql://", "postgres://")):
        return PostgresStore(target, clock=clock or utc_now, busy_timeout=busy_timeout)
    if target.startswith("sqlite://"):
        # SQLAlchemy's convention: the path is what follows the third slash.
        path = target[len("sqlite://"):]
        path = path[1:] if path.startswith("/") else ""
    elif "://" in target:
        path = ""
    else:
        path = target
    if not path:
        raise ConfigError(
            setting,
            url_or_path,
            "Use sqlite:///var/answerdesk.db (relative), sqlite:////srv/answerdesk.db (absolute), a file path, "
            "postgresql://user@host/db, or :memory: for tests.",
        )
    return SQLiteStore(path, clock=clock or utc_now, busy_timeout=busy_timeout, synchronous=synchronous)
