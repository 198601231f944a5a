"""Reindexing in the background while the server keeps answering from the live index.

One job at a time: `start()` returns False while one runs. The engine's `LiveIndex` moves to
the new snapshot by itself once `publish` swaps the link.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Callable

from bot.config import Settings
from bot.reindex import reindex
from index.encoders import Encoder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReindexStatus:
    state: str  # idle | running | done | failed
    started_at: datetime | None = None
    finished_at: datetime | None = None
    message: str = ""  # a summary when done, the error when failed
    seconds: float | None = None


class ReindexJob:
    """Runs `bot.reindex.reindex` on a thread, one run at a time, and reports its status."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime], encoder: Encoder | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.encoder = encoder  # the serving encoder: no second copy of the model in memory
        self._lock = threading.Lock()
        self._status = ReindexStatus("idle")
        self._thread: threading.Thread | None = None

    @property
    def status(self) -> ReindexStatus:
        return self._status

    def start(self) -> bool:
        """Start a reindex; False if one is already running."""
        with self._lock:
            if self._status.state == "running":
                return False
            self._status = ReindexStatus("running", started_at=self.clock(), message="validating the KB and building the index")
            self._thread = threading.Thread(target=self._run, name="answerdesk-reindex", daemon=True)
            self._thread.start()
        return True

    def wait(self, timeout: float | None = None) -> ReindexStatus:
        """Block until the running job ends (for tests and shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self._status

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            report = reindex(self.settings, encoder=self.encoder, show_progress=False)
        except Exception as e:  # the job's owner shows the error; the live index is untouched
            log.exception("reindex failed")
            self._finish("failed", f"{type(e).__name__}: {e}", started)
            return
        build = report.build
        summary = f"{len(report.kb.article_ids)} articles, {len(report.kb.articles)} language versions"
        if build is not None:
            summary += f"; {build.vectors} vectors ({build.encoded} encoded, {build.reused} reused)"
        self._finish("done", summary, started)

    def _finish(self, state: str, message: str, started: float) -> None:
        with self._lock:
            self._status = replace(
                self._status, state=state, finished_at=self.clock(), message=message, seconds=round(time.perf_counter() - started, 1)
            )
