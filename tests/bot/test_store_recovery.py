"""The store recovers by itself when a database error goes away: no restart, no new store.

SQLite: the file is made read-only while serving. Tests run as root, which ignores file modes,
so as root the file is made immutable (chattr +i: open(O_RDWR) fails with EPERM, as it does for
a file of mode 0444 for another user, and SQLite opens it read-only); otherwise chmod 0444.
PostgreSQL: the test server is stopped and started again.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.errors import StorageError
from bot.store.connect import PostgresStore, SQLiteStore
from bot.store.sql import SQLStore


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """`path` cannot be opened for writing while inside (its -wal and -shm files stay as they are)."""
    if os.geteuid() == 0:
        if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
            pytest.skip("running as root and chattr +i is not available here, so the file cannot be made read-only")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        return
    mode = path.stat().st_mode
    path.chmod(0o444)
    try:
        yield
    finally:
        path.chmod(mode)


class Worker:
    """One long-lived thread, like a server's request thread: it keeps its SQLite connection."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[Callable[[], Any] | None] = queue.Queue()
        self._results: queue.Queue[tuple[bool, Any]] = queue.Queue()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                self._results.put((True, job()))
            except BaseException as e:  # handed back to the test
                self._results.put((False, e))

    def call(self, job: Callable[[], Any]) -> Any:
        self._jobs.put(job)
        ok, value = self._results.get(timeout=30)
        if not ok:
            raise value
        return value

    def stop(self) -> None:
        self._jobs.put(None)
        self._thread.join(10)


def write_until_it_works(worker: Worker, store: SQLStore, seconds: float) -> float:
    """Seconds until a write from `worker` succeeds; fails the test after `seconds`."""
    started = time.monotonic()
    for attempt in range(10_000):
        try:
            worker.call(lambda: store.create_conversation("web", f"after-{attempt}", "en"))
            return time.monotonic() - started
        except StorageError:
            if time.monotonic() - started > seconds:
                raise
            time.sleep(0.1)
    raise AssertionError("unreachable")


def test_sqlite_serves_again_after_a_read_only_episode(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "desk.db")
    store.health_probe.every = 0
    worker = Worker()
    try:
        store.create_conversation("web", "before", "en")
        with read_only(tmp_path / "desk.db"):
            # A thread that opens its connection now gets a read-only one from SQLite.
            with pytest.raises(StorageError, match="readonly"):
                worker.call(lambda: store.create_conversation("web", "during", "en"))
            assert "readonly" in (store.health() or "")
        # Same thread, same store: before the fix its read-only connection failed every write until a restart.
        assert write_until_it_works(worker, store, seconds=3.0) < 3.0
        assert store.health() is None
        assert {c.external_user for c in store.list_conversations()} >= {"before", "after-0"}
    finally:
        worker.stop()
        store.close()


def test_sqlite_replaces_a_connection_left_in_a_transaction(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "desk.db")
    try:
        with store.database.write("test") as conn:  # type: ignore[attr-defined]
            conn.execute("SELECT 1")
        # A write whose rollback failed left its connection inside a transaction; the next one
        # must not fail with "cannot start a transaction within a transaction" for ever.
        with store.database.connection() as conn:  # type: ignore[attr-defined]
            conn.execute("BEGIN")
        with pytest.raises(StorageError):
            store.create_conversation("web", "stuck", "en")
        store.create_conversation("web", "unstuck", "en")
    finally:
        store.close()


def test_postgres_serves_again_after_the_server_restarts(pg_server: Any, pg_url: str) -> None:
    store = PostgresStore(pg_url, busy_timeout=2.0)
    store.health_probe.every = 0
    worker = Worker()
    try:
        store.create_conversation("web", "before", "en")
        pg_server.stop()
        try:
            with pytest.raises(StorageError):
                worker.call(lambda: store.create_conversation("web", "during", "en"))
            assert store.health() is not None
        finally:
            pg_server.start()
        took = write_until_it_works(worker, store, seconds=10.0)
        assert took < 10.0
        assert store.health() is None
    finally:
        worker.stop()
        store.close()
