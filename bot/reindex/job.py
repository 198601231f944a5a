"""Reindexing in the background while the server keeps answering from the live index.

One job at a time, across every worker process (and host sharing the index folder): the job
holds an exclusive lock on `<index>.builds/reindex.lock` while it runs, and writes its status
to `<index>.builds/reindex-status.json`, so whichever worker serves the console shows the same
state. A status left "running" by a process that died (the lock is free) reads as failed.
The engine's `LiveIndex` moves to the new snapshot by itself once `publish` swaps the link.
Translations are checked against `store` when one is given (the web app gives its desk's,
`channels/web/translations.py`), else against the one ANSWERDESK_DB names.
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Callable

try:
    import fcntl
except ImportError:  # Windows: one job at a time per process only
    fcntl = None  # type: ignore[assignment]

from bot.config import Settings
from bot.reindex.run import reindex
from bot.store.model import Store
from index.build import builds_folder
from index.encoders import Encoder, Encoders

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReindexStatus:
    state: str  # idle | running | done | failed
    started_at: datetime | None = None
    finished_at: datetime | None = None
    message: str = ""  # a summary when done, the error when failed
    seconds: float | None = None


class ReindexJob:
    """Runs `bot.reindex.run.reindex` on a thread, one run at a time, and reports its status."""

    def __init__(
        self, settings: Settings, clock: Callable[[], datetime], encoder: Encoder | Encoders | None = None, store: Store | None = None
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.encoder = encoder  # the serving encoder: no second copy of the model in memory
        self.store = store  # where translation checks are kept; None: the store ANSWERDESK_DB names
        folder = builds_folder(settings.index_dir)
        self._status_file = folder / "reindex-status.json"
        self._lock_file = folder / "reindex.lock"
        self._lock = threading.Lock()
        self._held: int | None = None  # the lock's descriptor while this process runs the job
        self._thread: threading.Thread | None = None

    @property
    def status(self) -> ReindexStatus:
        """The last job's status, whichever process ran it."""
        try:
            raw = json.loads(self._status_file.read_text(encoding="utf-8"))
            status = ReindexStatus(**{**raw, **{k: _time(raw.get(k)) for k in ("started_at", "finished_at")}})
        except FileNotFoundError:
            return ReindexStatus("idle")
        except (OSError, ValueError, TypeError) as e:
            return ReindexStatus("failed", message=f"cannot read {self._status_file}: {e}")
        if status.state == "running" and self._held is None and self._lock_is_free():
            return replace(status, state="failed", message="interrupted: the process running it stopped; start it again")
        return status

    def start(self) -> bool:
        """Start a reindex; False if one is already running (in any process)."""
        with self._lock:
            if self._held is not None:
                return False
            held = self._acquire()
            if held is None:
                return False
            self._held = held
            self._write(ReindexStatus("running", started_at=self.clock(), message="validating the KB and building the index"))
            self._thread = threading.Thread(target=self._run, name="answerdesk-reindex", daemon=True)
            self._thread.start()
        return True

    def wait(self, timeout: float | None = None) -> ReindexStatus:
        """Block until the running job ends (for tests and shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.status

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            report = reindex(self.settings, encoder=self.encoder, show_progress=False, store=self.store, out=io.StringIO(), clock=self.clock)
        except Exception as e:  # the job's owner shows the error; the live index is untouched
            log.exception("reindex failed")
            self._finish("failed", f"{type(e).__name__}: {e}", started)
            return
        build = report.build
        summary = f"{len(report.kb.article_ids)} articles, {len(report.kb.articles)} language versions"
        if build is not None:
            summary += f"; {build.vectors} vectors ({build.encoded} encoded, {build.reused} reused)"
        if report.translations and report.translations.stale:
            summary += f"; {len(report.translations.stale)} translation(s) older than their source: see Translations"
        self._finish("done", summary, started)

    def _finish(self, state: str, message: str, started: float) -> None:
        with self._lock:
            self._write(replace(
                self.status, state=state, finished_at=self.clock(), message=message, seconds=round(time.perf_counter() - started, 1)
            ))
            if self._held is not None and self._held >= 0:
                os.close(self._held)  # releases the lock
            self._held = None

    def _write(self, status: ReindexStatus) -> None:
        data = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(status).items()}
        tmp = self._status_file.with_name(f".{self._status_file.name}.{os.getpid()}")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, self._status_file)  # readers see the old status or the new one, never half

    def _acquire(self) -> int | None:
        """The job lock's descriptor, or None if another process holds it (-1 where locks do not exist)."""
        self._lock_file.parent.mkdir(parents=True, exist_ok=True)
        if fcntl is None:
            return -1
        fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        return fd

    def _lock_is_free(self) -> bool:
        held = self._acquire()
        if held is None:
            return False
        if held >= 0:
            os.close(held)
        return True


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
