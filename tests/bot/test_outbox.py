"""The outbox: stored before sent, claimed once, retried with backoff, one target's rows in order."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from bot.delivery.outbox import BACKOFF_CAP_SECONDS, DeliveryError, Drainer, OutboxItem, backoff
from bot.delivery.sql_outbox import open_outbox, outbox_pending
from bot.store.model import Store
from bot.store.connect import open_store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_the_same_key_is_one_row(store: Store, clock: Clock) -> None:
    outbox = open_outbox(store, clock)
    first = outbox.enqueue("slack", "D1", {"text": "hi"}, "msg:1")
    again = outbox.enqueue("slack", "D1", {"text": "something else"}, "msg:1")
    assert not first.duplicate and again.duplicate and again.item.id == first.item.id and again.item.payload == {"text": "hi"}
    assert outbox.enqueue("telegram", "42", {"text": "hi"}, "msg:1").duplicate is False  # keys are per channel
    assert outbox.pending("slack") == 1 and outbox.pending() == 2 and outbox_pending(store, "slack") == 1


def test_a_targets_rows_are_claimed_in_order_one_at_a_time(store: Store, clock: Clock) -> None:
    outbox = open_outbox(store, clock)
    a1 = outbox.enqueue("slack", "A", {}, "a1").item
    a2 = outbox.enqueue("slack", "A", {}, "a2").item
    b1 = outbox.enqueue("slack", "B", {}, "b1").item
    assert [i.id for i in outbox.claim(["slack"], limit=10)] == [a1.id, b1.id]
    assert outbox.claim(["slack"], limit=10) == []  # a2 waits for a1
    outbox.retry_later(a1.id, 5, "ratelimited")
    assert outbox.claim(["slack"], limit=10) == []  # still waits: a1 is first, and not due yet
    clock.advance(5)
    [again] = outbox.claim(["slack"])
    assert again.id == a1.id and again.attempts == 2
    outbox.mark_sent(a1.id, {"ts": "1.2"})
    assert [i.id for i in outbox.claim(["slack"])] == [a2.id]


def test_busy_counts_what_a_drainer_would_take_now_or_is_sending(store: Store, clock: Clock) -> None:
    outbox = open_outbox(store, clock)
    a1 = outbox.enqueue("slack", "A", {}, "a1").item
    outbox.enqueue("slack", "A", {}, "a2")  # behind a1
    outbox.enqueue("telegram", "7", {}, "t1")
    assert outbox.busy("slack") == 1 and outbox.busy(None) == 2  # a2 is not claimable while a1 waits
    outbox.claim(["slack"])
    assert outbox.busy("slack") == 1  # a1 is being sent
    outbox.retry_later(a1.id, 5, "down")
    assert outbox.busy("slack") == 0 and outbox.pending("slack") == 2  # both wait for a1's retry time
    clock.advance(5)
    assert outbox.busy("slack") == 1


def test_concurrent_workers_in_two_processes_never_claim_a_row_twice(db_url: str, clock: Clock) -> None:
    stores = [open_store(db_url) for _ in range(2)]  # two connections pools, as two processes
    outboxes = [open_outbox(s, clock) for s in stores]
    for n in range(60):
        outboxes[0].enqueue("slack", f"T{n % 12}", {"n": n}, f"k{n}")
    claimed: list[int] = []
    lock = threading.Lock()

    def work(outbox) -> None:  # type: ignore[no-untyped-def]
        while True:
            items = outbox.claim(["slack"], limit=2)
            if not items and outbox.pending("slack") == 0:
                return
            for item in items:
                with lock:
                    claimed.append(item.id)
                outbox.mark_sent(item.id)

    threads = [threading.Thread(target=work, args=(outboxes[n % 2],)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 60
    for s in stores:
        s.close()


def test_a_row_left_sending_by_a_dead_worker_is_due_again_after_the_lease(store: Store, clock: Clock) -> None:
    outbox = open_outbox(store, clock)
    row = outbox.enqueue("slack", "A", {}, "a").item
    assert outbox.claim(["slack"], lease=60)
    clock.advance(30)
    assert outbox.claim(["slack"]) == []
    clock.advance(31)
    [again] = outbox.claim(["slack"])
    assert again.id == row.id and again.attempts == 2


def test_backoff_honours_retry_after_and_grows_to_a_cap() -> None:
    assert backoff(3, retry_after=7) == 7
    assert [backoff(n, rand=lambda: 0.5) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff(50, rand=lambda: 0.5) == BACKOFF_CAP_SECONDS


def test_the_drainer_retries_until_delivered_and_gives_up_only_on_permanent_errors(store: Store, clock: Clock) -> None:
    outbox = open_outbox(store, clock)
    answers: list[BaseException | None] = [DeliveryError("ratelimited", retry_after=3), OSError("network down"), None]
    sent: list[OutboxItem] = []

    def sender(item: OutboxItem) -> dict[str, str]:
        answer = answers.pop(0) if item.dedup_key == "ok" else DeliveryError("channel_not_found", permanent=True)
        if answer is not None:
            raise answer
        sent.append(item)
        return {"ts": "9.9"}

    drainer = Drainer(outbox, {"slack": sender}, clock=clock)
    outbox.enqueue("slack", "A", {}, "ok")
    outbox.enqueue("slack", "B", {}, "bad")
    assert drainer.send_due() == 2
    assert drainer.send_due() == 0  # not due for 3 s (Retry-After)
    clock.advance(3)
    assert drainer.send_due() == 1  # the OSError: a bug-or-network failure is retried too, 2 s later
    clock.advance(BACKOFF_CAP_SECONDS)
    assert drainer.send_due() == 1 and len(sent) == 1
    ok, bad = outbox.find("slack", "ok"), outbox.find("slack", "bad")
    assert ok is not None and ok.status == "sent" and ok.attempts == 3 and ok.result == {"ts": "9.9"}
    assert bad is not None and bad.status == "failed" and bad.attempts == 1
    assert outbox.pending() == 0


def test_threads_wake_on_enqueue(store: Store) -> None:
    outbox = open_outbox(store)
    done = threading.Event()
    drainer = Drainer(outbox, {"slack": lambda item: done.set() or None}, workers=2, poll_seconds=30)
    drainer.start()
    try:
        outbox.enqueue("slack", "A", {}, "x")
        drainer.wake()
        assert done.wait(5)
    finally:
        drainer.stop()
