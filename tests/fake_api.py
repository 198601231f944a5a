"""The shared half of the tests' fake chat APIs (Slack Web API, Telegram Bot API) on 127.0.0.1.

A subclass answers requests in `_handle`; this base serves them on port 0, records every call,
and lets a test wait for the calls it expects instead of sleeping.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    status: int
    ok: bool
    at: float  # time.monotonic() when answered
    response: dict[str, Any] = field(default_factory=dict)


class RecordingApi:
    """Serve `_handle` on 127.0.0.1, record calls in `calls`, wake waiters on every call."""

    thread_name = "fake-api"
    http_protocol = "HTTP/1.0"
    default_method = ""
    target_arg = ""  # the argument named in a timeout message (channel, chat_id)

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = fake.http_protocol

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without this, Nagle and the client's delayed
                # ACK add 40 ms to every answer, which the latency benches would count as ours.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self) -> None:
                fake._handle(self)

            def do_POST(self) -> None:
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that went away mid-request

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name=self.thread_name, daemon=True).start()
        return self.url

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        raise NotImplementedError

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def record(self, call: Call) -> None:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    # -- what happened -------------------------------------------------------------------
    def sent(self, method: str | None = None, **match: Any) -> list[Call]:
        """Successful calls of `method` whose arguments include `match`."""
        method = method or self.default_method
        with self._changed:
            return [c for c in self.calls if c.method == method and c.ok and all(c.args.get(k) == v for k, v in match.items())]

    def wait_for(self, find: Callable[[], T], timeout: float = 15.0) -> T:
        """Poll `find` until it returns something truthy (checked again on every API call), else fail."""
        deadline = time.monotonic() + timeout
        while True:
            found = find()
            if found:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [(c.method, c.status, c.args.get(self.target_arg)) for c in self.calls]
                raise AssertionError(f"timed out after {timeout} s; calls so far: {seen}")
            with self._changed:
                self._changed.wait(min(remaining, 0.05))

    def wait_sent(self, method: str | None = None, count: int = 1, timeout: float = 15.0, **match: Any) -> list[Call]:
        return self.wait_for(lambda: (lambda found: found if len(found) >= count else [])(self.sent(method, **match)), timeout)
