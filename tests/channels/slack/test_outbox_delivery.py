"""Slack outages delay replies and never drop or double them: the outbox retries with backoff."""

from __future__ import annotations

from bot.delivery.sql_outbox import open_outbox
from tests.channels.slack.conftest import Rig


def test_a_rate_limited_reply_is_retried_after_retry_after_and_delivered_once(rig: Rig) -> None:
    rig.fake.fail("chat.postMessage", times=1, status=429, error="ratelimited", retry_after=1)
    _, ts = rig.dm("U0JOHN", "I forgot my password")
    [reply] = rig.fake.wait_sent(channel="DU0JOHN", thread_ts=ts)
    [refused] = [c for c in rig.fake.calls if c.method == "chat.postMessage" and not c.ok]
    assert refused.status == 429 and refused.args["text"] == reply.args["text"]
    assert reply.at - refused.at >= 0.9  # Retry-After: 1
    rig.idle()
    assert len(rig.fake.sent(channel="DU0JOHN")) == 1
    [row] = open_outbox(rig.desk.store).items("slack")
    assert (row.status, row.attempts, row.result["ts"]) == ("sent", 2, reply.response["ts"])
    assert "ratelimited" in (row.last_error or "")


def test_a_server_error_is_retried_and_later_replies_wait_their_turn(rig: Rig) -> None:
    rig.fake.fail("chat.postMessage", times=1, status=500, error="internal_error")
    _, first = rig.dm("U0JOHN", "I forgot my password")
    _, second = rig.dm("U0JOHN", "how much is delivery")
    rig.fake.wait_sent(channel="DU0JOHN", count=2, timeout=20)
    threads = [c.args["thread_ts"] for c in rig.fake.sent(channel="DU0JOHN")]
    assert threads == [first, second]  # one chat's replies go out in order, even across a retry


def test_a_request_slack_refuses_for_good_is_kept_as_failed_not_retried(rig: Rig) -> None:
    rig.fake.fail("chat.postMessage", times=1, status=200, error="channel_not_found")
    rig.dm("U0JOHN", "I forgot my password")
    rig.idle()
    [row] = open_outbox(rig.desk.store).items("slack")
    assert row.status == "failed" and row.attempts == 1 and "channel_not_found" in (row.last_error or "")
