"""Slack payloads in: events and button clicks as dataclasses, the chat core's `Inbound` and `Press`, and who the customer is.

A customer is one conversation per user per place: in a DM `"<team>:<dm channel>:<user>"`,
in a channel `"<team>:<channel>:<thread ts>:<user>"` (the thread of the mention, so each
top-level mention starts its own thread and conversation). A message's external id is
`"<team>:<channel>:<ts>"`: Slack's id of the message itself, the same in a retried delivery
and in the `message` and `app_mention` events of one message, so neither answers twice.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any, Mapping

from bot.desk.buttons import Button, ButtonKind
from channels.chat.platform import Inbound, Outgoing, Press, ReplyTo
from channels.slack import render

ACCEPTED_SUBTYPES = (None, "file_share", "thread_broadcast")  # people writing; not edits, joins or bots
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<(?:mailto:)?([^>|]+)(?:\|([^>]*))?>")
_KINDS = {render.CHOOSE: ButtonKind.CHOOSE, render.NONE_OF_THESE: ButtonKind.PERSON, render.HELPFUL: ButtonKind.HELPFUL, render.CSAT: ButtonKind.CSAT}


@dataclass(frozen=True)
class SlackMessage:
    """A person's message, from a `message` or `app_mention` event."""

    team: str
    channel: str
    user: str
    ts: str
    thread_ts: str | None
    text: str  # plain: the bot's mention removed, Slack's escaping undone
    channel_type: str | None  # "im" for a DM
    has_files: bool = False

    @property
    def external_id(self) -> str:
        return f"{self.team}:{self.channel}:{self.ts}"

    @property
    def is_dm(self) -> bool:
        return self.channel_type == "im" or self.channel.startswith("D")

    def customer(self) -> str:
        """The conversation's external user (see the module docstring)."""
        if self.is_dm:
            return f"{self.team}:{self.channel}:{self.user}"
        return f"{self.team}:{self.channel}:{self.thread_ts or self.ts}:{self.user}"

    def inbound(self, lang_hint: str | None = None) -> Inbound:
        """The message as the chat core takes it; the channel's own lines go in its thread."""
        return Inbound(self.customer(), self.text, self.external_id, lang_hint, ReplyTo(self.channel, self.thread_ts or self.ts))


@dataclass(frozen=True)
class Address:
    """Where a Slack customer's conversation lives."""

    team: str
    channel: str
    user: str
    thread_ts: str | None  # the channel thread; None in a DM, where each question has its own thread


@dataclass(frozen=True)
class Click:
    """One button pressed in a message (a `block_actions` interaction)."""

    team: str
    user: str
    action_id: str
    value: str
    label: str  # the button's text
    text: str  # the message's fallback text
    channel: str
    message_ts: str
    thread_ts: str | None
    blocks: tuple[Mapping[str, Any], ...]  # the message's blocks, to replace the buttons once used
    action_ts: str

    def customer(self) -> str:
        """The presser as a conversation names them: in a DM, or in the channel thread the buttons are in."""
        if self.channel.startswith("D"):
            return f"{self.team}:{self.channel}:{self.user}"
        return f"{self.team}:{self.channel}:{self.thread_ts or self.message_ts}:{self.user}"


def message_of(body: Mapping[str, Any], event: Mapping[str, Any], bot_user_id: str | None) -> SlackMessage | None:
    """The person's message in an event; None for bots (this one or others), edits, joins and the like."""
    if event.get("bot_id") or event.get("subtype") not in ACCEPTED_SUBTYPES or event.get("hidden"):
        return None
    user, channel, ts = event.get("user"), event.get("channel"), event.get("ts")
    if not user or not channel or not ts or (bot_user_id and user == bot_user_id):
        return None
    team = event.get("team") or body.get("team_id") or ""
    thread_ts = event.get("thread_ts")
    return SlackMessage(
        team=str(team), channel=str(channel), user=str(user), ts=str(ts),
        thread_ts=str(thread_ts) if thread_ts and thread_ts != ts else None,
        text=plain_text(str(event.get("text") or ""), bot_user_id),
        channel_type=event.get("channel_type"), has_files=bool(event.get("files")),
    )


def plain_text(text: str, bot_user_id: str | None = None) -> str:
    """Slack's markup as a person reads it: the bot's mention gone, links as their label, &amp; as &."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    text = _MENTION.sub(lambda m: "@" + m.group(1), text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    return " ".join(html.unescape(text).split())


def address_of(external_user: str) -> Address:
    """The address of a Slack conversation from its external user (see `SlackMessage.customer`)."""
    parts = external_user.split(":")
    if len(parts) == 3:
        return Address(parts[0], parts[1], parts[2], None)
    if len(parts) == 4:
        return Address(parts[0], parts[1], parts[3], parts[2])
    raise ValueError(f"{external_user!r} is not a Slack customer (team:channel[:thread]:user)")


def click_of(body: Mapping[str, Any]) -> Click | None:
    """The button pressed in a `block_actions` payload, or None when it is not a button in a message."""
    actions = body.get("actions") or []
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    if not actions or not channel or not message.get("ts"):
        return None
    action = actions[0]
    return Click(
        team=str((body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id") or ""),
        user=str((body.get("user") or {}).get("id") or ""),
        action_id=str(action.get("action_id") or ""),
        value=str(action.get("value") or ""),
        label=str((action.get("text") or {}).get("text") or ""),
        text=str(message.get("text") or ""),
        channel=str(channel),
        message_ts=str(message["ts"]),
        thread_ts=message.get("thread_ts"),
        blocks=tuple(message.get("blocks") or ()),
        action_ts=str(action.get("action_ts") or ""),
    )


def press_of(click: Click) -> Press | None:
    """A customer's button as the chat core takes it; None for a button this bot never made. Values:
    "<conversation id>|<message id>|<position>" (a choice), "<conversation id>|<message id>|yes" (or no),
    "<conversation id>|<score>" (a rating), "<conversation id>" (none of these: a person)."""
    kind = _KINDS.get(render.kind_of(click.action_id))
    if kind is None or not click.value:
        return None
    parts = click.value.split("|")
    conversation_id, message_id, value = parts[0], None, ""
    if kind in (ButtonKind.CHOOSE, ButtonKind.HELPFUL):
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        message_id, value = int(parts[1]), parts[2]
    elif kind is ButtonKind.CSAT:
        if len(parts) != 2:
            return None
        value = parts[1]
    used = {"channel": click.channel, "ts": click.message_ts, "text": click.text, "blocks": render.used(click.blocks, f"✓ {click.label}")}
    return Press(
        Button(kind, conversation_id, message_id, value), click.customer(), f"{click.channel}:{click.message_ts}", click.label,
        Outgoing(click.channel, {"method": "chat.update", "args": used}),
    )
