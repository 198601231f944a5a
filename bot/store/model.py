"""The conversation store: the one place channels, the engine and the agent console keep state.

`Store` is the contract; `bot.store.sql.SQLStore` implements it on SQLite (the default) and PostgreSQL.
Every write is committed before the method returns, so a message stored before the reply is
computed survives a crash. Timestamps are timezone-aware UTC datetimes. A store that cannot
be read or written raises `bot.errors.StorageError`; a bad argument raises `ValueError`.

States of a conversation:

    bot ──handoff──> waiting ──an agent takes it──> agent ──> closed
     ^                  │                             │
     └──────back to bot─┴─────────────────────────────┘

`transition()` is the only way to change the state, and it is a compare-and-set: it succeeds
only if the current state is one the caller expected, so two agents cannot both take one
conversation.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Literal, Protocol

from bot.actions import Action


State = Literal["bot", "waiting", "missed", "agent", "closed"]
STATES: tuple[State, ...] = ("bot", "waiting", "missed", "agent", "closed")
OPEN_STATES: tuple[State, ...] = ("bot", "waiting", "missed", "agent")
# The bot answers in these; "missed" is also in the agents' queue (nobody was there to take it).
BOT_STATES: tuple[State, ...] = ("bot", "missed")
QUEUE_STATES: tuple[State, ...] = ("waiting", "missed")

Author = Literal["customer", "bot", "agent", "system"]
AUTHORS: tuple[Author, ...] = ("customer", "bot", "agent", "system")

TicketStatus = Literal["open", "answered", "closed"]
TICKET_STATUSES: tuple[TicketStatus, ...] = ("open", "answered", "closed")


class Keep(Enum):
    """Marker for "leave this field as it is" in `update_conversation`."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True)
class Choice:
    """One option the bot offered: an article and the title shown for it."""

    article_id: str
    title: str


@dataclass(frozen=True)
class Conversation:
    id: str  # uuid4 hex
    channel: str  # "web", "slack", "telegram", ...
    external_user: str  # the channel's user id (Telegram chat id, web visitor id)
    lang: str  # ISO 639-1, follows the customer
    state: State
    agent: str | None  # the agent handling it; kept after closing, for reports
    topic: str | None  # article id of the bot's last candidate, for routing
    created_at: datetime
    updated_at: datetime  # last change or message
    waiting_since: datetime | None  # set while waiting or missed: when it joined the agents' queue
    email: str | None
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Message:
    id: int  # increasing: the order messages were stored in
    conversation_id: str
    author: Author
    text: str
    created_at: datetime
    lang: str | None = None
    action: Action | None = None  # what the message is: bot.actions.Action (customer messages: None, or a note)
    article_id: str | None = None
    decision: Mapping[str, Any] | None = None  # bot messages: the decision and its evidence
    choices: tuple[Choice, ...] = ()
    external_id: str | None = None  # the channel's message id, unique within the channel
    agent: str | None = None  # agent messages: who wrote it


@dataclass(frozen=True)
class AddedMessage:
    """What `add_message` stored, or the earlier copy when the channel delivered it twice."""

    message: Message
    duplicate: bool


@dataclass(frozen=True)
class Feedback:
    id: int
    conversation_id: str
    message_id: int | None  # the bot answer rated; None for an end-of-conversation rating
    helpful: bool | None  # "Did this answer your question?"
    csat: int | None  # 1..5, the end-of-conversation rating
    created_at: datetime


@dataclass(frozen=True)
class Ticket:
    id: int
    conversation_id: str
    email: str
    lang: str
    status: TicketStatus
    created_at: datetime
    answered_at: datetime | None = None
    answer: str | None = None


@dataclass(frozen=True)
class Agent:
    id: str  # uuid4 hex
    name: str
    email: str  # stored lower-case; unique
    password_hash: str
    languages: tuple[str, ...]
    created_at: datetime
    seen_at: datetime | None = None  # last activity in the console or an agents' chat channel
    removed_at: datetime | None = None  # removed agents keep their row: messages name them
    # Signed into a console session at sign-in; a session of an older generation is refused
    # (signing out, a new password and removal add one: bot/store/sql_agents.py).
    session_generation: int = 0


class Store(Protocol):
    """Conversations, their messages, feedback, tickets and agents."""

    # Conversations
    def atomic(self) -> AbstractContextManager[None]:
        """This thread's writes inside the block as one transaction: committed together at its
        end (one commit), or none of them if it raises. Reads inside see its writes."""
        ...

    def create_conversation(
        self, channel: str, external_user: str, lang: str, *, email: str | None = None, meta: Mapping[str, Any] | None = None
    ) -> Conversation:
        """Start a conversation in state "bot"; StorageError if the user already has an open one."""
        ...

    def find_or_create_conversation(self, channel: str, external_user: str, lang: str) -> Conversation:
        """The user's open conversation on this channel, created atomically if there is none."""
        ...

    def get_conversation(self, conversation_id: str) -> Conversation | None:
        """One conversation, or None."""
        ...

    def changed_at(self, conversation_ids: Collection[str]) -> dict[str, Any]:
        """id → a value that changes whenever the conversation does (a message, a state): live streams
        poll this for all their conversations at once. Missing ids are left out."""
        ...

    def find_open_conversation(self, channel: str, external_user: str) -> Conversation | None:
        """The user's conversation on this channel that is not closed, or None."""
        ...

    def update_conversation(
        self,
        conversation_id: str,
        *,
        lang: str | Keep = KEEP,
        topic: str | None | Keep = KEEP,
        email: str | None | Keep = KEEP,
        meta: Mapping[str, Any] | Keep = KEEP,
    ) -> Conversation:
        """Set the given fields (meta is replaced whole) and return the conversation."""
        ...

    def transition(
        self, conversation_id: str, from_states: Collection[State], to_state: State, agent: str | None = None
    ) -> bool:
        """Move to `to_state` only if the state is in `from_states`; False if it was not (or no such id).

        `agent` is required for, and only for, to_state="agent". Entering "waiting" or
        "missed" sets waiting_since (moving between the two keeps it: the place in the queue);
        leaving both clears it. Going back to "bot", "waiting" or "missed" clears the agent.
        """
        ...

    def waiting_queue(
        self, languages: Collection[str], limit: int | None = None, states: Collection[State] = ("waiting",)
    ) -> list[Conversation]:
        """Conversations in the queue `states`: those in `languages` first, then the rest; oldest waiting first."""
        ...

    def list_conversations(
        self,
        *,
        channel: str | None = None,
        state: State | None = None,
        agent: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Conversation]:
        """Conversations created in [since, until), oldest first, for reports and the console;
        `agent`: only those that agent has."""
        ...

    # Messages
    def add_message(
        self,
        conversation_id: str,
        author: Author,
        text: str,
        *,
        lang: str | None = None,
        action: Action | None = None,
        article_id: str | None = None,
        decision: Mapping[str, Any] | None = None,
        choices: Sequence[Choice] = (),
        external_id: str | None = None,
        agent: str | None = None,
    ) -> AddedMessage:
        """Store a message, or return the earlier one if `external_id` was seen on this channel.

        `external_id` must be unique across the whole channel, not just one chat: Telegram's
        message_id restarts in every chat, so pass the update_id or f"{chat_id}:{message_id}";
        Slack's event_id or client_msg_id is unique already.
        """
        ...

    def list_messages(self, conversation_id: str, after_id: int | None = None) -> list[Message]:
        """A conversation's messages in order; only those after `after_id` when given (live updates)."""
        ...

    def find_message(self, channel: str, external_id: str) -> Message | None:
        """The message stored with this channel's `external_id`, or None."""
        ...

    def recent_messages(self, conversation_id: str, limit: int) -> list[Message]:
        """A conversation's last `limit` messages, in order (its cost does not grow with the conversation)."""
        ...

    def recent_customer_texts(self, limit: int) -> list[tuple[str, str]]:
        """The customer messages the last `limit` bot replies answered, as (the language read in it, text), newest first."""
        ...

    def list_messages_since(self, since: datetime, until: datetime | None = None) -> list[Message]:
        """Every message created in [since, until), in order, for reports."""
        ...

    # Feedback
    def add_feedback(
        self,
        conversation_id: str,
        *,
        message_id: int | None = None,
        helpful: bool | None = None,
        csat: int | None = None,
    ) -> Feedback:
        """Record either a yes/no on a bot message (`message_id` + `helpful`) or a 1..5 `csat`."""
        ...

    def list_feedback(
        self, *, conversation_id: str | None = None, since: datetime | None = None, until: datetime | None = None
    ) -> list[Feedback]:
        """Feedback of one conversation or created in [since, until), oldest first."""
        ...

    # Tickets
    def create_ticket(self, conversation_id: str, email: str, lang: str) -> Ticket:
        """Open a ticket the team answers by e-mail."""
        ...

    def get_ticket(self, ticket_id: int) -> Ticket | None:
        """One ticket, or None."""
        ...

    def list_tickets(
        self, *, status: TicketStatus | None = None, since: datetime | None = None, until: datetime | None = None
    ) -> list[Ticket]:
        """Tickets with this status and/or created in [since, until), oldest first."""
        ...

    def answer_ticket(self, ticket_id: int, answer: str) -> Ticket:
        """Record the team's answer: status "answered", answered_at now."""
        ...

    def close_ticket(self, ticket_id: int) -> Ticket:
        """Set status "closed"."""
        ...

    # Agents
    def add_agent(self, name: str, email: str, password_hash: str, languages: Sequence[str]) -> Agent:
        """Create an agent; StorageError if the e-mail address is taken."""
        ...

    def get_agent(self, agent_id: str) -> Agent | None:
        """One agent by id, or None."""
        ...

    def get_agent_by_email(self, email: str) -> Agent | None:
        """One agent by e-mail address (any case), or None."""
        ...

    def list_agents(self, removed: bool = False) -> list[Agent]:
        """Every agent account, by e-mail address; removed ones too when `removed`."""
        ...

    def update_agent(
        self, agent_id: str, *, password_hash: str | None = None, languages: Sequence[str] | None = None, end_sessions: bool = False
    ) -> Agent | None:
        """Change an agent's password hash and/or languages (`end_sessions`: and end every console
        session of theirs); the agent as stored now, None if there is none."""
        ...

    def end_sessions(self, agent_id: str) -> Agent | None:
        """End every console session of the agent (session_generation + 1); None if there is none."""
        ...

    def touch_agent(self, agent_id: str, seen: datetime | None, every: float = 30.0) -> None:
        """Record the agent's latest activity (None: signed out); a write at most every `every` seconds."""
        ...

    def present_agents(self, since: datetime) -> list[Agent]:
        """Agents (not removed) active since `since`, most recent first."""
        ...

    def remove_agent(self, agent_id: str) -> Agent | None:
        """Mark an agent removed (the row stays: messages and reports name it); None if there is none."""
        ...

    def restore_agent(self, agent_id: str, name: str, password_hash: str, languages: Sequence[str]) -> Agent | None:
        """Bring a removed agent back with a new name, password and languages."""
        ...

    def health(self) -> str | None:
        """None when the store can be written now, else why not (probed at most every few seconds)."""
        ...

    def close(self) -> None:
        """Release connections; the store cannot be used afterwards."""
        ...


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)
