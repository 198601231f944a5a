"""The ASGI face of the web app: what `answerdesk serve` (uvicorn, channels/server.py) runs.

A request is read whole on the event loop first (up to the body cap), so a client that sends
slowly holds no thread. Then Flask handles it on a thread of a2wsgi's pool (`threads` of them),
exactly as under any WSGI server. When the view was a live-update stream, it is handed back
here (events.HANDOVER) and runs on the event loop (channels/web/live.py): an open chat costs
no thread.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable

from a2wsgi import WSGIMiddleware
from flask import Flask

from channels.web.app import MAX_BODY_BYTES
from channels.web.context import EXTENSION
from channels.web.events import HANDOVER, LiveStream, Timing
from channels.web.live import Hub, Receive, Send, run_live

log = logging.getLogger(__name__)

LIVE_THREADS = 4  # the streams' polls: short reads, a few at a time


class Front:
    """ASGI app: whole requests to Flask on a thread pool; its live streams on the event loop."""

    def __init__(self, app: Flask, threads: int, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body
        self.wsgi = WSGIMiddleware(self._flask, workers=threads)
        self.live_executor = ThreadPoolExecutor(LIVE_THREADS, thread_name_prefix="answerdesk-live")
        store = app.extensions[EXTENSION].desk.store
        self.hub = Hub(store.changed_at, self.live_executor, Timing.from_config(app.config).poll_seconds)

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":  # websockets: none here
            await send({"type": "websocket.close", "code": 1000})
            return
        body = await self._read_body(scope, receive)
        if body is None:  # the client left before sending it all
            return
        handover: list[Any] = []
        sent = [{"type": "http.request", "body": body, "more_body": False}]

        async def replay() -> dict[str, Any]:
            return sent.pop() if sent else {"type": "http.disconnect"}

        async def forward(message: dict[str, Any]) -> None:
            # a handed-over stream's response continues in run_live: hold back a2wsgi's end of body
            if handover and message["type"] == "http.response.body" and not message.get("more_body", False):
                return
            await send(message)

        await self.wsgi({**scope, HANDOVER: handover}, replay, forward)
        if len(handover) == 2:
            live, flask_response = handover
            try:
                await run_live(live, self.hub, self.live_executor, send, receive)
            finally:
                _close(flask_response)  # Flask's close callbacks: the stream's slot under the per-visitor cap is freed

    def _flask(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """On a request thread: Flask, and if its view handed a stream over, an empty body for
        a2wsgi (the event loop sends the stream)."""
        handover = environ["asgi.scope"][HANDOVER]
        environ[HANDOVER] = handover
        response = self.app(environ, start_response)
        if handover and isinstance(handover[0], LiveStream):
            handover.append(response)
            return []
        return response

    async def _read_body(self, scope: dict[str, Any], receive: Receive) -> bytes | None:
        """The request body, read on the event loop; past the cap, only its first bytes (Flask
        then answers 413 in the app's own words). None if the client disconnected."""
        body = bytearray()
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            return b""  # Flask refuses by the header alone
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            if not message.get("more_body", False) or len(body) > self.max_body:
                return bytes(body)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.live_executor.shutdown(wait=False, cancel_futures=True)
                await send({"type": "lifespan.shutdown.complete"})
                return


def _close(response: Any) -> None:
    try:
        close = getattr(response, "close", None)
        if close is not None:
            close()
    except Exception:
        log.exception("closing a live stream's response failed")
