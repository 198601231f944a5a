"""Telling an agents' desk (a Slack channel, later others) about handoffs, from any channel.

The desk does not announce anything itself, so a `DeskWatcher` polls the store: a
conversation that starts waiting gets a card (one per waiting episode, recorded in the
`desk_cards` table so only one process announces it), and while the card is active its
listener hears of every new message and every change of state until the conversation is back
with the bot or closed. Listeners are called before the card's row moves on, so a crash calls
them again: they must be idempotent (enqueue with a dedup key). Polling works across
processes and needs no change to `Desk`; a hook in `Desk` would cut the delay (about one poll
interval) and the queries.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.store.model import QUEUE_STATES, Conversation, Message, Store

log = logging.getLogger(__name__)

ACTIVE_STATES = ("waiting", "missed", "agent")  # a card follows its conversation while it is in one of these


@dataclass(frozen=True)
class Card:
    """One waiting episode of a conversation as an agents' desk shows it."""

    id: int
    desk: str
    conversation_id: str
    episode: str  # the conversation's waiting_since when the card was opened
    ref: str | None  # the desk's handle once posted (Slack: "<channel>:<ts>")
    announced: bool
    shown_state: str  # "<state>:<agent id>"
    last_message_id: int
    active: bool
    created_at: datetime


class DeskCards(Protocol):
    def open_card(self, desk: str, conversation_id: str, episode: str, shown_state: str) -> bool:
        """Record a card for this episode, holding the messages so far; False when it exists already."""
        ...

    def active_cards(self, desk: str) -> list[Card]:
        """Cards still following their conversation, oldest first."""
        ...

    def get_card(self, card_id: int) -> Card | None:
        ...

    def card_by_ref(self, desk: str, ref: str) -> Card | None:
        """The card the desk knows by `ref` (a Slack thread), or None."""
        ...

    def mark_announced(self, card_id: int) -> None:
        ...

    def set_ref(self, card_id: int, ref: str) -> None:
        ...

    def advance(self, card_id: int, last_message_id: int, expected: int) -> bool:
        """Move the card's message cursor forward, if nobody did meanwhile (compare-and-set)."""
        ...

    def show_state(self, card_id: int, shown_state: str, expected: str, active: bool) -> bool:
        """Record the state the card now shows, if nobody did meanwhile (compare-and-set)."""
        ...


class DeskListener(Protocol):
    """What an agents' desk does when a conversation needs it; each call must be idempotent."""

    def handoff(self, card: Card, conversation: Conversation, messages: Sequence[Message]) -> None:
        """A conversation started waiting for an agent: show a card."""
        ...

    def message(self, card: Card, conversation: Conversation, message: Message) -> None:
        """A new message in a conversation with an active card."""
        ...

    def state_changed(self, card: Card, conversation: Conversation) -> None:
        """The conversation was taken, handed back or closed."""
        ...


def shown_state(conversation: Conversation) -> str:
    return f"{conversation.state}:{conversation.agent or ''}"


class DeskWatcher:
    """Polls the store for handoffs and for what happens to them, and tells the desk's listener."""

    def __init__(self, store: Store, cards: DeskCards, desk: str, listener: DeskListener) -> None:
        self.store = store
        self.cards = cards
        self.desk = desk
        self.listener = listener

    def poll_once(self) -> int:
        """One look at the store; how many listener calls it made."""
        for conversation in self.store.waiting_queue((), states=QUEUE_STATES):
            if conversation.waiting_since is not None:
                self.cards.open_card(self.desk, conversation.id, conversation.waiting_since.isoformat(), shown_state(conversation))
        calls = 0
        for card in self.cards.active_cards(self.desk):
            calls += self._follow(card)
        return calls

    def _follow(self, card: Card) -> int:
        conversation = self.store.get_conversation(card.conversation_id)
        if conversation is None:  # deleted
            self.cards.show_state(card.id, "gone:", card.shown_state, active=False)
            return 0
        if not card.announced:
            messages = self.store.list_messages(conversation.id)
            self.listener.handoff(card, conversation, [m for m in messages if m.id <= card.last_message_id])
            self.cards.mark_announced(card.id)
            return 1
        calls = 0
        new = self.store.list_messages(conversation.id, after_id=card.last_message_id)
        for message in new:
            self.listener.message(card, conversation, message)
            calls += 1
        if new:
            self.cards.advance(card.id, new[-1].id, expected=card.last_message_id)
        shown = shown_state(conversation)
        if shown != card.shown_state:
            self.listener.state_changed(card, conversation)
            self.cards.show_state(card.id, shown, expected=card.shown_state, active=conversation.state in ACTIVE_STATES)
            calls += 1
        return calls


class Ticker:
    """Calls some functions every few seconds on one background thread until stopped."""

    def __init__(self, jobs: Sequence[Callable[[], int]], every: float = 0.5, name: str = "answerdesk-ticker") -> None:
        self.jobs = list(jobs)
        self.every = every
        self.name = name
        self._stop = threading.Event()
        self._now = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._now.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """Run the jobs now rather than at the next tick."""
        self._now.set()

    def run_once(self) -> int:
        """Run every job once; the sum of what they report (0: nothing happened)."""
        done = 0
        for job in self.jobs:
            try:
                done += job()
            except Exception:  # keep ticking: a busy database fails one round, not the thread
                log.exception("%s: %s failed; trying again in %.1f s", self.name, getattr(job, "__qualname__", job), self.every)
        return done

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._now.wait(self.every)
            self._now.clear()
