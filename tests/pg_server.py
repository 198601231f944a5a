"""A throwaway PostgreSQL server for tests: initdb into a temporary folder, start it on a free
port of 127.0.0.1, hand out fresh databases, stop it and remove the folder.

initdb and postgres refuse to run as root; as root, the server runs as `nobody` (runuser).
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BINARIES = ("initdb", "pg_ctl", "postgres")


def missing_reason() -> str | None:
    """Why no server can be started here, or None if one can."""
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        return 'psycopg is not installed; pip install "psycopg[binary]>=3.1" "psycopg-pool>=3.2"'
    absent = [name for name in BINARIES if _which(name) is None]
    if absent:
        return f"PostgreSQL binaries not found ({', '.join(absent)}); install postgresql (15+) or put its bin folder on PATH"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root and runuser is missing, so initdb cannot run as another user"
    return None


def _which(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / name).exists():
            return str(folder / name)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """A running server; `create_database()` gives the URL of a new, empty database."""

    def __init__(self, root: Path, port: int, fsync: bool) -> None:
        self.root = root
        self.data = root / "data"
        self.port = port
        self.socket_dir = str(root)
        self.fsync = fsync
        self._names = itertools.count(1)
        self._prefix = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
        self._env = {**os.environ, "LC_ALL": "C"}

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self) -> str:
        name = f"answerdesk_test_{os.getpid()}_{next(self._names)}"
        self._admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _pg_ctl(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([*self._prefix, _which("pg_ctl") or "pg_ctl", "-D", str(self.data), *args],
                              check=True, capture_output=True, env=self._env, cwd=self.root)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync={'on' if self.fsync else 'off'} -c max_connections=200"
        try:
            self._pg_ctl("-o", options, "-l", str(self.root / "server.log"), "start", "-w", "-t", "30")
        except subprocess.CalledProcessError as e:
            log = (self.root / "server.log").read_text(errors="replace") if (self.root / "server.log").exists() else ""
            raise RuntimeError(f"cannot start PostgreSQL: {e}\n{e.stderr.decode(errors='replace')}\n{log}") from e

    def stop(self, mode: str = "fast") -> None:
        """Stop the server ("fast": close every connection; "immediate": as if it crashed)."""
        self._pg_ctl("stop", "-m", mode, "-w")


@contextmanager
def postgres_server(fsync: bool = False) -> Iterator[PostgresServer]:
    """Start a server in a temporary folder; stop it and delete the folder afterwards.

    fsync is off for tests (a crash of the machine loses the throwaway data anyway); benchmarks
    turn it on, to compare with SQLite's synchronous=FULL on equal terms.
    """
    reason = missing_reason()
    if reason:
        raise RuntimeError(reason)
    root = Path(tempfile.mkdtemp(prefix="answerdesk-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, user="nobody")
    server = PostgresServer(root, _free_port(), fsync)
    try:
        subprocess.run(
            [*server._prefix, _which("initdb") or "initdb", "-D", str(server.data), "--auth=trust", "-U", "postgres", "-E", "UTF8", "--locale=C"],
            check=True, capture_output=True, env=server._env, cwd=root,
        )
        server.start()
    except (subprocess.CalledProcessError, RuntimeError):
        shutil.rmtree(root, ignore_errors=True)
        raise
    try:
        yield server
    finally:
        try:
            server.stop()
        except subprocess.CalledProcessError:
            pass  # stopped already
        shutil.rmtree(root, ignore_errors=True)
