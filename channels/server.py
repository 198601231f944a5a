"""The HTTP server of `answerdesk serve`: uvicorn over the web app's ASGI front (channels/web/front.py).

Why uvicorn: connections and live-update streams live on one event loop and cost no thread; Flask
runs on a fixed pool of request threads only once a request has fully arrived. What is set here,
deliberately (README "Limits and timeouts"):

- `web_connections` (ANSWERDESK_WEB_CONNECTIONS): open connections and running requests one
  process holds; past it, new requests get 503 at once instead of queueing.
- `web_idle_seconds` (ANSWERDESK_WEB_IDLE_SECONDS): a request must arrive whole within this many
  seconds of its first byte (or of the connection opening), else the connection is closed: a
  client that sends half a request and stops holds a socket for that long, never a thread.
- keep-alive: an idle connection between requests is closed after KEEP_ALIVE_SECONDS.
- stopping: new connections are refused, running requests may finish for STOP_SECONDS, and open
  streams end at once (`STOPPING`); pages reconnect and resume.

`AnswerdeskWorker` is the same server as a gunicorn worker, for `serve --workers N`.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import sys
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn_worker import UvicornWorker

from bot.config import Settings
from channels.web.events import STOPPING

log = logging.getLogger(__name__)

KEEP_ALIVE_SECONDS = 5
STOP_SECONDS = 5
RECYCLE_SECONDS = 2.0  # with several workers: a keep-alive connection's lifetime (DeadlineProtocol)
SPARE_FILES = 256  # the store, the index, the channels' clients, logs


def allow_open_files(settings: Settings) -> None:
    """Raise this process's open-file limit (ulimit -n) toward what ANSWERDESK_WEB_CONNECTIONS
    needs, as far as the hard limit lets; say so when it cannot."""
    wanted = settings.web_connections + SPARE_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        if new < wanted:
            log.warning("open files are limited to %d (ulimit -n): fewer than ANSWERDESK_WEB_CONNECTIONS=%d connections fit",
                        new, settings.web_connections)


class DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for receiving each request whole, and (with
    several workers) keep-alive connections that end after `recycle_seconds`."""

    request_seconds: float = 30.0
    # Several workers share one listening socket and a connection stays with the worker that
    # accepted it: 8 keep-alive clients once all landed on one worker (CPU 10.7 s against 0.0).
    # A connection older than this is closed after its current response; the client's next one
    # goes to whichever worker accepts first, most often the idler one.
    recycle_seconds: float | None = None
    _deadline: asyncio.TimerHandle | None = None
    _opened: float = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._opened = self.loop.time()
        self._arm()

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self.recycle_seconds is not None and self.cycle is not None and self.loop.time() - self._opened >= self.recycle_seconds:
            self.cycle.keep_alive = False  # "connection: close" on this response

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.request_seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def protocol_for(settings: Settings) -> type[DeadlineProtocol]:
    recycle = RECYCLE_SECONDS if settings.workers > 1 else None
    return type("AnswerdeskProtocol", (DeadlineProtocol,), {"request_seconds": float(settings.web_idle_seconds), "recycle_seconds": recycle})


def config_options(settings: Settings) -> dict[str, Any]:
    """uvicorn settings shared by `serve` and `serve --workers N`."""
    return {
        "http": protocol_for(settings),
        "loop": "asyncio",
        "lifespan": "on",
        "limit_concurrency": settings.web_connections,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "timeout_graceful_shutdown": STOP_SECONDS,
        # X-Forwarded-*: the app's ProxyFix believes exactly ANSWERDESK_TRUSTED_PROXIES hops of them
        "proxy_headers": False,
        "server_header": False,
        "headers": [("server", "Answerdesk")],
        "access_log": False,
        "log_config": None,
        "backlog": 2048,
    }


class AnswerdeskServer(uvicorn.Server):
    """uvicorn.Server that ends open streams as soon as it is told to stop, and says where it serves."""

    announce = True

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        STOPPING.set()
        super().handle_exit(sig, frame)

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self.announce and self.servers:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            shown = f"[{host}]" if ":" in host else host
            print(f"Answerdesk is serving on http://{shown}:{port}/  (agent console: /agent, Ctrl+C stops)", flush=True)


class AnswerdeskWorker(UvicornWorker):
    """A gunicorn worker running `AnswerdeskServer` with `config_options` (its app's settings)."""

    CONFIG_KWARGS: dict[str, Any] = {"loop": "asyncio"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allow_open_files(self.app.settings)
        for key, value in config_options(self.app.settings).items():
            setattr(self.config, key, value)

    async def _serve(self) -> None:
        self.config.app = self.wsgi
        server = AnswerdeskServer(config=self.config)
        server.announce = False  # the master says where it serves
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(3)  # gunicorn's WORKER_BOOT_ERROR
