"""Issue 14: slow and idle connections cannot starve `answerdesk serve`. 500 sockets from one client
that send half a request and stop (1,100 here) leave other visitors served, and are closed after
ANSWERDESK_WEB_IDLE_SECONDS. A real server process on 127.0.0.1; every loop is bounded."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import small_index
from tests.served import HOST, Served

pytestmark = pytest.mark.slow  # a real server process (tests/conftest.py SLOW_SECONDS)


@pytest.fixture
def served(tmp_path: Path, use_encoder: object) -> Iterator[Served]:
    settings = small_index(tmp_path, use_encoder)
    env = {"ANSWERDESK_KB": settings.kb_dir, "ANSWERDESK_INDEX": settings.index_dir, "ANSWERDESK_DB": str(tmp_path / "a.db"),
           "ANSWERDESK_ENCODER": "use", "ANSWERDESK_WEB_IDLE_SECONDS": "20"}
    server = Served(env, tmp_path / "serve.log")
    yield server
    server.stop()


def test_1100_half_sent_requests_leave_other_visitors_served_and_are_closed_when_idle(served: Served) -> None:
    held = []
    try:
        for _ in range(1100):  # past 1024 file descriptors too, where select() would fail
            s = socket.create_connection((HOST, served.port), timeout=5)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x")  # and nothing more
            held.append(s)
        time.sleep(0.5)
        with httpx.Client(base_url=f"http://{HOST}:{served.port}", timeout=5) as visitor:
            started = time.monotonic()
            for _ in range(10):
                assert visitor.get("/healthz").status_code == 200
                opened = visitor.post("/api/conversations", json={"lang": "en"})
                assert opened.status_code == 201
            assert time.monotonic() - started < 10  # served, not queued behind the idle ones
        # Past the idle timeout (20 s, cleaned up every ~6 s) the server has closed them.
        deadline = time.monotonic() + 40
        closed = 0
        while time.monotonic() < deadline and closed < len(held):
            closed = 0
            for s in held:
                s.settimeout(0.001)
                try:
                    closed += s.recv(1) == b""
                except (BlockingIOError, TimeoutError, socket.timeout):
                    pass
                except OSError:
                    closed += 1
            time.sleep(1)
        assert closed == len(held)
    finally:
        for s in held:
            s.close()
