"""The composition root: the web app with every configured chat channel on it, served and closed here.

`build_app` is the one place that puts the channels together: the web channel's Flask app, and
Slack and Telegram mounted on it when their settings are given (each says so when not). `serve`
is `answerdesk serve`: that app on waitress, with the waiting-queue timer on a background
thread; `close_channels` stops what the chat channels started. `channels.workers` does the same
under gunicorn. No channel imports another: they meet only here.
"""

from __future__ import annotations

import logging
import signal
import threading

from datetime import datetime
from typing import Any, Callable

from flask import Flask

from bot.config import Settings
from bot.desk.desk import Desk, build_desk
from channels.email.app import EXTENSION as EMAIL, register_email
from channels.slack.app import EXTENSION as SLACK, register_slack
from channels.telegram.app import EXTENSION as TELEGRAM, register_telegram
from channels.web.app import create_app
from channels.web.events import STOPPING

log = logging.getLogger(__name__)

EXPIRE_EVERY_SECONDS = 5.0
# A channel beside the web: its extension name on the Flask app, and how it mounts itself (False
# when not configured). E-mail only sends (answers to missed conversations).
CHAT_CHANNELS: tuple[tuple[str, Callable[[Flask, Any, Desk], bool]], ...] = (
    (SLACK, register_slack), (TELEGRAM, register_telegram), (EMAIL, register_email),
)


def build_app(settings: Settings, desk: Desk | None = None, clock: Callable[[], datetime] | None = None) -> Flask:
    """The web app over `desk`, with every configured chat channel mounted on it and started."""
    app = create_app(settings, desk, clock)
    desk = app.extensions["answerdesk"].desk
    for _name, register in CHAT_CHANNELS:
        register(app, settings, desk)  # mounts its route when configured; logs why not when not
    return app


def close_channels(app: Flask) -> None:
    """Stop the chat channels' threads; what they had not delivered waits in the outbox."""
    for name, _register in reversed(CHAT_CHANNELS):
        channel = app.extensions.get(name)
        if channel is not None:
            channel.close()


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8080) -> int:
    """Build the desk, warm the engine up, and serve until interrupted."""
    from waitress import create_server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    desk = build_desk(settings)
    print(f"loading the index at {settings.index_dir} and the language models...", flush=True)
    desk.engine.warm_up()  # SearchIndexError names the fix ("run 'answerdesk reindex'")
    app = build_app(settings, desk)
    stop = threading.Event()
    expirer = threading.Thread(target=expire_waiting_forever, args=(desk, stop), name="answerdesk-expire", daemon=True)
    expirer.start()
    # channel_request_lookahead lets a stream notice a browser that went away (waitress.client_disconnected).
    # Output is flushed on every write: waitress 3 sends at once (send_bytes=1 is its default and deprecated).
    # Connections are cheap in waitress's event loop, threads are not: accept many (a client that
    # half-sends requests must not shut others out), close the idle ones soon, and keep the threads
    # for complete requests. See README "Limits and timeouts".
    server = create_server(
        app, host=host, port=port, threads=settings.web_threads, channel_request_lookahead=5, ident="Answerdesk",
        connection_limit=settings.web_connections, channel_timeout=settings.web_idle_seconds, cleanup_interval=max(1, settings.web_idle_seconds // 3),
        # waitress drops X-Forwarded-* itself unless told otherwise; with ANSWERDESK_TRUSTED_PROXIES the
        # app's ProxyFix (channels/web/app.py) believes exactly that many hops of them.
        clear_untrusted_proxy_headers=not settings.trusted_proxies,
        asyncore_use_poll=True,  # select() fails past file descriptor 1024: thousands of connections need poll()
    )
    shown = f"[{host}]" if ":" in host else host
    port_shown = getattr(server, "effective_port", port)  # a host with several addresses gives a multi-socket server
    print(f"Answerdesk is serving on http://{shown}:{port_shown}/  (agent console: /agent, Ctrl+C stops)", flush=True)
    _stop_on(signal.SIGTERM)
    _stop_on(signal.SIGINT)  # even when started in the background, where the shell ignores Ctrl+C for us
    try:
        server.run()  # returns (after finishing running requests, up to 5 s) on KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping", flush=True)
        STOPPING.set()  # open event streams end now; the pages reconnect when the server is back
        stop.set()
        server.close()
        expirer.join(timeout=EXPIRE_EVERY_SECONDS + 1)
        close_channels(app)
        desk.store.close()
    return 0


def _stop_on(signum: signal.Signals) -> None:
    def interrupt(received: int, frame: object) -> None:
        STOPPING.set()  # open event streams end at their next poll, so waitress need not wait for them
        raise KeyboardInterrupt(f"signal {received}")

    signal.signal(signum, interrupt)


def expire_waiting_forever(desk: Desk, stop: threading.Event, every: float = EXPIRE_EVERY_SECONDS) -> None:
    """Offer the ticket path to conversations no agent took in time, every few seconds until `stop`."""
    while not stop.wait(every):
        try:
            expired = desk.expire_waiting()
        except Exception:  # keep the timer alive: the next round may well succeed (e.g. a busy database)
            log.exception("expiring waiting conversations failed; retrying in %.0f s", every)
            continue
        for conversation_id in expired:
            log.info("conversation %s waited too long for an agent: ticket path offered", conversation_id)
