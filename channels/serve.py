"""The composition root: the web app with every configured chat channel on it, served and closed here.

`build_app` is the one place that puts the channels together: the web channel's Flask app, and
Slack and Telegram mounted on it when their settings are given (each says so when not). `serve`
is `answerdesk serve`: that app behind its ASGI front on uvicorn (channels/server.py), with the
waiting-queue timer on a background thread; `close_channels` stops what the chat channels started. `channels.workers` does the same
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
    import uvicorn

    from channels.server import AnswerdeskServer, allow_open_files, config_options
    from channels.web.front import Front

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _stop_on(signal.SIGTERM)  # while starting: stop at once
    _stop_on(signal.SIGINT)  # even when started in the background, where the shell ignores Ctrl+C for us
    desk = build_desk(settings)
    print(f"loading the index at {settings.index_dir} and the language models...", flush=True)
    desk.engine.warm_up()  # SearchIndexError names the fix ("run 'answerdesk reindex'")
    app = build_app(settings, desk)
    stop = threading.Event()
    expirer = threading.Thread(target=expire_waiting_forever, args=(desk, stop), name="answerdesk-expire", daemon=True)
    expirer.start()
    front = Front(app, threads=settings.web_threads)
    allow_open_files(settings)
    server = AnswerdeskServer(uvicorn.Config(front, host=host, port=port, **config_options(settings)))
    # While serving, uvicorn takes the signals (a graceful stop, see channels/server.py) and passes
    # them on to these when it is done: by then there is nothing left to interrupt.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda received, frame: STOPPING.set())
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping", flush=True)
        STOPPING.set()  # open event streams end now; the pages reconnect when the server is back
        stop.set()
        expirer.join(timeout=EXPIRE_EVERY_SECONDS + 1)
        close_channels(app)
        desk.store.close()
    return 0


def _stop_on(signum: signal.Signals) -> None:
    def interrupt(received: int, frame: object) -> None:
        STOPPING.set()
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
