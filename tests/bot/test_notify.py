"""Noticing handoffs and relaying to customers by polling the store: each thing once, across processes."""

from __future__ import annotations

from collections.abc import Sequence


from bot.desk.agents_desk import channel_agent, handoff_card
from bot.desk.agents import verify_password
from bot.delivery.dedup import open_seen_keys
from bot.delivery.notify import Card, DeskWatcher
from bot.delivery.sql_delivery import open_cards
from bot.delivery.relay import Relay, open_relay_cursors
from bot.store.model import Conversation, Message, Store
from bot.store.connect import open_store


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, object]] = []

    def handoff(self, card: Card, conversation: Conversation, messages: Sequence[Message]) -> None:
        self.calls.append(("handoff", conversation.id, [m.text for m in messages]))

    def message(self, card: Card, conversation: Conversation, message: Message) -> None:
        self.calls.append(("message", conversation.id, message.text))

    def state_changed(self, card: Card, conversation: Conversation) -> None:
        self.calls.append(("state", conversation.id, conversation.state))


def test_a_handoff_is_announced_once_then_followed_until_closed(store: Store, db_url: str) -> None:
    other = open_store(db_url)  # a second process watching the same database
    heard, heard_too = Recorder(), Recorder()
    watchers = [DeskWatcher(store, open_cards(store), "slack", heard), DeskWatcher(other, open_cards(other), "slack", heard_too)]
    c = store.create_conversation("web", "v1", "en")
    store.add_message(c.id, "customer", "I want a person")
    assert sum(w.poll_once() for w in watchers) == 0
    store.transition(c.id, ("bot",), "waiting")
    for _ in range(2):
        for w in watchers:
            w.poll_once()
    store.add_message(c.id, "customer", "hello?")
    store.transition(c.id, ("waiting",), "agent", agent="a1")
    store.transition(c.id, ("agent",), "closed")
    for _ in range(2):
        for w in watchers:
            w.poll_once()
    calls = heard.calls + heard_too.calls
    assert sorted(calls, key=str) == sorted(
        [("handoff", c.id, ["I want a person"]), ("message", c.id, "hello?"), ("state", c.id, "closed")], key=str
    )
    assert open_cards(store).active_cards("slack") == []
    other.close()


def test_waiting_again_later_is_a_new_card(store: Store) -> None:
    heard = Recorder()
    watcher = DeskWatcher(store, open_cards(store), "slack", heard)
    c = store.create_conversation("web", "v1", "en")
    store.transition(c.id, ("bot",), "waiting")
    watcher.poll_once()
    store.transition(c.id, ("waiting",), "bot")
    watcher.poll_once()
    store.transition(c.id, ("bot",), "waiting")
    watcher.poll_once()
    assert [k for k, _, _ in heard.calls] == ["handoff", "state", "handoff"]


def test_the_relay_hands_over_what_bots_and_agents_said_on_its_channel_once(store: Store) -> None:
    store.create_conversation("slack", "before", "en")
    delivered: list[str] = []
    relay = Relay(store, open_relay_cursors(store), "slack", lambda c, ms: delivered.extend(m.text for m in ms))
    assert relay.poll_once() == 0  # starts from now
    s = store.create_conversation("slack", "T:D1:U1", "en")
    w = store.create_conversation("web", "v1", "en")
    store.add_message(s.id, "customer", "hi")
    store.add_message(s.id, "bot", "hello")
    store.add_message(w.id, "bot", "web hello")
    store.add_message(s.id, "agent", "I'm Ayşe", agent="a1")
    assert relay.poll_once() == 2 and relay.poll_once() == 0
    assert delivered == ["hello", "I'm Ayşe"]


def test_seen_keys_say_yes_once(store: Store) -> None:
    seen = open_seen_keys(store)
    assert seen.first_time("slack", "k") and not seen.first_time("slack", "k") and seen.first_time("telegram", "k")


def test_a_chat_user_becomes_one_agent_who_cannot_sign_in(store: Store) -> None:
    first = channel_agent(store, "slack", "T1", "U1", "Deniz", ["en"])
    assert channel_agent(store, "slack", "T1", "U1", "Someone else") == first
    assert first.email == "slack:t1:u1" and first.name == "Deniz"
    assert not verify_password(first.password_hash, "") and not verify_password(first.password_hash, "!")


def test_a_card_names_the_question_reason_and_candidates(store: Store) -> None:
    c = store.create_conversation("web", "v1", "tr")
    store.add_message(c.id, "customer", "paramı geri istiyorum")
    store.add_message(c.id, "bot", "Sizi bir kişiye bağlıyorum.", action="handoff",
                      decision={"action": "handoff", "reason": "low_score", "candidates": [{"id": "refund", "score": 0.41}]})
    facts = handoff_card(c, store.list_messages(c.id), lambda article_id, lang: f"{article_id} in {lang}")
    assert facts.question == "paramı geri istiyorum" and facts.reason == "not_covered"
    assert [(x.article_id, x.title, x.score) for x in facts.candidates] == [("refund", "refund in tr", 0.41)]
    assert [line.author for line in facts.transcript] == ["customer", "bot"]


def test_a_card_knows_when_nobody_took_it_in_time(store: Store) -> None:
    c = store.create_conversation("web", "v1", "en")
    store.add_message(c.id, "customer", "a person please")
    store.add_message(c.id, "bot", "Connecting you with a person...", action="handoff_requested")
    assert not handoff_card(c, store.list_messages(c.id), lambda a, l: None).expired
    store.add_message(c.id, "bot", "Sorry, no one is available.", action="no_agent_available")
    facts = handoff_card(c, store.list_messages(c.id), lambda a, l: None)
    assert facts.expired and facts.reason == "asked_for_person" and facts.question == "a person please"
