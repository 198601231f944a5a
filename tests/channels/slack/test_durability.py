"""A Slack message is in the store before Slack hears "got it": a worker that dies after the ack
loses nothing (the next worker answers it), and one that cannot store it asks Slack to retry."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.errors import StorageError
from bot.desk import desk as desk_module
from tests.channels.slack.conftest import Rig


def test_a_message_acked_by_a_worker_that_died_is_answered_once_by_the_next(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rig.channel.core, "receive", lambda inbound: None)  # the worker dies right after the ack
    response, ts = rig.dm("U0JOHN", "I forgot my password")
    assert response.status_code == 200
    _, second = rig.dm("U0JOHN", "how much is delivery")
    kept = rig.messages("customer")
    assert [m.text for m in kept] == ["I forgot my password", "how much is delivery"] and kept[0].external_id.endswith(ts)
    assert not rig.messages("bot") and not rig.fake.sent("chat.postMessage")

    assert rig.channel.answer_orphans() == 0  # younger than ORPHAN_QUIET: maybe still in a worker's hands
    monkeypatch.setattr(desk_module, "ORPHAN_QUIET", timedelta(0))
    assert rig.channel.answer_orphans() == 2  # what a restarted worker does when it starts
    [reply] = rig.fake.wait_sent(channel="DU0JOHN", thread_ts=ts)
    assert "reset your password" in reply.args["text"].lower()
    [other] = rig.fake.wait_sent(channel="DU0JOHN", thread_ts=second)
    assert "deliver" in other.args["text"].lower()
    assert rig.channel.answer_orphans() == 0
    rig.idle()
    assert len(rig.fake.sent("chat.postMessage", channel="DU0JOHN")) == 2 and len(rig.messages("customer")) == 2


def test_a_message_that_cannot_be_stored_is_refused_so_slack_sends_it_again(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    keep = rig.channel.core.keep

    def down(inbound: object) -> None:
        raise StorageError("desk.db: cannot store a message: disk I/O error")

    monkeypatch.setattr(rig.channel.core, "keep", down)
    response, ts = rig.dm("U0JOHN", "how much is delivery")
    assert response.status_code == 503 and not rig.messages()
    monkeypatch.setattr(rig.channel.core, "keep", keep)
    again, _ = rig.dm("U0JOHN", "how much is delivery", ts=ts, retry=1)  # Slack's retry of the same event
    assert again.status_code == 200
    rig.fake.wait_sent(channel="DU0JOHN", thread_ts=ts)
    rig.idle()
    assert len(rig.messages("customer")) == 1 and len(rig.fake.sent("chat.postMessage", channel="DU0JOHN")) == 1


def test_two_quick_messages_are_each_answered_in_their_own_thread(rig: Rig) -> None:
    _, first = rig.dm("U0JOHN", "I forgot my password")
    _, second = rig.dm("U0JOHN", "how much is delivery")
    [one] = rig.fake.wait_sent(channel="DU0JOHN", thread_ts=first)
    [two] = rig.fake.wait_sent(channel="DU0JOHN", thread_ts=second)
    assert "password" in one.args["text"].lower() and "deliver" in two.args["text"].lower()
    rig.idle()
    assert len(rig.fake.sent("chat.postMessage", channel="DU0JOHN")) == 2
