"""Relaying what the desk says to the customers of a channel that has no open connection to them.

The web widget reads its conversation's messages through its event stream; a Slack or
Telegram customer only sees what the channel posts. Most bot replies are posted right after
the customer's message, but agents join, reply, hand back and close from elsewhere (the
console, a Slack card), and a waiting conversation expires on a timer. The `Relay` follows
every bot and agent message of one channel's conversations past a stored cursor and hands
them to the channel's `deliver`, which enqueues them in the outbox under the key
"msg:<message id>": a message the reply path enqueued already is not sent twice, and one it
never got to (a crash) is sent anyway.

The cursor relies on message ids becoming visible in increasing order: SQLite has one writer,
and PostgreSQL inserts messages under an advisory lock (bot/store/postgres.py, order_ids).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from bot.store.model import Conversation, Message, Store

OUTWARD_AUTHORS = ("bot", "agent")


class RelayCursors(Protocol):
    def relay_cursor(self, channel: str) -> int:
        """The last message id relayed on this channel; starts at the newest message when first asked."""
        ...

    def advance_relay(self, channel: str, after_id: int) -> None:
        """Move the cursor forward (never back)."""
        ...

    def outward_messages(self, channel: str, after_id: int, limit: int) -> list[tuple[str, int]]:
        """(conversation id, message id) of bot and agent messages on the channel past `after_id`, in order."""
        ...


Deliver = Callable[[Conversation, Sequence[Message]], None]


def open_relay_cursors(store: Store) -> RelayCursors:
    """The relay cursors kept in the store's database."""
    from bot.store.db import database_of
    from bot.delivery.sql_delivery import SQLRelayCursors

    return SQLRelayCursors(database_of(store, "relay cursors"))


class Relay:
    """Hands every new bot and agent message of one channel's conversations to `deliver`."""

    def __init__(self, store: Store, cursors: RelayCursors, channel: str, deliver: Deliver, batch: int = 200) -> None:
        self.store = store
        self.cursors = cursors
        self.channel = channel
        self.deliver = deliver
        self.batch = batch

    def poll_once(self) -> int:
        """Deliver what is new; how many messages were handed over."""
        after = self.cursors.relay_cursor(self.channel)
        rows = self.cursors.outward_messages(self.channel, after, self.batch)
        if not rows:
            return 0
        upto = rows[-1][1]
        handed = 0
        for conversation_id in dict.fromkeys(c for c, _ in rows):
            conversation = self.store.get_conversation(conversation_id)
            if conversation is None:
                continue
            messages = [
                m for m in self.store.list_messages(conversation_id, after_id=after) if m.id <= upto and m.author in OUTWARD_AUTHORS
            ]
            if messages:
                self.deliver(conversation, messages)
                handed += len(messages)
        self.cursors.advance_relay(self.channel, upto)
        return handed
