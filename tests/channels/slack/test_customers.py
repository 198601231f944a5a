"""Customers on Slack: DMs and mentions answered in their language, in the thread; buttons; retries."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from bot.answer.engine import Engine
from tests.channels.slack.conftest import BOT_USER, Rig, buttons, posted_message
from tests.channels.slack.fake_slack import BOT_ID, TEAM


def test_a_turkish_dm_is_answered_in_turkish_in_its_thread(rig: Rig) -> None:
    response, ts = rig.dm("U0AYSE", "Şifremi unuttum")
    assert response.status_code == 200
    [reply] = rig.fake.wait_sent(channel="DU0AYSE", thread_ts=ts)
    assert "Şifrenizi nasıl sıfırlarsınız" in reply.args["text"]
    assert [b["text"]["text"] for b in buttons(reply)] == ["Evet", "Hayır"]  # "Did this answer your question?"
    assert any(c.method == "users.info" and c.args.get("user") == "U0AYSE" for c in rig.fake.calls)
    [conversation] = rig.desk.store.list_conversations(channel="slack")
    assert conversation.external_user == f"{TEAM}:DU0AYSE:U0AYSE" and conversation.lang == "tr"


def test_a_mention_in_a_channel_is_answered_in_its_thread(rig: Rig) -> None:
    ts = "1650000000.000100"
    event = {"type": "app_mention", "channel": "C0GENERAL", "user": "U0AYSE", "ts": ts, "team": TEAM,
             "text": f"<@{BOT_USER}> şifremi nasıl değiştiririm?"}
    assert rig.event(event).status_code == 200
    [reply] = rig.fake.wait_sent(channel="C0GENERAL", thread_ts=ts)
    assert "Şifrenizi nasıl sıfırlarsınız" in reply.args["text"]
    [conversation] = rig.desk.store.list_conversations(channel="slack")
    assert conversation.external_user == f"{TEAM}:C0GENERAL:{ts}:U0AYSE"
    assert rig.messages("customer")[0].text == "şifremi nasıl değiştiririm?"  # the mention is not part of the question


def test_the_locale_is_asked_once_per_user(rig: Rig) -> None:
    rig.dm("U0JOHN", "I forgot my password")
    rig.dm("U0JOHN", "how much is delivery")
    rig.fake.wait_sent(channel="DU0JOHN", count=2)
    assert sum(1 for c in rig.fake.calls if c.method == "users.info") == 1


def test_a_helpful_click_records_feedback_and_replaces_the_buttons(rig: Rig) -> None:
    _, ts = rig.dm("U0AYSE", "Şifremi unuttum")
    [answer] = rig.fake.wait_sent(channel="DU0AYSE", thread_ts=ts)
    yes = buttons(answer)[0]
    assert rig.click("U0AYSE", "DU0AYSE", posted_message(answer), yes).status_code == 200
    [update] = rig.fake.wait_sent("chat.update", ts=answer.response["ts"])
    assert not [b for b in update.args["blocks"] if b["type"] == "actions"]
    assert "Evet" in str(update.args["blocks"])
    rig.fake.wait_sent(channel="DU0AYSE", thread_ts=ts, count=2)  # "Geri bildiriminiz için teşekkürler!"
    [feedback] = rig.desk.store.list_feedback()
    assert feedback.helpful is True and feedback.message_id == rig.messages("bot")[0].id

    rig.click("U0AYSE", "DU0AYSE", posted_message(answer), buttons(answer)[1])  # the same set again: counts once
    rig.idle()
    assert len(rig.desk.store.list_feedback()) == 1


def test_someone_else_cannot_click_a_customers_buttons(rig: Rig) -> None:
    _, ts = rig.dm("U0AYSE", "Şifremi unuttum")
    [answer] = rig.fake.wait_sent(channel="DU0AYSE", thread_ts=ts)
    rig.click("U0JOHN", "DU0AYSE", posted_message(answer), buttons(answer)[1])
    rig.idle()
    assert rig.desk.store.list_feedback() == []


def test_one_customers_messages_are_answered_in_the_order_sent(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    respond, first = rig.desk.engine.respond, threading.Event()

    def slow_first(*args: Any, **kwargs: Any) -> Any:
        if not first.is_set():
            first.set()
            time.sleep(0.5)  # the others arrive while the first is worked on: more than there are workers
        return respond(*args, **kwargs)

    monkeypatch.setattr(rig.desk.engine, "respond", slow_first)
    questions = ["I forgot my password", "how much is delivery", "refund policy", "how do I delete my account", "when are you open",
                 "how do I return an item", "when will my order arrive", "what are your support hours"]
    asked = [rig.dm("U0JOHN", question)[1] for question in questions]
    said = rig.fake.wait_sent(channel="DU0JOHN", count=len(questions))
    assert [c.args["thread_ts"] for c in said] == asked
    assert [m.decision["answers"] for m in rig.messages("bot")] == [m.id for m in rig.messages("customer")]


def test_a_retried_event_gets_no_second_answer(rig: Rig) -> None:
    _, ts = rig.dm("U0JOHN", "I forgot my password", event_id="Ev0RETRY")
    rig.dm("U0JOHN", "I forgot my password", ts=ts, event_id="Ev0RETRY", retry=1)  # while the first is under way
    rig.fake.wait_sent(channel="DU0JOHN", thread_ts=ts)
    rig.dm("U0JOHN", "I forgot my password", ts=ts, event_id="Ev0RETRY", retry=2)  # after it was answered
    rig.idle()
    assert len(rig.fake.sent(channel="DU0JOHN")) == 1
    assert len(rig.messages("customer")) == 1 and len(rig.messages("bot")) == 1


def test_the_message_and_app_mention_events_of_one_message_answer_once(rig: Rig) -> None:
    ts = "1650000000.000200"
    base = {"channel": "C0GENERAL", "user": "U0JOHN", "ts": ts, "team": TEAM, "text": f"<@{BOT_USER}> refund policy"}
    rig.event({**base, "type": "app_mention"})
    rig.event({**base, "type": "message", "channel_type": "channel"})
    rig.fake.wait_sent(channel="C0GENERAL", thread_ts=ts)
    rig.idle()
    assert len(rig.fake.sent(channel="C0GENERAL")) == 1


@pytest.mark.parametrize("extra", [{"bot_id": "B0OTHER"}, {"subtype": "bot_message", "bot_id": BOT_ID}, {"user": BOT_USER}, {"subtype": "message_changed"}])
def test_the_bot_never_answers_itself_or_other_bots(rig: Rig, extra: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(rig.desk.engine, "respond", lambda *a, **k: calls.append(a))
    event = {"type": "message", "channel": "DU0JOHN", "channel_type": "im", "user": "U0JOHN", "text": "I forgot my password",
             "ts": "1650000000.000300", "team": TEAM, **extra}
    assert rig.event(event).status_code == 200
    rig.idle()
    assert calls == [] and rig.fake.sent() == [] and rig.messages() == []


def test_a_choice_answers_in_the_thread_and_replaces_the_buttons(make_rig: Callable[..., Rig], slack_engine: Engine) -> None:
    unsure = Engine(replace(slack_engine.settings, answer_threshold=0.999, handoff_threshold=0.0), slack_engine.encoders, slack_engine.index)
    rig = make_rig(engine=unsure)
    _, ts = rig.dm("U0JOHN", "I forgot my password")
    [question] = rig.fake.wait_sent(channel="DU0JOHN", thread_ts=ts)
    choices = [b for b in buttons(question) if b["action_id"].startswith("answerdesk.choose.")]
    assert choices and buttons(question)[-1]["text"]["text"] == "None of these"
    rig.click("U0JOHN", "DU0JOHN", posted_message(question), choices[0])
    [answer] = rig.fake.wait_for(lambda: [c for c in rig.fake.sent(channel="DU0JOHN", thread_ts=ts) if c is not question and c.args["text"] != question.args["text"]])
    assert f"Full article: {choices[0]['text']['text']}" in answer.args["text"]  # the picked article's line
    [update] = rig.fake.wait_sent("chat.update", ts=question.response["ts"])
    assert f"✓ {choices[0]['text']['text']}" in str(update.args["blocks"])


def test_without_an_agents_channel_console_agents_still_reach_slack_customers(make_rig: Callable[..., Rig]) -> None:
    from bot.desk.agents import create_agent

    rig = make_rig(slack_agents_channel="")
    _, ts = rig.dm("U0JOHN", "I want to talk to a person")
    rig.fake.wait_for(lambda: rig.desk.store.list_conversations(state="waiting"))
    [conversation] = rig.desk.store.list_conversations(state="waiting")
    ayse = create_agent(rig.desk.store, "ayse@example.com", "Ayşe", "correct horse battery", ["en"])
    assert rig.desk.take(conversation.id, ayse.id, ayse.name)
    rig.desk.agent_reply(conversation.id, ayse.id, "Hello John!")
    said = rig.fake.wait_sent(channel="DU0JOHN", thread_ts=ts, count=3)
    assert [c.args["text"] for c in said][-2:] == ["Ayşe has joined the conversation.", "Ayşe: Hello John!"]
    rig.idle()
    assert not rig.fake.sent(channel="C0AGENTS")
