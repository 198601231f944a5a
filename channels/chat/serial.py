"""A thread pool that runs one job at a time per key, first in, first out (one customer's messages stay in order)."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)


class SerialPerKey:
    """`submit(key, job)`: jobs of one key run one after another, in order; different keys run in parallel."""

    def __init__(self, workers: int, name: str) -> None:
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix=name)
        self._queues: dict[str, deque[Callable[[], None]]] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0

    def submit(self, key: str, job: Callable[[], None]) -> None:
        with self._lock:
            self._pending += 1
            queue = self._queues.get(key)
            if queue is not None:  # a job of this key is running: it starts this one when done
                queue.append(job)
                return
            self._queues[key] = deque()
        self._pool.submit(self._run, key, job)

    def _run(self, key: str, job: Callable[[], None]) -> None:
        while True:
            try:
                job()
            except Exception:  # the pool would keep the exception in a future nobody reads
                log.exception("job for %s failed", key)
            with self._lock:
                self._pending -= 1
                queue = self._queues[key]
                if not queue:
                    del self._queues[key]
                    self._idle.notify_all()
                    return
                job = queue.popleft()

    @property
    def pending(self) -> int:
        """Jobs submitted and not finished."""
        return self._pending

    def shutdown(self) -> None:
        """Finish every job submitted, then stop the threads."""
        with self._lock:
            while self._pending:
                self._idle.wait(0.1)
        self._pool.shutdown(wait=True)
