"""A Telegram question is in the store before Telegram gets its 200: a worker that dies right after
loses nothing (the next worker answers it), and one that cannot store it asks Telegram to retry."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.desk import desk as desk_module
from bot.errors import StorageError
from tests.channels.telegram.conftest import Rig
from tests.channels.telegram.fake_telegram import message_update


def test_a_question_acked_by_a_worker_that_died_is_answered_once_by_the_next(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rig.channel.core, "receive", lambda inbound: None)  # the worker dies right after the 200
    rig.say(601, "how much is delivery")
    rig.idle()
    [kept] = rig.messages("customer")
    assert kept.text == "how much is delivery" and not rig.messages("bot") and not rig.fake.sent("sendMessage")

    assert rig.channel.answer_orphans() == 0  # too young: maybe still in another worker's hands
    monkeypatch.setattr(desk_module, "ORPHAN_QUIET", timedelta(0))
    assert rig.channel.answer_orphans() == 1  # what a restarted worker does when it starts
    [reply] = rig.fake.wait_sent(chat_id=601)
    assert "deliver" in reply.args["text"].lower()
    assert rig.channel.answer_orphans() == 0
    rig.idle()
    assert len(rig.fake.sent("sendMessage", chat_id=601)) == 1


def test_a_question_that_cannot_be_stored_is_refused_so_telegram_sends_it_again(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    keep = rig.channel.core.keep

    def down(inbound: object) -> None:
        raise StorageError("desk.db: cannot store a message: disk I/O error")

    monkeypatch.setattr(rig.channel.core, "keep", down)
    update = message_update(602, 602, "how much is delivery", lang="en")
    assert rig.post(update).status_code == 503 and not rig.messages()
    monkeypatch.setattr(rig.channel.core, "keep", keep)
    assert rig.post(update).status_code == 200  # Telegram delivers the same update again
    rig.fake.wait_sent(chat_id=602)
    rig.idle()
    assert len(rig.messages("customer")) == 1 and len(rig.fake.sent("sendMessage", chat_id=602)) == 1


def test_a_sticker_kept_for_the_agent_is_not_answered_by_the_next_worker(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.channels.telegram.fake_telegram import sticker_update

    assert rig.post(sticker_update(603, 603)).status_code == 200
    rig.idle()
    monkeypatch.setattr(desk_module, "ORPHAN_QUIET", timedelta(0))
    assert rig.channel.answer_orphans() == 0
