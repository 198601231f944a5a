"""Telegram customers as the chat core sees them (channels/chat): a stored message as sendMessage calls to their chat.

A long message goes out in pieces of at most 4,096 characters, one outbox row each
("msg:<message id>:<piece>"); in a group, replies answer the customer's question as Telegram
replies, so two people in one group can tell their answers apart.
"""

from __future__ import annotations

from channels.chat.platform import Outgoing, Press, ReplyTo, Said
from channels.telegram import render
from channels.telegram.inbound import chat_of

CHANNEL = "telegram"


class TelegramCustomers:
    """The `channels.chat.platform.ChatPlatform` of Telegram."""

    name = CHANNEL

    def render(self, said: Said) -> list[Outgoing]:
        external_user = said.conversation.external_user
        chat = chat_of(external_user)
        reply_to = question_id(said) if ":" in external_user else None  # a group: one person in it
        calls = render.customer_messages(said.conversation, said.message, said.agent_name, said.link)
        return [
            Outgoing(str(chat), {"method": "sendMessage", "args": args}, piece)
            for piece, args in enumerate(render.with_chat(calls, chat, reply_to))
        ]

    def line(self, to: ReplyTo, text: str) -> Outgoing:
        [args] = render.with_chat([render.plain(text)], to.chat, int(to.message) if to.message else None)
        return Outgoing(to.chat, {"method": "sendMessage", "args": args})

    def is_presser(self, press: Press, external_user: str) -> bool:
        return external_user == press.customer


def question_id(said: Said) -> int | None:
    """The Telegram message id of the customer's question (its external id is "<chat id>:<message id>")."""
    tail = said.question.external_id.rsplit(":", 1)[-1] if said.question and said.question.external_id else ""
    return int(tail) if tail.isdigit() else None
