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

    def __init__(self, port: int, socket_dir: str) -> None:
        self.port = port
        self.socket_dir = socket_dir
        self._names = itertools.count(1)

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


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a server in a temporary folder; stop it and delete the folder afterwards."""
    reason = missing_reason()
    if reason:
        raise RuntimeError(reason)
    root = Path(tempfile.mkdtemp(prefix="answerdesk-pg-"))
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "nobody", "--"] if as_root else []
    if as_root:
        shutil.chown(root, user="nobody")
    data = root / "data"
    port = _free_port()
    pg_ctl = _which("pg_ctl") or "pg_ctl"
    env = {**os.environ, "LC_ALL": "C"}
    try:
        subprocess.run(
            [*prefix, _which("initdb") or "initdb", "-D", str(data), "--auth=trust", "-U", "postgres", "-E", "UTF8", "--locale=C"],
            check=True, capture_output=True, env=env, cwd=root,
        )
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "server.log"), "start", "-w", "-t", "30"],
            check=True, capture_output=True, env=env, cwd=root,
        )
    except subprocess.CalledProcessError as e:
        log = (root / "server.log").read_text(errors="replace") if (root / "server.log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"cannot start PostgreSQL: {e}\n{e.stderr.decode(errors='replace')}\n{log}") from e
    try:
        yield PostgresServer(port, str(root))
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "stop", "-m", "fast", "-w"], capture_output=True, env=env, cwd=root)
        shutil.rmtree(root, ignore_errors=True)
