"""`answerdesk serve --workers N`: the web app under gunicorn, N processes over one store.

The master loads what every worker only reads (encoder weights, language models, the published
index, its vectors memory-mapped) and then forks, so those pages are shared copy-on-write. Each
worker opens its own store connections and starts its own threads after the fork: a connection
pool or a thread does not survive one. Every state a visitor or agent sees lives in the store,
so any worker can serve any request: live updates poll the store, taking a conversation is a
compare-and-set there, and outbox rows are claimed there.
"""

from __future__ import annotations

import gc
import logging
import os
import secrets
import signal
import threading
from typing import Any

from gunicorn.app.base import BaseApplication

from bot.config import Settings
from bot.desk.desk import build_desk
from bot.answer.engine import Engine, build_engine
from channels.serve import EXPIRE_EVERY_SECONDS, build_app, close_channels, expire_waiting_forever
from channels.server import AnswerdeskWorker
from channels.web.context import EXTENSION
from channels.web.events import STOPPING
from channels.web.front import Front

log = logging.getLogger(__name__)

GRACEFUL_SECONDS = 10  # running requests may finish; an open event stream is cut (the page reconnects)


class _Worker:
    """What one worker process started, so its exit can stop it."""

    app: Any = None
    stop = threading.Event()
    expirer: threading.Thread | None = None


class AnswerdeskGunicorn(BaseApplication):  # type: ignore[misc]
    """gunicorn configured in code: no config file, no command line of its own."""

    def __init__(self, settings: Settings, engine: Engine, options: dict[str, Any]) -> None:
        self.settings = settings
        self.engine = engine
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        """In each worker, after the fork: the store, the app, the channels' threads, the expiry timer."""
        desk = build_desk(self.settings, engine=self.engine)
        app = build_app(self.settings, desk)
        _Worker.app = app
        _Worker.expirer = threading.Thread(
            target=expire_waiting_forever, args=(desk, _Worker.stop), name="answerdesk-expire", daemon=True
        )
        _Worker.expirer.start()  # every worker runs one: expiring is a compare-and-set in the store
        return Front(app, threads=self.settings.web_threads)


def _post_worker_init(worker: Any) -> None:
    """On SIGTERM, and on Ctrl+C (SIGINT reaches the workers too), stop gracefully: running
    requests finish, event streams end at their next poll, then the store closes."""
    handle_exit = worker.handle_exit

    def exiting(sig: int, frame: Any) -> None:
        STOPPING.set()
        handle_exit(sig, frame)

    signal.signal(signal.SIGTERM, exiting)
    signal.signal(signal.SIGINT, exiting)


def _worker_exit(server: Any, worker: Any) -> None:
    app = _Worker.app
    if app is None:
        return
    _Worker.stop.set()
    if _Worker.expirer is not None:
        _Worker.expirer.join(timeout=EXPIRE_EVERY_SECONDS + 1)
    close_channels(app)
    app.extensions[EXTENSION].desk.store.close()


def _when_ready(server: Any) -> None:
    # gunicorn treats Ctrl+C as a quick stop that cuts running requests; make it the graceful one.
    server.handle_int = server.handle_term
    host, port = server.LISTENERS[0].sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(
        f"Answerdesk is serving on http://{shown}:{port}/  ({server.cfg.workers} workers; agent console: /agent, Ctrl+C stops)",
        flush=True,
    )


def gunicorn_options(settings: Settings, host: str, port: int) -> dict[str, Any]:
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return {
        "bind": [bind],
        "workers": settings.workers,
        "worker_class": AnswerdeskWorker,  # uvicorn in each worker, set as for one process (channels/server.py)
        "preload_app": False,  # load() runs in each worker; the shared parts are loaded before the fork
        "timeout": 60,  # a worker silent this long (hung, not busy: its event loop beats) is replaced
        "graceful_timeout": GRACEFUL_SECONDS,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "answerdesk",
        "control_socket_disable": True,  # gunicorn's admin socket: one fixed path, shared by every server of a user
        "post_worker_init": _post_worker_init,
        "worker_exit": _worker_exit,
        "when_ready": _when_ready,
    }


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def worker_threads(settings: Settings, cores: int | None = None) -> int:
    """Each worker's encoder threads: ANSWERDESK_THREADS, but no more than the cores each worker has
    (N workers on C cores: C // N, at least 1). More only has the workers' OpenMP teams (e5's)
    spin against each other for the same cores, as several encodes in one process did (E5Encoder)."""
    share = max(1, (cores or available_cores()) // max(1, settings.workers))
    return max(1, min(settings.threads, share))


def serve_workers(settings: Settings, host: str = "127.0.0.1", port: int = 8080) -> int:
    """Load the shared parts, fork `settings.workers` workers, serve until SIGTERM or Ctrl+C."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    if not settings.secret_key:
        # One key for all workers, or a console sign-in would only hold on the worker that made it.
        settings = settings.with_overrides(secret_key=secrets.token_hex(32))
        log.warning("ANSWERDESK_SECRET_KEY is not set: agents sign in again after a restart")
    threads = worker_threads(settings)
    if threads < settings.threads:
        log.info("%d workers on %d cores: %d encoder thread(s) each (ANSWERDESK_THREADS=%d would oversubscribe the cores)",
                 settings.workers, available_cores(), threads, settings.threads)
        settings = settings.with_overrides(threads=threads)
    print(f"loading the index at {settings.index_dir} and the language models...", flush=True)
    engine = build_engine(settings)
    engine.warm_up()  # SearchIndexError names the fix ("run 'answerdesk reindex'")
    # The collector writes into every object it scans; in a forked worker that copies the page
    # from the master. Frozen objects are never scanned (bench/soak.py: 10,000 conversations).
    gc.freeze()
    AnswerdeskGunicorn(settings, engine, gunicorn_options(settings, host, port)).run()
    return 0
