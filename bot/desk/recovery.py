"""What a dead worker left: chat messages stored before the platform's ack and never answered.

A chat channel keeps a customer's message before it acknowledges it (`ChatCore.keep`) and answers
it after; a worker killed in between leaves it stored and unanswered. Every chat core looks for
such *orphans* when it starts and every few seconds after (channels/chat/core.py), and answers
each with `Desk.receive` and the same external id, as a redelivery.

Several workers sweep at once, and the worker that kept a message may still be answering it, so
answering must be a compare-and-set: the first reply to a customer message is stored under the
external id `answer:<the message's external id>` (`reply_claim`). The store's unique
(channel, external_id) lets one insert of it win; the loser drops what it computed and shows the
winner's replies. Nothing is claimed before the answer exists, so a worker killed while
computing blocks nobody: the next sweep answers the message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.actions import Action
from bot.store.model import BOT_STATES, Conversation, Message, Store


@dataclass(frozen=True)
class Orphan:
    """A conversation's customer messages, in order, that were kept and never answered."""

    conversation: Conversation
    messages: tuple[Message, ...]


def reply_claim(message: Message) -> str | None:
    """The external id the first reply to `message` is stored under: one reply per customer message."""
    return f"answer:{message.external_id}" if message.external_id else None


def find_orphans(store: Store, channel: str, now: datetime, within: timedelta, quiet_for: timedelta) -> list[Orphan]:
    """The customer messages of `channel` stored in the last `within`, older than `quiet_for` (a younger
    one may still be in its worker's hands), that the bot should have answered and has not."""
    recent: dict[str, list[Message]] = {}
    for message in store.list_messages_since(now - within):
        recent.setdefault(message.conversation_id, []).append(message)
    found = []
    for conversation_id, messages in recent.items():
        waiting = [m for m in unanswered(messages) if now - m.created_at >= quiet_for]
        if not waiting:
            continue
        conversation = store.get_conversation(conversation_id)
        if conversation is not None and conversation.channel == channel and conversation.state in BOT_STATES:
            found.append(Orphan(conversation, tuple(waiting)))
    return found


def unanswered(messages: Sequence[Message]) -> list[Message]:
    """The customer's messages since anything but the bot's replies to them (an agent's message, a
    notice such as "back to bot") that have no reply marked as answering them. Replies to two quick
    messages may come after both, so a reply to a later message does not answer an earlier one."""
    tail: list[Message] = []
    for message in reversed(messages):
        if message.author != "customer" and not (message.author == "bot" and "answers" in (message.decision or {})):
            break
        tail.append(message)
    answered = {(m.decision or {}).get("answers") for m in tail if m.author == "bot"}
    return [
        m for m in reversed(tail)
        if m.author == "customer" and m.action != Action.NOTE and m.external_id is not None and m.id not in answered
    ]
