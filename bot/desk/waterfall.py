"""The waterfall after a handoff: an available agent, else missed and an e-mail address, else nothing lost.

A handoff goes to the agents' queue as *waiting* only when the team is open and someone is
there to take it: an agent is available while their last activity is more recent than
ANSWERDESK_PRESENCE_SECONDS (a console page or its live queue, which polls; a take, a reply
or a press in the Slack agents' channel). Otherwise the customer is told so at once and the
conversation becomes *missed*: it stays in the queue until an agent closes it, the bot keeps
answering meanwhile, and the bot asks for an e-mail address (a ticket) so the answer can reach
a customer who has left. A waiting conversation that nobody takes within
ANSWERDESK_AGENT_WAIT_SECONDS becomes missed the same way, with one message.

The conversation's meta "missed" records when it was first missed in this episode: the mail
relay (bot/delivery/mail_relay.py) e-mails agent replies of such a conversation to the address
it left. It is cleared when the customer starts a new episode after a close.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.actions import Action
from bot.answer.engine import Engine
from bot.desk.hours import BusinessHours, describe_next_open
from bot.desk.turns import NotFound
from bot.store.model import BOT_STATES, QUEUE_STATES, Agent, Conversation, Message, Store, Ticket

EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
PENDING_EMAIL = "email"
SEEN_EVERY = timedelta(seconds=30)  # presence is written at most this often per agent and process
MISSED = "missed"  # meta key: when the conversation found nobody (ISO time)
# Why a conversation was missed, on the message that says so (decision {"missed": ...}), for the report.
OUTSIDE_HOURS, NOBODY_AVAILABLE, NOT_TAKEN = "outside_hours", "nobody_available", "not_taken"


class Waterfall:
    """Handoffs, presence, missed conversations and tickets; mixed into `Desk`, which provides the rest."""

    engine: Engine
    store: Store
    hours: BusinessHours
    agent_wait: timedelta
    presence: timedelta
    clock: Callable[[], datetime]
    _last_seen: dict[str, datetime]  # when this process last wrote each agent's presence
    _system: Callable[..., Message]
    _get: Callable[[str], Conversation]

    # -- presence ------------------------------------------------------------------
    def seen(self, agent_id: str) -> None:
        """The agent did something (a console page, a Slack action): available for the next while.
        An open console polls every second or so: this process writes at most every SEEN_EVERY."""
        now = self.clock()
        last = self._last_seen.get(agent_id)
        if last is not None and timedelta(0) <= now - last < SEEN_EVERY:
            return
        self._last_seen[agent_id] = now
        self.store.touch_agent(agent_id, now, every=SEEN_EVERY.total_seconds())

    def signed_out(self, agent_id: str) -> None:
        self._last_seen.pop(agent_id, None)
        self.store.touch_agent(agent_id, None)

    def available_agents(self) -> list[Agent]:
        """Agents active within the presence window, most recent first."""
        return self.store.present_agents(self.clock() - self.presence)

    # -- handoffs ------------------------------------------------------------------
    def _hand_off(self, conversation: Conversation) -> list[Message]:
        """Queue for an agent when the team is open and someone is there; otherwise missed, at once."""
        now = self.clock()
        if not self.hours.is_open(now):
            back = describe_next_open(self.hours, now, conversation.lang)
            return [self._system(conversation, Action.OUTSIDE_HOURS, when=back)] + self._miss(conversation, Action.ASK_EMAIL, OUTSIDE_HOURS)
        if self.available_agents() and self.store.transition(conversation.id, BOT_STATES, "waiting"):
            self._clear_pending(self._get(conversation.id))
            return []
        return self._miss(conversation, Action.NO_AGENT_AVAILABLE, NOBODY_AVAILABLE)

    def expire_waiting(self) -> list[str]:
        """Conversations nobody took within `agent_wait` become missed: the customer hears it once."""
        now = self.clock()
        expired = []
        for conversation in self.store.waiting_queue(()):
            if conversation.waiting_since and now - conversation.waiting_since >= self.agent_wait:
                if self.store.transition(conversation.id, ("waiting",), MISSED):
                    self._miss(self._get(conversation.id), Action.NO_AGENT_AVAILABLE, NOT_TAKEN)  # one message: sorry, and leave your e-mail
                    expired.append(conversation.id)
        return expired

    def _miss(self, conversation: Conversation, asking: Action, why: str) -> list[Message]:
        """In the queue as missed; ask for an e-mail address unless the customer left one already.
        The message records `why` (outside hours, nobody available, not taken in time)."""
        self.store.transition(conversation.id, (*BOT_STATES, *QUEUE_STATES), MISSED)
        meta = dict(conversation.meta)
        meta.setdefault(MISSED, self.clock().isoformat())
        if conversation.email:
            meta.pop("pending", None)
            self.store.update_conversation(conversation.id, meta=meta)
            key = Action.NO_AGENT_EMAIL_KNOWN if asking == Action.NO_AGENT_AVAILABLE else Action.REPLY_BY_EMAIL
            return [self._system(conversation, key, decision={MISSED: why}, email=conversation.email)]
        meta["pending"] = PENDING_EMAIL
        self.store.update_conversation(conversation.id, meta=meta)
        return [self._system(conversation, asking, decision={MISSED: why})]

    # -- tickets -------------------------------------------------------------------
    def _take_email(self, conversation: Conversation, text: str) -> tuple[Message, ...]:
        """The customer's address: a ticket with the transcript; the conversation stays in the queue."""
        if not EMAIL.match(text):
            return (self._system(conversation, Action.EMAIL_INVALID),)
        ticket = self.store.create_ticket(conversation.id, text, conversation.lang)
        self.store.update_conversation(conversation.id, email=text)
        self._clear_pending(self._get(conversation.id))
        return (self._system(conversation, Action.TICKET_CREATED, ticket=str(ticket.id), email=text),)

    def answer_ticket(self, ticket_id: int, agent_id: str, text: str) -> Ticket:
        """An agent answers a ticket: the answer joins the conversation as the agent's message, so
        the customer gets it on their channel and, at the ticket's address, by e-mail."""
        ticket = self.store.get_ticket(ticket_id)
        if ticket is None:
            raise NotFound(f"no ticket #{ticket_id}")
        conversation = self._get(ticket.conversation_id)
        meta = dict(conversation.meta)
        meta.setdefault(MISSED, self.clock().isoformat())
        self.store.update_conversation(conversation.id, email=conversation.email or ticket.email, meta=meta)
        answered = self.store.answer_ticket(ticket_id, text)
        self.store.add_message(conversation.id, "agent", text, agent=agent_id, lang=ticket.lang)
        return answered

    def _clear_pending(self, conversation: Conversation) -> None:
        if "pending" in conversation.meta:
            meta = {k: v for k, v in conversation.meta.items() if k != "pending"}
            self.store.update_conversation(conversation.id, meta=meta)
