"""A chat channel of the tests' own on the chat core: customers `say` and `press`, and what reaches them is kept in `shown`.

Its parser is `say`/`press`, its renderer `EchoPlatform.render` (a message as JSON: its text and
buttons), its sender appends to a list; the rest (keep, order, desk, outbox, relay) is the core's.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from bot.delivery.outbox import OutboxItem
from bot.desk.buttons import Button, ButtonKind
from bot.desk.desk import Desk
from bot.store.model import Message
from channels.chat.core import ChatCore
from channels.chat.platform import Inbound, Outgoing, Press, ReplyTo, Said

Shown = dict[str, Any]  # {"message_id", "text", "buttons": [[kind, conversation id, message id, value, label], ...]}


class EchoPlatform:
    name = "echo"

    def render(self, said: Said) -> list[Outgoing]:
        text = f"{said.agent_name}: {said.message.text}" if said.agent_name else said.message.text
        if said.link is not None:
            text += f"\nFull article: {said.link.title}"
        shown = {"message_id": said.message.id, "text": text, "buttons": buttons(said.conversation.id, said.message)}
        return [Outgoing(said.conversation.external_user, shown)]

    def line(self, to: ReplyTo, text: str) -> Outgoing:
        return Outgoing(to.chat, {"message_id": None, "text": text, "buttons": []})

    def is_presser(self, press: Press, external_user: str) -> bool:
        return external_user == press.customer


def buttons(conversation_id: str, message: Message) -> list[list[Any]]:
    ref = [conversation_id, message.id]
    if message.action == "answer":
        return [["helpful", *ref, "yes", "Yes"], ["helpful", *ref, "no", "No"]]
    if message.action == "clarify":
        choices = [["choose", *ref, str(n), choice.title] for n, choice in enumerate(message.choices)]
        return choices + [["person", conversation_id, None, "", "None of these"]]
    if message.action == "csat_question":
        return [["csat", conversation_id, None, str(score), str(score)] for score in range(1, 6)]
    return []


class Echo:
    """The echo channel over a desk: `core.start()` and `core.close()` it like any chat channel."""

    def __init__(self, desk: Desk) -> None:
        self.shown: dict[str, list[Shown]] = {}
        self.core = ChatCore(desk, EchoPlatform(), self.send, workers=2, senders=1, poll_seconds=0.05)
        self._ids = itertools.count(1)

    def send(self, item: OutboxItem) -> Mapping[str, Any]:
        self.shown.setdefault(item.target, []).append(dict(item.payload))
        return {"sent": item.id}

    def say(self, customer: str, text: str, lang: str = "en") -> None:
        inbound = Inbound(customer, text, f"{customer}:{next(self._ids)}", lang, ReplyTo(customer))
        self.core.keep(inbound)  # before the platform's "got it"
        self.core.queue(inbound)  # after it

    def press(self, customer: str, shown: Shown, label: str) -> None:
        kind, conversation_id, message_id, value, _ = next(b for b in shown["buttons"] if b[4] == label)
        button = Button(ButtonKind(kind), conversation_id, message_id, value)
        self.core.queue_press(Press(button, customer, f"{customer}:{shown['message_id']}", label))

    def settle(self, customer: str) -> list[Shown]:
        """Everything shown to `customer` so far, once the channel is idle."""
        assert self.core.wait_idle(20), "the echo channel did not settle"
        return list(self.shown.get(customer, []))
