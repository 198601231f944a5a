"""Slack customers: their DMs, mentions and button clicks to the desk; the desk's messages to their thread.

Everything the customer should see goes through `deliver`, which enqueues one outbox row per
stored message under the key "msg:<message id>"; the reply path and the relay
(bot/relay.py) both call it, and the key makes sure Slack gets each message once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.dedup import SeenKeys
from bot.desk import Desk, NotAllowed, NotFound, Turn
from bot.phrases import phrase
from bot.store import Conversation, Message
from channels.slack import messages, render
from channels.slack.inbound import Click, SlackMessage, address_of
from channels.slack.people import People

log = logging.getLogger(__name__)

CHANNEL = "slack"
Post = Callable[[str, Mapping[str, Any], str], None]  # (target, payload, dedup key)


class Customers:
    def __init__(self, desk: Desk, post: Post, people: People, seen: SeenKeys) -> None:
        self.desk = desk
        self.post = post
        self.people = people
        self.seen = seen

    def keep(self, message: SlackMessage) -> None:
        """Store a customer's message before Slack gets its acknowledgement: `receive` answers it
        (as a redelivery) after the ack, or a restarted worker does (`Desk.answer_unanswered`)."""
        conversation = self.desk.open(CHANNEL, message.customer())
        self.desk.keep(conversation.id, message.text, message.external_id)

    def receive(self, message: SlackMessage) -> None:
        """A DM or a mention: to the desk, and its replies back in the question's thread."""
        locale = self.people.get(message.user).locale
        conversation: Conversation | None = None
        try:
            conversation = self.desk.open(CHANNEL, message.customer(), locale)
            if not message.text:  # a file or a sticker alone
                self._say(message, phrase("empty_message", conversation.lang), f"empty:{message.external_id}")
                return
            turn = self.desk.receive(conversation.id, message.text, lang_hint=locale, external_id=message.external_id)
        except Exception:  # the adapter's one broad catch: log the conversation and tell the customer
            log.exception("Slack message %s (conversation %s) failed", message.external_id, conversation.id if conversation else None)
            self._say(message, messages.FALLBACK_REPLY, f"fallback:{message.external_id}")
            return
        # A retried event is a duplicate turn: enqueueing its replies again sends nothing twice,
        # and sends them if the first delivery stopped before it got to them.
        self.deliver(turn.conversation, turn.replies)

    def click(self, click: Click) -> None:
        """A button under a bot message: a choice, yes/no on an answer, a 1-5 rating. Each set counts once."""
        kind = render.kind_of(click.action_id)
        conversation_id, _, rest = click.value.partition("|")
        conversation = self.desk.store.get_conversation(conversation_id)
        if conversation is None or conversation.channel != CHANNEL or address_of(conversation.external_user).user != click.user:
            log.info("ignored %s by %s: not their conversation %s", click.action_id, click.user, conversation_id)
            return
        if not self.seen.first_time(CHANNEL, f"buttons:{click.channel}:{click.message_ts}"):
            return  # a double click, or a click after the buttons were used
        self.post(
            click.channel,
            {"method": "chat.update", "args": {"channel": click.channel, "ts": click.message_ts, "text": click.text,
                                                "blocks": render.used(click.blocks, f"✓ {click.label}")}},
            f"used:{click.channel}:{click.message_ts}",
        )
        try:
            turn = self._act(kind, conversation.id, rest)
        except (NotFound, NotAllowed, ValueError) as e:
            log.warning("button %s in conversation %s: %s", click.action_id, conversation.id, e)
            return
        if turn is not None:
            self.deliver(turn.conversation, turn.replies)

    def _act(self, kind: str, conversation_id: str, value: str) -> Turn | None:
        if kind == render.CHOOSE:
            return self.desk.choose(conversation_id, value)
        if kind == render.HELPFUL:
            message_id, _, answer = value.partition("|")
            return self.desk.rate_answer(conversation_id, int(message_id), answer == "yes")
        if kind == render.CSAT:
            return self.desk.rate_conversation(conversation_id, int(value))
        if kind == render.NONE_OF_THESE:
            return self.desk.ask_for_person(conversation_id)
        return None

    def deliver(self, conversation: Conversation, said: Sequence[Message]) -> None:
        """Enqueue the bot's and agents' messages for the customer, each in the thread of the question it follows."""
        outward = [m for m in said if m.author in ("bot", "agent")]
        if not outward:
            return
        address = address_of(conversation.external_user)
        history = self.desk.store.list_messages(conversation.id) if address.thread_ts is None else []
        for message in outward:
            thread = address.thread_ts or question_ts(history, message)
            agent = self.desk.store.get_agent(message.agent) if message.agent else None
            link = self.desk.article_link(conversation, message)
            text, blocks = render.customer_message(conversation, message, agent.name if agent else None, link)
            args: dict[str, Any] = {"channel": address.channel, "text": text, "blocks": blocks, "unfurl_links": False}
            if thread:
                args["thread_ts"] = thread
            self.post(address.channel, {"method": "chat.postMessage", "args": args}, f"msg:{message.id}")

    def _say(self, message: SlackMessage, text: str, key: str) -> None:
        args = {"channel": message.channel, "text": text, "thread_ts": message.thread_ts or message.ts}
        self.post(message.channel, {"method": "chat.postMessage", "args": args}, key)


def question_ts(history: Sequence[Message], reply: Message) -> str | None:
    """The Slack ts of the customer message `reply` answers (its external id ends in it): the one
    its evidence names, else the customer's last message from Slack before it."""
    answers = (reply.decision or {}).get("answers")
    for message in reversed(history):
        if message.author != "customer" or not message.external_id:
            continue
        if (message.id == answers) if answers is not None else (message.id < reply.id):
            return message.external_id.rsplit(":", 1)[-1]
    return None
