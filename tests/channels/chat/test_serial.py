"""SerialPerKey: one key's jobs run one at a time, first in, first out; other keys run beside them."""

from __future__ import annotations

import threading
import time

from channels.chat.serial import SerialPerKey


def test_one_keys_jobs_run_in_the_order_submitted_while_other_keys_go_on() -> None:
    pool = SerialPerKey(4, "test-serial")
    done: list[tuple[str, int]] = []
    release = threading.Event()
    pool.submit("ann", lambda: release.wait(5))  # ann's first job holds her queue
    for n in range(8):
        pool.submit("ann", lambda n=n: done.append(("ann", n)))
    pool.submit("bob", lambda: done.append(("bob", 0)))
    deadline = time.monotonic() + 5
    while ("bob", 0) not in done and time.monotonic() < deadline:
        time.sleep(0.01)
    assert done == [("bob", 0)] and pool.pending == 9  # bob is not held up by ann's queue
    release.set()
    pool.shutdown()
    assert done[1:] == [("ann", n) for n in range(8)] and pool.pending == 0
