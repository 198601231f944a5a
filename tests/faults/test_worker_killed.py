"""A worker killed with SIGKILL while it handles messages: nothing acknowledged is lost, nothing
is stored twice, and the server goes on serving with a new worker."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from bot.store.connect import open_store
from tests.conftest import small_index
from tests.faults.chatters import Chatters, check_ledger
from tests.served import Served

pytestmark = pytest.mark.slow  # over 10 s on 2 cores (tests/conftest.py SLOW_SECONDS)


def test_a_worker_killed_mid_message_loses_and_doubles_nothing(tmp_path: Path, use_encoder: object, db_url: str) -> None:
    settings = small_index(tmp_path, use_encoder)  # USE alone: a replaced worker starts in seconds; loss and doubles are tested
    env = {"ANSWERDESK_KB": settings.kb_dir, "ANSWERDESK_INDEX": settings.index_dir, "ANSWERDESK_DB": db_url, "ANSWERDESK_ENCODER": "use"}
    served = Served(env, tmp_path / "serve.log", workers=2)
    try:
        chatters = Chatters(served.port, count=6)
        chatters.start()
        kills: list[int] = []
        at_kill: list[int] = []  # messages acknowledged when each kill happened
        for _ in range(2):  # kill twice, a second after load resumes each time
            deadline = time.monotonic() + 20
            while chatters.acknowledged() < 20 + 40 * len(kills) and time.monotonic() < deadline:
                time.sleep(0.05)
            victim = served.worker_pids()[0]
            at_kill.append(chatters.acknowledged())
            os.kill(victim, signal.SIGKILL)
            kills.append(victim)
            while set(served.worker_pids()) & set(kills) or len(served.worker_pids()) < 2:
                assert time.monotonic() < deadline + 20, f"no worker replaced {victim}:\n{served.output()[-2000:]}"
                time.sleep(0.05)
        after, deadline = chatters.acknowledged(), time.monotonic() + 30
        while chatters.acknowledged() < after + 30:  # the new workers serve
            assert time.monotonic() < deadline, f"the server stopped serving after the kills:\n{served.output()[-2000:]}"
            time.sleep(0.05)
        chatters.stop()
    finally:
        served.stop()
    store = open_store(db_url)
    try:
        tally = check_ledger(chatters, store)
    finally:
        store.close()
    assert at_kill[0] >= 20 and at_kill[1] > at_kill[0], at_kill  # each kill hit a server under load
    print(f"\nworker killed twice: {tally}")
