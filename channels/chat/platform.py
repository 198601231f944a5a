"""What a chat platform plugs into the chat core: its payloads, typed, and the `ChatPlatform` it implements.

A platform's parser turns what the platform posts into an `Inbound` (a customer's message) or a
`Press` (a button pressed under a bot message); its renderer turns a stored bot or agent message
(`Said`) into the calls the platform takes (`Outgoing`, one outbox row each); its sender, the
outbox's `Sender`, makes those calls. Everything between (keeping, ordering, the desk, the
outbox, the relay) is the core's (channels/chat/core.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.answer.articles import ArticleLink
from bot.desk.buttons import Button
from bot.store.model import Conversation, Message


@dataclass(frozen=True)
class ReplyTo:
    """Where the channel's own lines about a message go: the chat, and the message to answer in a
    thread or as a reply (None: just the chat)."""

    chat: str
    message: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """One call to the platform: an outbox row's target (the chat, whose rows go out in order) and payload."""

    target: str
    payload: Mapping[str, Any]
    piece: int | None = None  # a message sent in pieces: which one (its outbox key is "msg:<id>:<piece>")


@dataclass(frozen=True)
class Inbound:
    """A customer's message as the core takes it from any chat platform."""

    customer: str  # the conversation's external user: one conversation per customer per place
    text: str
    external_id: str  # the platform's id of the message: the same when the platform sends it again
    lang_hint: str | None
    reply_to: ReplyTo
    command: str | None = None  # "start" greets, "help" helps, "human" asks for a person
    kind: str | None = None  # content the bot cannot read ("sticker", "photo"): kept for the agent


@dataclass(frozen=True)
class Press:
    """A button pressed under a bot message."""

    button: Button
    customer: str  # the presser, as a conversation's external user names them (their messages' order key)
    buttons: str  # the message carrying the buttons, as the platform names it: each set counts once
    label: str  # the pressed button's text
    used: Outgoing | None = None  # the call that shows the buttons as used, made when the press counts


@dataclass(frozen=True)
class Said:
    """A stored bot or agent message for a customer, with what rendering it needs."""

    conversation: Conversation
    message: Message
    agent_name: str | None
    link: ArticleLink | None  # the full article under an answer
    question: Message | None  # the customer's message it answers (its external id names it on the platform)


class ChatPlatform(Protocol):
    """A chat platform as the core needs it: its name and its renderer."""

    name: str  # the channel's name in the store and the outbox ("slack")

    def render(self, said: Said) -> Sequence[Outgoing]:
        """The calls that show `said` to its customer."""
        ...

    def line(self, to: ReplyTo, text: str) -> Outgoing:
        """The call for one of the channel's own short lines (a greeting, a fallback)."""
        ...

    def is_presser(self, press: Press, external_user: str) -> bool:
        """Whether the customer of a conversation (its external user) is the one who pressed."""
        ...
