"""`answerdesk serve` as a real process for tests: start it on a free port of 127.0.0.1, find its
workers, talk to it as a widget does, stop it. Used by the fault tests and the worker tests."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import fields
from collections.abc import Mapping
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from bot.config import Settings

HOST = "127.0.0.1"
# The rate limits and stream caps (channels/web/limits.py) off: the tests that use a real server
# put a day's load through it from one address; tests/channels/web/test_limits.py tests the limits.
NO_LIMITS = {
    f.metadata["env"]: "0" for f in fields(Settings) if f.metadata["env"].startswith(("ANSWERDESK_LIMIT_", "ANSWERDESK_OPEN_STREAMS_"))
}
REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Served:
    """A running `answerdesk serve [--workers N]`; its output goes to `log`."""

    def __init__(self, env: Mapping[str, str], log: Path, workers: int = 1, start_seconds: float = 90.0) -> None:
        self.port = free_port()
        self.log = log
        self.workers = workers
        command = [str(Path(sys.executable).with_name("answerdesk")), "serve", "--host", HOST, "--port", str(self.port)]
        if workers > 1:
            command += ["--workers", str(workers)]
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("ANSWERDESK_", "SLACK_", "TELEGRAM_"))}
        clean.update(NO_LIMITS)  # these tests load the server from one address; `env` may set limits back
        with log.open("w", encoding="utf-8") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env={**clean, **env}, start_new_session=True)
        deadline = time.monotonic() + start_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"answerdesk serve exited with {self.process.returncode}:\n{self.output()[-3000:]}")
            if re.search(r"serving on http://", self.output()) and len(self.worker_pids()) >= (workers if workers > 1 else 0) and self._healthy():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"answerdesk serve did not start in {start_seconds:g} s:\n{self.output()[-3000:]}")

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def worker_pids(self) -> list[int]:
        """The master's child processes (the workers; empty for one process serving alone)."""
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        except OSError:
            return []
        return sorted(int(pid) for pid in children)

    def _healthy(self) -> bool:
        try:
            status, _ = Client(self.port).request("GET", "/healthz")
        except OSError:
            return False
        return status == 200

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


class Client:
    """One browser: a cookie jar and a keep-alive connection (reopened after an error)."""

    def __init__(self, port: int, timeout: float = 20.0) -> None:
        self.port = port
        self.timeout = timeout
        self.cookies: SimpleCookie = SimpleCookie()
        self.conn: http.client.HTTPConnection | None = None
        self.lock = threading.Lock()

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """(status, JSON body); raises OSError or http.client.HTTPException when the connection fails."""
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={m.value}" for k, m in self.cookies.items())
        if self.conn is None:
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        try:
            self.conn.request(method, path, None if body is None else json.dumps(body).encode(), headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise
        for value in response.headers.get_all("Set-Cookie") or ():
            self.cookies.load(value)
        try:
            return response.status, json.loads(raw) if raw else {}
        except ValueError:
            return response.status, {"error": raw[:200].decode(errors="replace")}
