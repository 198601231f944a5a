"""Customers on Telegram: answered in their language, buttons, /human and agents, stickers, long articles, groups."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from bot.desk.agents import create_agent
from bot.answer.engine import Engine
from tests.channels.telegram.conftest import LONG_KB, Rig
from tests.channels.telegram.fake_telegram import BOT_USER, BOT_USERNAME, buttons, message_update, press_update, sticker_update


def test_an_arabic_question_is_answered_in_arabic(rig: Rig) -> None:
    rig.say(501, "أريد استرداد أموالي", lang="ar")
    [reply] = rig.fake.wait_sent(chat_id=501)
    assert "الاسترداد والإرجاع" in reply.args["text"] and reply.args["parse_mode"] == "HTML"
    assert [b["text"] for b in buttons(reply)] == ["نعم", "لا"]  # "Did this answer your question?"
    [conversation] = rig.desk.store.list_conversations(channel="telegram")
    assert conversation.external_user == "501" and conversation.lang == "ar"


def test_start_greets_in_the_users_language_and_help_helps(rig: Rig) -> None:
    rig.say(502, "/start", lang="tr")
    rig.say(502, "/help", lang="tr")
    greeting, help_ = rig.fake.wait_sent(chat_id=502, count=2)
    assert greeting.args["text"].startswith("Merhaba") and "bot" not in greeting.args
    assert help_.args["text"] != greeting.args["text"]


def test_a_clarification_button_picks_the_article(make_rig: Callable[..., Rig], telegram_engine: Engine) -> None:
    unsure = Engine(replace(telegram_engine.settings, answer_threshold=0.999, handoff_threshold=0.0), telegram_engine.encoders, telegram_engine.index)
    rig = make_rig(engine=unsure)
    rig.say(503, "I forgot my password")
    [question] = rig.fake.wait_sent(chat_id=503)
    choices = [b for b in buttons(question) if b["callback_data"].startswith("ch:")]
    assert choices and buttons(question)[-1]["text"] == "None of these"
    assert rig.post(press_update(503, question, choices[0]["callback_data"])).status_code == 200
    answer = rig.fake.wait_sent(chat_id=503, count=2)[1]
    assert f"Full article: <b>{choices[0]['text']}</b>" in answer.args["text"]  # the picked article's line
    [edit] = rig.fake.wait_sent("editMessageReplyMarkup", chat_id=503, message_id=question.response["result"]["message_id"])
    assert "reply_markup" not in edit.args  # the buttons are gone
    rig.fake.wait_sent("answerCallbackQuery")


def test_a_thumbs_down_offers_a_person(rig: Rig) -> None:
    rig.say(504, "I forgot my password")
    [answer] = rig.fake.wait_sent(chat_id=504)
    no = buttons(answer)[1]
    rig.post(press_update(504, answer, no["callback_data"]))
    said = rig.fake.wait_sent(chat_id=504, count=2)
    assert said[1].args["text"] == "Sorry that didn't help. Let me connect you with a person."
    [conversation] = rig.desk.store.list_conversations(channel="telegram")
    assert conversation.state == "waiting"
    [feedback] = rig.desk.store.list_feedback()
    assert feedback.helpful is False


def test_human_queues_the_conversation_and_the_agents_reply_reaches_the_chat(rig: Rig) -> None:
    rig.say(505, "/human", lang="es")
    rig.fake.wait_for(lambda: rig.desk.store.list_conversations(state="waiting"))
    [conversation] = rig.desk.store.list_conversations(state="waiting")
    assert conversation.channel == "telegram" and rig.messages("customer")[0].text == "/human"
    ana = create_agent(rig.desk.store, "ana@example.com", "Ana", "correct horse battery", ["es"])
    assert rig.desk.take(conversation.id, ana.id, ana.name)
    rig.desk.agent_reply(conversation.id, ana.id, "¡Hola! ¿En qué puedo <ayudarte>?")  # as the console does
    said = rig.fake.wait_sent(chat_id=505, count=3)
    assert said[-1].args["text"] == "<b>Ana:</b> ¡Hola! ¿En qué puedo &lt;ayudarte&gt;?"
    rig.idle()
    assert len(rig.fake.sent(chat_id=505)) == 3  # "Connecting you…", "Ana has joined", the reply: once each


def test_a_sticker_gets_a_polite_reply_and_is_kept_for_the_agent(rig: Rig) -> None:
    rig.post(sticker_update(506, 506, lang="ar"))
    [reply] = rig.fake.wait_sent(chat_id=506)
    assert reply.args["text"].startswith("لا يمكنني قراءة سوى الرسائل النصية")
    assert [m.text for m in rig.messages("customer")] == ["[sticker]"]


def test_a_long_article_is_answered_with_its_focused_start_and_a_link(rig: Rig) -> None:
    rig.say(507, "how do I connect my warehouse")
    [answer] = rig.fake.wait_sent(chat_id=507)
    rig.idle()
    assert len(rig.fake.sent(chat_id=507)) == 1  # 9,000 characters of article, one short message
    text = answer.args["text"]
    assert text.startswith("Step 1. The warehouse integration") and len(text) < 900
    assert "There is more in the full article.\n\nFull article: <b>Warehouse integration guide</b> · updated " in text
    assert buttons(answer)


def test_a_9000_character_agent_message_arrives_as_three_messages_in_order(rig: Rig) -> None:
    rig.say(509, "/human")
    rig.fake.wait_for(lambda: rig.desk.store.list_conversations(state="waiting"))
    [conversation] = rig.desk.store.list_conversations(state="waiting")
    ana = create_agent(rig.desk.store, "ana@example.com", "Ana", "correct horse battery", ["en"])
    assert rig.desk.take(conversation.id, ana.id, ana.name)
    rig.desk.agent_reply(conversation.id, ana.id, LONG_KB[0][3])
    parts = rig.fake.wait_sent(chat_id=509, count=5)[2:]  # after "Connecting you…" and "Ana has joined"
    rig.idle()
    assert len(rig.fake.sent(chat_id=509)) == 5
    texts = [c.args["text"] for c in parts]
    assert texts[0].startswith("<b>Ana:</b> Step 1.")
    assert texts[1].startswith("Step 2.") and texts[2].startswith("Step 3.")
    assert all(len(t) <= 4096 for t in texts)
    assert [c.response["result"]["message_id"] for c in parts] == sorted(c.response["result"]["message_id"] for c in parts)


def test_a_duplicate_update_is_processed_once(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    respond = rig.desk.engine.respond
    monkeypatch.setattr(rig.desk.engine, "respond", lambda *a, **k: calls.append(a) or respond(*a, **k))
    update = message_update(508, 508, "how much is delivery")
    rig.post(update)
    rig.post(update)
    [answer] = rig.fake.wait_sent(chat_id=508)
    rig.post(update)  # after it was answered
    press = press_update(508, answer, buttons(answer)[0]["callback_data"])
    rig.post(press)
    rig.post(press)
    rig.idle()
    assert len(calls) == 1 and len(rig.messages("customer")) == 1
    assert len(rig.desk.store.list_feedback()) == 1
    assert [c.args["text"] for c in rig.fake.sent(chat_id=508)][1] == "Thanks for your feedback!"
    assert len(rig.fake.sent(chat_id=508)) == 2


def test_in_a_group_only_mentions_and_replies_are_answered(rig: Rig) -> None:
    group = -1001
    rig.post(message_update(group, 601, "I forgot my password", chat_type="supergroup"))
    question = message_update(group, 601, f"@{BOT_USERNAME} I forgot my password", chat_type="supergroup")
    rig.post(question)
    [answer] = rig.fake.wait_sent(chat_id=group)
    assert answer.args["reply_parameters"]["message_id"] == question["message"]["message_id"]
    reply = message_update(group, 602, "how much is delivery", chat_type="supergroup", reply_to=answer.response["result"])
    rig.post(reply)
    rig.fake.wait_sent(chat_id=group, count=2)
    rig.idle()
    assert len(rig.fake.sent(chat_id=group)) == 2
    assert sorted(c.external_user for c in rig.desk.store.list_conversations()) == [f"{group}:601", f"{group}:602"]
    assert [m.text for m in rig.messages("customer")] == ["I forgot my password", "how much is delivery"]


def test_someone_else_cannot_press_a_customers_buttons(rig: Rig) -> None:
    group = -1002
    rig.post(message_update(group, 603, f"@{BOT_USERNAME} I forgot my password", chat_type="supergroup"))
    [answer] = rig.fake.wait_sent(chat_id=group)
    rig.post(press_update(604, answer, buttons(answer)[1]["callback_data"]))
    rig.idle()
    assert rig.desk.store.list_feedback() == [] and not rig.fake.sent("editMessageReplyMarkup")
    assert BOT_USER["id"] != 604
