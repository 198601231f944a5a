"""The delivery half of every chat channel, written once: keep, receive, deliver, relay, answer orphans.

A customer's message is kept in the store before the platform hears "got it" (`keep`), so a
worker that dies after the acknowledgement loses nothing: every worker's ticker sweeps for such
orphans when it starts and every SWEEP_SECONDS after (`answer_orphans`, bot/desk/recovery.py),
leaving alone what its own workers have in hand and what is younger than the desk's ORPHAN_QUIET,
and the desk answers each once across workers. After the acknowledgement it is queued for its customer's worker (`queue`):
one customer's messages and presses are handled one at a time, in the order they came; different
customers in parallel. Everything the customer should see goes through `deliver`, which enqueues
one outbox row per stored message (or per piece) under the key "msg:<message id>[:<piece>]"; the
reply path, the relay (agents' replies and timers' messages, bot/delivery/relay.py) and the orphan
sweep all call it, and the key makes sure the platform gets each message once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.answer.phrases import phrase
from bot.delivery.dedup import open_seen_keys
from bot.delivery.notify import Ticker
from bot.delivery.outbox import Drainer, Sender
from bot.delivery.relay import Relay, open_relay_cursors
from bot.delivery.sql_outbox import open_outbox
from bot.desk import buttons
from bot.desk.desk import ORPHAN_RECENT, Desk, NotAllowed, NotFound, Turn, orphans
from bot.desk.turns import question_answered
from bot.store.model import Conversation, Message, utc_now
from channels.chat.platform import ChatPlatform, Inbound, Press, Said
from channels.chat.serial import SerialPerKey

log = logging.getLogger(__name__)

WORKERS = 4  # the engine is CPU-bound: more threads than cores only queue inside it
SENDERS = 4
POLL_SECONDS = 0.5
SWEEP_SECONDS = 10.0  # how often the ticker looks for what a dead worker kept and never answered
OUTWARD_AUTHORS = ("bot", "agent")
# To the customer, when the desk failed on our side (the web API says the same).
FALLBACK_REPLY = "Something went wrong on our side; please try again in a moment."


class ChatCore:
    """One chat channel's customers, outbox, relay and workers; `start()` its threads, `close()` them."""

    def __init__(
        self, desk: Desk, platform: ChatPlatform, sender: Sender, *,
        workers: int = WORKERS, senders: int = SENDERS, poll_seconds: float = POLL_SECONDS, clock: Callable[[], datetime] = utc_now,
        sweep_seconds: float = SWEEP_SECONDS,
    ) -> None:
        self.desk = desk
        self.platform = platform
        self.name = platform.name
        store = desk.store
        self.outbox = open_outbox(store, clock)  # the outbox's due times and the drainer's follow `clock`
        self.seen = open_seen_keys(store)
        self.drainer = Drainer(self.outbox, {self.name: sender}, workers=senders, clock=clock)
        self.relay = Relay(store, open_relay_cursors(store), self.name, self.deliver)
        self.ticker = Ticker([self.relay.poll_once, self._sweep], every=poll_seconds, name=f"{self.name}-ticker")
        self._work = SerialPerKey(workers, f"{self.name}-work")
        self.sweep_seconds = sweep_seconds
        self._next_sweep: float | None = None  # monotonic time of the next sweep; None: the first, at start
        self._in_hand: set[str] = set()  # external ids of the messages this process's workers have queued
        self._lock = threading.Lock()
        self._closing = False

    # -- lifecycle --------------------------------------------------------------------------
    def add_job(self, job: Callable[[], int]) -> None:
        """Another job for the ticker (before `start`): it reports how much it did, 0 when nothing."""
        self.ticker.jobs.append(job)

    def start(self) -> None:
        """Start the outbox workers and the ticker, which relays and sweeps for orphans (the first sweep at once)."""
        self.relay.cursors.relay_cursor(self.name)  # relay from now on, not the history
        self.drainer.start()
        self.ticker.start()

    def answer_orphans(self, within: timedelta | None = None) -> int:
        """Queue, each on its customer's worker, the messages a worker stored and acknowledged but died
        before answering (in the desk's ORPHAN_WINDOW unless `within`), except those this process has
        in hand; how many. Any number of workers may sweep at once: the desk answers a message once."""
        queued = 0
        for orphan in orphans(self.desk, self.name, within):
            with self._lock:
                fresh = tuple(m for m in orphan.messages if m.external_id not in self._in_hand)
                self._in_hand.update(m.external_id for m in fresh if m.external_id)
            if fresh:
                self.submit(orphan.conversation.external_user, lambda c=orphan.conversation, ms=fresh: self._answer_orphans(c, ms))
                queued += len(fresh)
        if queued:
            log.warning("answering %d %s message(s) a stopped worker had stored but not answered", queued, self.name)
        return queued

    def _sweep(self) -> int:
        """The ticker's job: `answer_orphans` every `sweep_seconds`, looking back the whole window the first time."""
        now = time.monotonic()
        if self._closing or (self._next_sweep is not None and now < self._next_sweep):
            return 0
        first = self._next_sweep is None
        self._next_sweep = now + self.sweep_seconds
        return self.answer_orphans(None if first else ORPHAN_RECENT)

    def _answer_orphans(self, conversation: Conversation, messages: Sequence[Message]) -> None:
        try:
            for message in messages:  # a redelivery to the desk: answered unless answered meanwhile
                turn = self.desk.receive(conversation.id, message.text, external_id=message.external_id)
                self.deliver(turn.conversation, turn.replies)
        except Exception:  # the next sweep tries again: the message stays stored and unanswered
            log.exception("%s: answering a stopped worker's messages in conversation %s failed", self.name, conversation.id)
        finally:
            with self._lock:
                self._in_hand.difference_update(m.external_id for m in messages if m.external_id)

    def close(self) -> None:
        """Finish the work under way, stop the threads; undelivered rows wait in the outbox."""
        self._closing = True  # no sweep queues work while the workers stop
        self._work.shutdown()
        self.ticker.stop()
        self.drainer.stop()

    def wait_idle(self, timeout: float = 15.0, quiet: Callable[[], bool] = lambda: True, *, sent: bool = True) -> bool:
        """Wait until `quiet()` (nothing left in the platform's hands), no work is under way, nothing
        new is to relay or show, and the outbox is empty (tests, bench); with `sent=False`, until
        nothing in it is due or being sent (what is left waits for its retry time)."""
        left = self.outbox.pending if sent else self.outbox.busy
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (
                quiet() and self._work.pending == 0 and self.ticker.run_once() == 0
                and self._work.pending == 0 and left(self.name) == 0
            ):
                return True
            time.sleep(0.02)
        return False

    # -- in ---------------------------------------------------------------------------------
    def keep(self, inbound: Inbound) -> None:
        """Store a customer's question before the platform is acknowledged: `receive` answers it (as a
        redelivery) after, or a restarted worker does; raises StorageError when it cannot be stored."""
        if inbound.command is None and inbound.kind is None and inbound.text:
            conversation = self.desk.open(self.name, inbound.customer, inbound.lang_hint)
            self.desk.keep(conversation.id, inbound.text, inbound.external_id)

    def queue(self, inbound: Inbound) -> None:
        """`receive` it on its customer's worker, after the messages they sent before (the sweep leaves it alone meanwhile)."""
        with self._lock:
            self._in_hand.add(inbound.external_id)

        def job() -> None:
            try:
                self.receive(inbound)
            finally:
                with self._lock:
                    self._in_hand.discard(inbound.external_id)

        self.submit(inbound.customer, job)

    def queue_press(self, press: Press) -> None:
        """`press` it on its presser's worker, in order with their messages."""
        self.submit(press.customer, lambda: self.press(press))

    def submit(self, key: str, job: Callable[[], None]) -> None:
        """Run `job` on the workers, after the jobs submitted before under the same key."""
        self._work.submit(key, job)

    def receive(self, inbound: Inbound) -> None:
        """A message or command: to the desk, and its replies back to the customer."""
        conversation: Conversation | None = None
        try:
            conversation = self.desk.open(self.name, inbound.customer, inbound.lang_hint)
            turn = self._turn(conversation, inbound)
        except Exception:  # the channel's one broad catch: log the conversation and tell the customer
            log.exception("%s message %s (conversation %s) failed", self.name, inbound.external_id, conversation.id if conversation else None)
            self._say(inbound, FALLBACK_REPLY, "fallback")
            return
        # A redelivered message is a duplicate turn: enqueueing its replies again sends nothing twice,
        # and sends them if the first delivery stopped before it got to them.
        if turn is not None:
            self.deliver(turn.conversation, turn.replies)

    def _turn(self, conversation: Conversation, inbound: Inbound) -> Turn | None:
        if inbound.command in ("start", "help"):
            key = "greeting" if inbound.command == "start" else "help"
            self._say(inbound, phrase(key, conversation.lang), key)
            return None
        if inbound.command == "human":
            # Stored as the customer's message, so the agent sees it and a redelivered command counts once.
            added = self.desk.note(conversation.id, f"/{inbound.command}", external_id=inbound.external_id)
            return None if added.duplicate else self.desk.ask_for_person(conversation.id)
        if inbound.kind is not None:
            # Kept in the transcript for the agent; not given to the engine, which reads text only.
            added = self.desk.note(conversation.id, f"[{inbound.kind}] {inbound.text}".strip(), external_id=inbound.external_id)
            if not added.duplicate:
                self._say(inbound, phrase("unsupported_content", conversation.lang, kind=content_name(inbound.kind, conversation.lang)), "unsupported")
            return None
        if not inbound.text:  # a file or an empty mention alone
            self._say(inbound, phrase("empty_message", conversation.lang), "empty")
            return None
        return self.desk.receive(conversation.id, inbound.text, lang_hint=inbound.lang_hint, external_id=inbound.external_id, known=conversation)

    def press(self, press: Press) -> None:
        """A button under a bot message, to the desk: only its customer's press counts, and each set once."""

        # `buttons.press` asks this once, right before it acts: so a stranger's press neither uses up
        # the set nor shows it as used, and the customer's first press does both before the action.
        def counts(external_user: str) -> bool:
            if not self.platform.is_presser(press, external_user):
                return False
            if not self.seen.first_time(self.name, f"buttons:{press.buttons}"):
                return False  # a redelivery, a double tap, or a tap after the buttons were used
            if press.used is not None:
                self.post(press.used.target, press.used.payload, f"used:{press.buttons}")
            return True

        try:
            turn = buttons.press(self.desk, press.button, self.name, counts)
        except NotAllowed as e:
            log.info("ignored %s button by %s: %s, or pressed before", press.button.kind, press.customer, e)
            return
        except (NotFound, ValueError) as e:
            log.warning("%s button in conversation %s: %s", press.button.kind, press.button.conversation_id, e)
            return
        self.deliver(turn.conversation, turn.replies)

    # -- out --------------------------------------------------------------------------------
    def deliver(self, conversation: Conversation, said: Sequence[Message]) -> None:
        """Enqueue the bot's and agents' messages for the customer, each once."""
        outward = [m for m in said if m.author in OUTWARD_AUTHORS]
        if not outward:
            return
        store = self.desk.store
        history = store.list_messages(conversation.id)
        for message in outward:
            rendering = Said(conversation, message, self.desk.agent_name(message.agent, conversation.lang), self.desk.article_link(conversation, message), question_answered(history, message))
            for call in self.platform.render(rendering):
                key = f"msg:{message.id}" if call.piece is None else f"msg:{message.id}:{call.piece}"
                self.post(call.target, call.payload, key)

    def post(self, target: str, payload: Mapping[str, Any], key: str) -> None:
        """Enqueue one call for the outbox workers; nothing when `key` was enqueued before."""
        if not self.outbox.enqueue(self.name, target, payload, key).duplicate:
            self.drainer.wake()

    def _say(self, inbound: Inbound, text: str, why: str) -> None:
        call = self.platform.line(inbound.reply_to, text)
        self.post(call.target, call.payload, f"{why}:{inbound.external_id}")


def content_name(kind: str, lang: str) -> str:
    """The name of a kind of content in the customer's language (phrase content_<kind>), else the English word."""
    try:
        return phrase(f"content_{kind}", lang)
    except KeyError:
        return kind
