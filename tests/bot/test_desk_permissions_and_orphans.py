"""Who may close or take over a conversation, and orphans answered once across workers.

The desk's rules need no retrieval: a stub engine answers every message with one fixed reply,
so these tests run in milliseconds over a real SQLite store (and PostgreSQL when there is one).
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from bot.actions import Action
from bot.answer.decision import ANSWER, Decision
from bot.answer.engine import Inbound, Outcome, Reply
from bot.config import Settings
from bot.desk.desk import Desk
from bot.desk.hours import parse_hours
from bot.desk.recovery import reply_claim
from bot.language.detect import LanguageDecision
from bot.store.connect import open_store


class StubEngine:
    """Answers every message with "answer to <text>"; `gate` (when set) holds each answer until both racers computed."""

    def __init__(self) -> None:
        self.settings = Settings()
        self.gate: threading.Barrier | None = None
        self.computed = 0

    def respond(self, inbound: Inbound) -> Outcome:
        self.computed += 1
        if self.gate is not None:
            self.gate.wait(timeout=10)
        decision = Decision(ANSWER, "faq", (), "confident")
        return Outcome(LanguageDecision("en", 1.0, "hint"), decision, (Reply("bot", f"answer to {inbound.text}", ANSWER, "faq"),))

    def served_languages(self, snapshot: object) -> tuple[str, ...]:
        return ("en",)

    def snapshot(self) -> object:
        return object()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def make_desk(db: str, engine: StubEngine | None = None, clock: Clock | None = None) -> Desk:
    clock = clock or Clock()
    return Desk(engine or StubEngine(), open_store(db, clock=clock), parse_hours("24/7", "UTC", ""), clock=clock)  # type: ignore[arg-type]


def handed_to(desk: Desk, agent: str) -> str:
    conversation = desk.open("web", f"visitor-of-{agent}")
    assert desk.take(conversation.id, agent, agent.title())
    return conversation.id


# -- who may close, who may take over -------------------------------------------------------
def test_only_the_agent_who_has_a_conversation_closes_it(db_url: str) -> None:
    desk = make_desk(db_url)
    conversation_id = handed_to(desk, "ayse")
    refused = desk.close(conversation_id, "omar")
    assert not refused and refused.refusal == "not_yours" and refused.holder == "ayse" and refused.state == "agent"
    assert desk.store.get_conversation(conversation_id).state == "agent"
    assert desk.close(conversation_id, "ayse")
    assert desk.store.get_conversation(conversation_id).state == "closed"
    twice = desk.close(conversation_id, "ayse")
    assert not twice and twice.already and twice.refusal is None


def test_any_agent_closes_a_conversation_in_the_queue_or_with_the_bot(db_url: str) -> None:
    desk = make_desk(db_url)
    with_bot = desk.open("web", "v1")
    assert desk.close(with_bot.id, "omar")
    queued = desk.open("web", "v2")
    assert desk.store.transition(queued.id, ("bot",), "missed")
    assert desk.close(queued.id, "omar")
    assert desk.store.get_conversation(queued.id).state == "closed"


def test_another_agent_takes_over_explicitly_and_the_transcript_says_so(db_url: str) -> None:
    desk = make_desk(db_url)
    conversation_id = handed_to(desk, "ayse")
    refused = desk.take(conversation_id, "omar", "Omar")
    assert not refused and refused.refusal == "taken" and refused.holder == "ayse"
    taken = desk.take_over(conversation_id, "omar", "Omar Farouk")
    assert taken and taken.holder == "omar"
    now = desk.store.get_conversation(conversation_id)
    assert now.state == "agent" and now.agent == "omar"
    [note] = [m for m in desk.store.list_messages(conversation_id) if m.action == Action.AGENT_TOOK_OVER]
    assert note.author == "bot" and note.text == "Omar Farouk has taken over the conversation."
    # now Omar's: Ayşe can neither reply nor close; Omar can
    assert desk.close(conversation_id, "ayse").refusal == "not_yours"
    again = desk.take_over(conversation_id, "omar", "Omar")
    assert not again and again.already
    assert desk.close(conversation_id, "omar")


def test_taking_over_a_conversation_nobody_has_is_a_take(db_url: str) -> None:
    desk = make_desk(db_url)
    conversation = desk.open("web", "v3")
    assert desk.store.transition(conversation.id, ("bot",), "waiting")
    assert desk.take_over(conversation.id, "omar", "Omar")
    actions = [m.action for m in desk.store.list_messages(conversation.id)]
    assert Action.AGENT_JOINED in actions and Action.AGENT_TOOK_OVER not in actions
    assert desk.take_over("no-such-conversation", "omar", "Omar").refusal == "gone"


# -- orphans --------------------------------------------------------------------------------
def test_a_kept_message_is_an_orphan_only_once_it_is_quiet_and_until_it_is_answered(db_url: str) -> None:
    clock = Clock()
    desk = make_desk(db_url, clock=clock)
    conversation = desk.open("slack", "T1:D1:U1")
    first = desk.keep(conversation.id, "one", "T1:D1:1.0").message
    second = desk.keep(conversation.id, "two", "T1:D1:2.0").message
    desk.note(conversation.id, "/human", external_id="T1:D1:3.0")  # a note is for the agent, never answered
    assert desk.orphans("slack", timedelta(hours=1), timedelta(seconds=15)) == []  # maybe still in its worker's hands
    clock.now += timedelta(seconds=16)
    [orphan] = desk.orphans("slack", timedelta(hours=1), timedelta(seconds=15))
    assert [m.id for m in orphan.messages] == [first.id, second.id]
    assert desk.orphans("telegram", timedelta(hours=1), timedelta(seconds=15)) == []
    # The second is answered first (its reply lands after both): the first is still an orphan.
    desk.receive(conversation.id, "two", external_id="T1:D1:2.0")
    [orphan] = desk.orphans("slack", timedelta(hours=1), timedelta(seconds=15))
    assert [m.id for m in orphan.messages] == [first.id]
    desk.receive(conversation.id, "one", external_id="T1:D1:1.0")
    assert desk.orphans("slack", timedelta(hours=1), timedelta(seconds=15)) == []


def test_messages_an_agent_had_are_no_orphans_after_it_is_handed_back(db_url: str) -> None:
    clock = Clock()
    desk = make_desk(db_url, clock=clock)
    conversation = desk.open("slack", "T1:D1:U2")
    assert desk.take(conversation.id, "ayse", "Ayşe")
    desk.keep(conversation.id, "a question for Ayşe", "T1:D1:5.0")
    desk.receive(conversation.id, "a question for Ayşe", external_id="T1:D1:5.0")  # the bot stays silent
    clock.now += timedelta(minutes=1)
    assert desk.orphans("slack", timedelta(hours=1), timedelta(seconds=15)) == []  # an agent has it
    assert desk.hand_back(conversation.id, "ayse")
    assert desk.orphans("slack", timedelta(hours=1), timedelta(seconds=15)) == []  # "back to bot" came after it


def test_two_workers_answering_one_kept_message_at_once_store_one_answer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "desk.db")
    engine = StubEngine()
    one, two = make_desk(db, engine), make_desk(db, engine)  # two processes: two stores over one database
    conversation = one.open("telegram", "42")
    kept = one.keep(conversation.id, "how much is delivery", "42:7").message
    engine.gate = threading.Barrier(2)  # both compute the answer before either stores it
    turns = []
    threads = [threading.Thread(target=lambda d=d: turns.append(d.receive(conversation.id, kept.text, external_id="42:7"))) for d in (one, two)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert engine.computed == 2 and len(turns) == 2
    bot = [m for m in one.store.list_messages(conversation.id) if m.author == "bot"]
    assert len(bot) == 1 and bot[0].external_id == reply_claim(kept) and bot[0].decision["answers"] == kept.id
    assert sorted(t.duplicate for t in turns) == [False, True]
    assert all([m.id for m in t.replies] == [bot[0].id] for t in turns)  # the loser shows the winner's reply
