"""The chat core carries a channel of its own (echo_channel.py) through the whole waterfall: the real desk,
engine and SQLite store; an answer, a clarification and its choice, a handoff, an agent's reply
through the relay, the close and the 1-5 rating."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.answer.engine import Engine
from bot.desk.agents import create_agent
from tests.channels.chat.echo_channel import Echo


def labels(shown: dict) -> list[str]:
    return [button[4] for button in shown["buttons"]]


def test_the_waterfall_through_the_chat_core(echo: Echo, chat_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    desk = echo.core.desk
    echo.say("ann", "how much is delivery")
    [answer] = echo.settle("ann")
    assert answer["text"].startswith("Orders ship in 2 business days") and "\nFull article: Shipping times and costs" in answer["text"]
    assert labels(answer) == ["Yes", "No"]

    unsure = Engine(replace(chat_engine.settings, answer_threshold=0.999, handoff_threshold=0.0), chat_engine.encoders, chat_engine.index)
    monkeypatch.setattr(desk, "engine", unsure)  # never sure enough to answer: it offers the likely articles
    echo.say("ann", "I forgot my password")
    question = echo.settle("ann")[-1]
    monkeypatch.undo()
    assert question["buttons"][0][0] == "choose" and labels(question)[-1] == "None of these"
    title = labels(question)[0]
    echo.press("ann", question, title)
    assert f"\nFull article: {title}" in echo.settle("ann")[-1]["text"]

    echo.say("ann", "I want to talk to a person")
    echo.settle("ann")
    [conversation] = desk.store.list_conversations(channel="echo")
    assert conversation.state == "waiting"
    ayse = create_agent(desk.store, "ayse@example.com", "Ayşe", "correct horse battery", ["en"])
    assert desk.take(conversation.id, ayse.id, ayse.name)  # as the console does: the relay tells the customer
    desk.agent_reply(conversation.id, ayse.id, "Hello Ann, how can I help?")
    assert [s["text"] for s in echo.settle("ann")[-2:]] == ["Ayşe has joined the conversation.", "Ayşe: Hello Ann, how can I help?"]

    assert desk.close(conversation.id, ayse.id)
    rating = echo.settle("ann")[-1]
    assert labels(rating) == ["1", "2", "3", "4", "5"]
    echo.press("bob", rating, "1")  # not Bob's conversation
    echo.press("ann", rating, "4")
    echo.press("ann", rating, "5")  # the same buttons again: they count once
    assert echo.settle("ann")[-1]["text"] == "Thank you for rating us!"
    assert [f.csat for f in desk.store.list_feedback()] == [4]
    said = [m.text for m in desk.store.list_messages(conversation.id) if m.author == "customer"]
    assert said == ["how much is delivery", "I forgot my password", title, "I want to talk to a person"]
