"""The outbox: every message for a channel (Slack, Telegram) is stored before it is sent.

`enqueue(channel, target, payload, dedup_key)` writes a row; the same key twice is one row,
so whoever enqueues a message first (the reply path, the relay) decides, and it is sent once.
A `Drainer` claims due rows with a compare-and-set (several workers, even in several
processes, never send one row twice), hands each to its channel's sender, and marks it sent,
or schedules a retry with exponential backoff that honours the channel's Retry-After. A
channel's outage delays messages; only a request the channel rejects for good (malformed, no
such chat) is marked failed and kept for inspection. Rows of one target go out in order.

If a worker dies between the channel's answer and `mark_sent`, its row is sent again after
the lease: delivery is exactly once except in that crash window.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from bot.errors import AnswerdeskError
from bot.store.model import utc_now

log = logging.getLogger(__name__)

Status = Literal["pending", "sending", "sent", "failed"]
BACKOFF_BASE_SECONDS = 1.0
# A message waits at most the cap (+20 % jitter) after its channel comes back: a customer still
# watching the chat, not five minutes. During an outage each stalled chat costs one request per cap.
BACKOFF_CAP_SECONDS = 20.0
LEASE_SECONDS = 60.0  # longer than any sender's network timeout


@dataclass(frozen=True)
class OutboxItem:
    id: int
    channel: str
    target: str
    payload: Mapping[str, Any]
    dedup_key: str
    status: Status
    attempts: int  # sends started, including the one under way
    next_attempt: datetime
    created_at: datetime
    sent_at: datetime | None = None
    last_error: str | None = None
    result: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Enqueued:
    """What `enqueue` stored, or the earlier row with the same key."""

    item: OutboxItem
    duplicate: bool


class DeliveryError(AnswerdeskError):
    """A sender could not deliver an item: retried later, unless `permanent`."""

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False) -> None:
        self.retry_after = retry_after
        self.permanent = permanent
        super().__init__(message)


Sender = Callable[[OutboxItem], Mapping[str, Any] | None]


class Outbox(Protocol):
    def enqueue(self, channel: str, target: str, payload: Mapping[str, Any], dedup_key: str) -> Enqueued:
        """Store a message to send; the existing row when `dedup_key` was enqueued on this channel before."""
        ...

    def claim(self, channels: Collection[str], limit: int = 1, lease: float = LEASE_SECONDS) -> list[OutboxItem]:
        """Due rows of these channels, now "sending" for this caller only, the oldest of each target first."""
        ...

    def mark_sent(self, item_id: int, result: Mapping[str, Any] | None = None) -> bool:
        """A claimed row was delivered."""
        ...

    def retry_later(self, item_id: int, delay: float, error: str) -> bool:
        """A claimed row failed; due again in `delay` seconds."""
        ...

    def mark_failed(self, item_id: int, error: str) -> bool:
        """A claimed row the channel will never accept: kept, never retried."""
        ...

    def find(self, channel: str, dedup_key: str) -> OutboxItem | None:
        """The row with this key, or None."""
        ...

    def items(self, channel: str | None = None) -> list[OutboxItem]:
        """Every row (of one channel), oldest first, for tests and inspection."""
        ...

    def pending(self, channel: str | None = None) -> int:
        """Rows not yet delivered (pending or being sent), of one channel or all."""
        ...

    def prune(self, before: datetime) -> int:
        """Delete rows sent before `before`; the number deleted."""
        ...

    def busy(self, channel: str | None) -> int:
        """Rows of the channel (all for None) being sent, or due now and claimable (what a drainer
        would take now: not behind an earlier row of their target that waits for its retry)."""
        ...


def backoff(attempts: int, retry_after: float | None = None, rand: Callable[[], float] = random.random) -> float:
    """Seconds before the next attempt: Retry-After when the channel gave one, else 1, 2, 4... s (capped, jittered)."""
    if retry_after is not None:
        return max(0.0, retry_after)
    exponential = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return exponential * (0.8 + 0.4 * rand())  # spread the retries of a whole outage


class Drainer:
    """Worker threads that send due outbox rows through their channel's sender."""

    def __init__(
        self,
        outbox: Outbox,
        senders: Mapping[str, Sender],
        *,
        workers: int = 4,
        poll_seconds: float = 0.5,
        lease: float = LEASE_SECONDS,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.outbox = outbox
        self.senders = dict(senders)
        self.workers = workers
        self.poll_seconds = poll_seconds
        self.lease = lease
        self.clock = clock
        self._stop = threading.Event()
        self._kick = threading.Condition()
        self._kicked = False
        self._threads: list[threading.Thread] = []
        self._last_prune = clock()

    def start(self) -> None:
        for number in range(self.workers):
            thread = threading.Thread(target=self._run, name=f"outbox-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.wake()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def wake(self) -> None:
        """Something was enqueued: look now rather than at the next poll."""
        with self._kick:
            self._kicked = True
            self._kick.notify_all()

    def send_due(self) -> int:
        """Send rows until none is due; how many were handled (for tests and one-shot use)."""
        handled = 0
        while self._send_one():
            handled += 1
        return handled

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._send_one():
                    continue
                self._prune_now_and_then()
            except Exception:  # keep the worker alive: a busy database fails one round, not the channel
                log.exception("outbox worker failed; retrying in %.1f s", self.poll_seconds)
            with self._kick:
                if not self._kicked and not self._stop.is_set():
                    self._kick.wait(self.poll_seconds)
                self._kicked = False

    def _send_one(self) -> bool:
        claimed = self.outbox.claim(self.senders, limit=1, lease=self.lease)
        if not claimed:
            return False
        self.deliver(claimed[0])
        return True

    def deliver(self, item: OutboxItem) -> None:
        """Send one claimed row and record what happened."""
        sender = self.senders[item.channel]
        try:
            result = sender(item)
        except DeliveryError as e:
            if e.permanent:
                log.error("outbox #%s (%s %s) failed for good: %s", item.id, item.channel, item.dedup_key, e)
                self.outbox.mark_failed(item.id, str(e))
                return
            delay = backoff(item.attempts, e.retry_after)
            log.warning("outbox #%s (%s %s) attempt %d failed: %s; retrying in %.1f s", item.id, item.channel, item.dedup_key, item.attempts, e, delay)
            self.outbox.retry_later(item.id, delay, str(e))
            return
        except Exception as e:  # a bug in a sender must not lose the message either
            delay = backoff(item.attempts)
            log.exception("outbox #%s (%s %s): the sender raised; retrying in %.1f s", item.id, item.channel, item.dedup_key, delay)
            self.outbox.retry_later(item.id, delay, f"{type(e).__name__}: {e}")
            return
        self.outbox.mark_sent(item.id, result)

    def _prune_now_and_then(self) -> None:
        now = self.clock()
        if now - self._last_prune >= timedelta(hours=1):
            self._last_prune = now
            self.outbox.prune(now - timedelta(days=7))
