"""Slack customers as the chat core sees them (channels/chat): a stored message as a chat.postMessage in its thread.

A DM's replies go in the thread of the question they answer (its external id ends in its ts); a
mention's conversation lives in the mention's thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from channels.chat.platform import Outgoing, Press, ReplyTo, Said
from channels.slack import render
from channels.slack.inbound import address_of

CHANNEL = "slack"
Post = Callable[[str, Mapping[str, Any], str], None]  # (target, payload, dedup key)


class SlackCustomers:
    """The `channels.chat.platform.ChatPlatform` of Slack."""

    name = CHANNEL

    def render(self, said: Said) -> list[Outgoing]:
        address = address_of(said.conversation.external_user)
        question = said.question.external_id if said.question and said.question.external_id else None
        thread = address.thread_ts or (question.rsplit(":", 1)[-1] if question else None)
        text, blocks = render.customer_message(said.conversation, said.message, said.agent_name, said.link)
        args: dict[str, Any] = {"channel": address.channel, "text": text, "blocks": blocks, "unfurl_links": False}
        if thread:
            args["thread_ts"] = thread
        return [Outgoing(address.channel, {"method": "chat.postMessage", "args": args})]

    def line(self, to: ReplyTo, text: str) -> Outgoing:
        return Outgoing(to.chat, {"method": "chat.postMessage", "args": {"channel": to.chat, "text": text, "thread_ts": to.message}})

    def is_presser(self, press: Press, external_user: str) -> bool:
        return address_of(external_user).user == address_of(press.customer).user
