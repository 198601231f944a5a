"""Slack payloads in: events and button clicks as dataclasses, the chat core's `Inbound` and `Press`, and who the customer is.

A customer is one conversation per user per place: in a DM `"<team>:<dm channel>:<user>"`,
in a channel `"<team>:<channel>:<thread ts>:<user>"` (the thread of the mention, so each
top-level mention starts its own thread and conversation). A message's external id is
`"<team>:<channel>:<ts>"`: Slack's id of the message itself, the same in a retried delivery
and in the `message` and `app_mention` events of one message, so neither answers twice.

Strings are taken with lone surrogates (JSON "\\ud800", which no UTF-8 can carry) replaced by
U+FFFD, and a field of the wrong shape reads as missing: a signed payload is Slack's, which
would only send it again, so it is read as well as it can be rather than refused.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any, Mapping

from slack_sdk.signature import SignatureVerifier

from bot.desk.buttons import Button, ButtonKind
from bot.untrusted import SURROGATE
from channels.chat.platform import Inbound, Outgoing, Press, ReplyTo
from channels.slack import render

ACCEPTED_SUBTYPES = (None, "file_share", "thread_broadcast")  # people writing; not edits, joins or bots
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<(?:mailto:)?([^>|]+)(?:\|([^>]*))?>")
MAX_DEPTH = 100  # JSON nesting a payload may have; Block Kit's stays far below
_UNIX_TIME = re.compile(r"[0-9]{1,12}")
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


def signature_problem(body: str, headers: Mapping[str, str], verifier: SignatureVerifier) -> str | None:
    """Why a request is not Slack's (headers missing, a timestamp that is no Unix time, stale, or a bad
    signature); None when it is signed and fresh."""
    stamp, signature = headers.get("X-Slack-Request-Timestamp"), headers.get("X-Slack-Signature")
    if not stamp or not signature:
        return "no X-Slack-Request-Timestamp or X-Slack-Signature header"
    if not _UNIX_TIME.fullmatch(stamp):
        return f"X-Slack-Request-Timestamp {stamp[:40]!r} is not a Unix time"
    if not verifier.is_valid(body, stamp, signature):
        return "bad signature or stale timestamp"
    return None


def _text(value: Any) -> str:
    """A payload value as a string that UTF-8 can carry."""
    return SURROGATE.sub("\ufffd", str(value))


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


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
        team=_text(team), channel=_text(channel), user=_text(user), ts=_text(ts),
        thread_ts=_text(thread_ts) if thread_ts and thread_ts != ts else None,
        text=plain_text(_text(event.get("text") or ""), bot_user_id),
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
    actions = body.get("actions")
    container, message = _object(body.get("container")), _object(body.get("message"))
    channel = _object(body.get("channel")).get("id") or container.get("channel_id")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], Mapping) or not channel or not message.get("ts"):
        return None
    action, user = actions[0], _object(body.get("user"))
    blocks = message.get("blocks")
    return Click(
        team=_text(_object(body.get("team")).get("id") or user.get("team_id") or ""),
        user=_text(user.get("id") or ""),
        action_id=_text(action.get("action_id") or ""),
        value=_text(action.get("value") or ""),
        label=_text(_object(action.get("text")).get("text") or ""),
        text=_text(message.get("text") or ""),
        channel=_text(channel),
        message_ts=_text(message["ts"]),
        thread_ts=_text(message["thread_ts"]) if message.get("thread_ts") else None,
        blocks=tuple(b for b in blocks if isinstance(b, Mapping)) if isinstance(blocks, list) else (),
        action_ts=_text(action.get("action_ts") or ""),
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
