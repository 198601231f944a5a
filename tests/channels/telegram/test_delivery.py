"""Telegram outages delay replies and never drop or double them: the outbox retries, honouring retry_after."""

from __future__ import annotations

from bot.delivery.sql_outbox import open_outbox
from tests.channels.telegram.conftest import Rig


def test_a_429_is_retried_after_retry_after_and_delivered_once(rig: Rig) -> None:
    rig.fake.fail("sendMessage", times=1, status=429, retry_after=1)
    rig.say(701, "I forgot my password")
    [reply] = rig.fake.wait_sent(chat_id=701)
    [refused] = [c for c in rig.fake.calls if c.method == "sendMessage" and not c.ok]
    assert refused.status == 429 and refused.args["text"] == reply.args["text"]
    assert reply.at - refused.at >= 0.9  # retry_after: 1
    rig.idle()
    assert len(rig.fake.sent(chat_id=701)) == 1
    [row] = open_outbox(rig.desk.store).items("telegram")
    assert (row.status, row.attempts, row.result["message_id"]) == ("sent", 2, reply.response["result"]["message_id"])
    assert "flood control" in (row.last_error or "").lower()


def test_a_server_error_is_retried_and_later_replies_wait_their_turn(rig: Rig) -> None:
    rig.fake.fail("sendMessage", times=1, status=500)
    rig.say(702, "I forgot my password")
    rig.say(702, "how much is delivery")
    first, second = rig.fake.wait_sent(chat_id=702, count=2, timeout=20)
    assert first.args["text"].startswith("Open Settings, choose Security") and second.args["text"].startswith("Orders ship in 2 business days")


def test_a_request_telegram_refuses_for_good_is_kept_as_failed(rig: Rig) -> None:
    rig.fake.fail("sendMessage", times=1, status=400)
    rig.say(703, "I forgot my password")
    rig.idle()
    [row] = open_outbox(rig.desk.store).items("telegram")
    assert row.status == "failed" and row.attempts == 1
