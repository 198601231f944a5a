"""PostgreSQL restarted under load: requests fail cleanly (503, Retry-After) while it is down, the
same server process recovers by itself, and no message is lost or stored twice."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from bot.store.connect import open_store
from tests.conftest import small_index
from tests.faults.chatters import Chatters, check_ledger
from tests.pg_server import missing_reason, postgres_server
from tests.served import Client, Served

pytestmark = pytest.mark.slow  # over 10 s on 2 cores (tests/conftest.py SLOW_SECONDS)


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_the_database_restarted_under_load(tmp_path: Path, use_encoder: object, mode: str) -> None:
    reason = missing_reason()
    if reason:
        if os.environ.get("ANSWERDESK_TEST_PG") == "required":
            pytest.fail(reason)
        pytest.skip(reason)
    settings = small_index(tmp_path, use_encoder)  # USE alone: workers start in seconds; recovery is tested
    with postgres_server() as pg:  # its own server: this test stops it
        url = pg.create_database()
        env = {"ANSWERDESK_KB": settings.kb_dir, "ANSWERDESK_INDEX": settings.index_dir, "ANSWERDESK_DB": url,
               "ANSWERDESK_DB_BUSY_TIMEOUT": "1", "ANSWERDESK_ENCODER": "use"}
        served = Served(env, tmp_path / "serve.log", workers=2)
        try:
            chatters = Chatters(served.port, count=4)
            chatters.start()
            while chatters.acknowledged() < 30:
                time.sleep(0.05)
            pg.stop(mode)  # "immediate" is a crash: no shutdown checkpoint, connections cut
            down = time.monotonic()
            statuses = []
            probe = Client(served.port, timeout=10)
            while time.monotonic() - down < 3:
                statuses.append(probe.request("POST", "/api/conversations", {"lang": "en"})[0])
                time.sleep(0.2)
            pg.start()
            back = time.monotonic()
            before = chatters.acknowledged()
            while chatters.acknowledged() < before + 40:
                assert time.monotonic() - back < 30, f"no recovery 30 s after the database came back:\n{served.output()[-2000:]}"
                time.sleep(0.05)
            recovered_in = time.monotonic() - back
            chatters.stop()
            assert served.process.poll() is None, "the server died with the database"
        finally:
            served.stop()
        assert statuses and set(statuses) == {503}, statuses  # clean, retryable failures while it was down
        store = open_store(url)
        try:
            tally = check_ledger(chatters, store)
        finally:
            store.close()
        assert tally["failed_first"] >= 1  # the outage was felt, and retried
        print(f"\ndatabase restart ({mode}): {tally}, recovered {recovered_in:.1f} s after it came back")
