"""Telegram customers: their messages, commands and button presses to the desk; the desk's messages to their chat.

Everything the customer should see goes through `deliver`, which enqueues one outbox row per
piece of a stored message under the key "msg:<message id>:<piece>"; the reply path and the
relay (bot/relay.py) both call it, and the key makes sure Telegram gets each piece once.
Runs on the channel's worker threads: the desk and the store are synchronous.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.dedup import SeenKeys
from bot.desk import Desk, NotAllowed, NotFound, Turn
from bot.phrases import phrase
from bot.store import Conversation, Message
from channels.telegram import messages, render
from channels.telegram.inbound import Press, TelegramMessage, chat_of

log = logging.getLogger(__name__)

CHANNEL = "telegram"
Post = Callable[[str, Mapping[str, Any], str], None]  # (target chat, payload, dedup key)


class Customers:
    def __init__(self, desk: Desk, post: Post, seen: SeenKeys) -> None:
        self.desk = desk
        self.post = post
        self.seen = seen

    def keep(self, message: TelegramMessage) -> None:
        """Store a customer's question before Telegram gets its 200: `receive` answers it (as a
        redelivery) after, or a restarted worker does (`Desk.answer_unanswered`)."""
        if message.command is None and message.kind is None and message.text:
            conversation = self.desk.open(CHANNEL, message.customer(), message.language_code)
            self.desk.keep(conversation.id, message.text, message.external_id)

    def receive(self, message: TelegramMessage) -> None:
        """A message or command: to the desk, and its replies back to the chat."""
        conversation: Conversation | None = None
        try:
            conversation = self.desk.open(CHANNEL, message.customer(), message.language_code)
            if message.command in ("start", "help"):
                key = "greeting" if message.command == "start" else "help"
                self._say(message, phrase(key, conversation.lang), f"{key}:{message.external_id}")
                return
            if message.command == "human":
                self._human(conversation, message)
                return
            if message.kind is not None:
                self._unsupported(conversation, message)
                return
            if not message.text:
                self._say(message, phrase("empty_message", conversation.lang), f"empty:{message.external_id}")
                return
            turn = self.desk.receive(conversation.id, message.text, lang_hint=message.language_code, external_id=message.external_id)
        except Exception:  # the adapter's one broad catch: log the conversation and tell the customer
            log.exception("Telegram message %s (conversation %s) failed", message.external_id, conversation.id if conversation else None)
            self._say(message, messages.FALLBACK_REPLY, f"fallback:{message.external_id}")
            return
        # A redelivered update is a duplicate turn: enqueueing its replies again sends nothing twice,
        # and sends them if the first delivery stopped before it got to them.
        self.deliver(turn.conversation, turn.replies)

    def _human(self, conversation: Conversation, message: TelegramMessage) -> None:
        # Stored as the customer's message, so the agent sees it and a redelivered /human counts once.
        added = self.desk.note(conversation.id, "/human", external_id=message.external_id)
        if added.duplicate:
            return
        turn = self.desk.ask_for_person(conversation.id)
        self.deliver(turn.conversation, turn.replies)

    def _unsupported(self, conversation: Conversation, message: TelegramMessage) -> None:
        kind = message.kind or "message"
        note = f"[{kind}] {message.text}".strip()
        # Kept in the transcript for the agent; not given to the engine, which reads text only.
        added = self.desk.note(conversation.id, note, external_id=message.external_id)
        if not added.duplicate:
            self._say(message, phrase("unsupported_content", conversation.lang, kind=content_name(kind, conversation.lang)), f"unsupported:{message.external_id}")

    def press(self, press: Press) -> None:
        """A button under a bot message: a choice, yes/no on an answer, a 1-5 rating. Each set counts once."""
        button = render.parse_button(press.data)
        conversation = self.desk.store.get_conversation(button.conversation_id) if button else None
        if button is None or conversation is None or conversation.channel != CHANNEL or conversation.external_user != press.customer():
            log.info("ignored button %r by %s in chat %s: not their conversation", press.data, press.user_id, press.chat_id)
            return
        if not self.seen.first_time(CHANNEL, f"buttons:{press.chat_id}:{press.message_id}"):
            return  # a redelivered update, a double tap, or a tap after the buttons were used
        self.post(
            str(press.chat_id),
            {"method": "editMessageReplyMarkup", "args": {"chat_id": press.chat_id, "message_id": press.message_id}},
            f"used:{press.chat_id}:{press.message_id}",
        )
        try:
            turn = self._act(conversation, button)
        except (NotFound, NotAllowed, ValueError, IndexError) as e:
            log.warning("button %r in conversation %s: %s", press.data, conversation.id, e)
            return
        if turn is not None:
            self.deliver(turn.conversation, turn.replies)

    def _act(self, conversation: Conversation, button: render.Button) -> Turn | None:
        if button.kind == render.CHOOSE:
            offered = next((m for m in self.desk.store.list_messages(conversation.id) if m.id == button.message_id), None)
            if offered is None or not offered.choices:
                raise NotFound(f"message {button.message_id} offered no choices")
            return self.desk.choose(conversation.id, offered.choices[int(button.arg)].article_id)
        if button.kind == render.HELPFUL:
            return self.desk.rate_answer(conversation.id, button.message_id, button.arg == "y")
        if button.kind == render.CSAT:
            return self.desk.rate_conversation(conversation.id, int(button.arg))
        if button.kind == render.NONE_OF_THESE:
            return self.desk.ask_for_person(conversation.id)
        return None

    def deliver(self, conversation: Conversation, said: Sequence[Message]) -> None:
        """Enqueue the bot's and agents' messages for the customer, in a group as replies to their question."""
        outward = [m for m in said if m.author in ("bot", "agent")]
        if not outward:
            return
        chat = chat_of(conversation.external_user)
        group = ":" in conversation.external_user
        history = self.desk.store.list_messages(conversation.id) if group else []
        for message in outward:
            agent = self.desk.store.get_agent(message.agent) if message.agent else None
            link = self.desk.article_link(conversation, message)
            calls = render.customer_messages(conversation, message, agent.name if agent else None, link)
            reply_to = question_id(history, message) if group else None
            for piece, args in enumerate(render.with_chat(calls, chat, reply_to)):
                self.post(str(chat), {"method": "sendMessage", "args": args}, f"msg:{message.id}:{piece}")

    def _say(self, message: TelegramMessage, text: str, key: str) -> None:
        reply_to = None if message.is_private else message.message_id
        [args] = render.with_chat([render.plain(text)], message.chat_id, reply_to)
        self.post(str(message.chat_id), {"method": "sendMessage", "args": args}, key)


def content_name(kind: str, lang: str) -> str:
    """The name of a kind of content in the customer's language (phrase content_<kind>), else the English word."""
    try:
        return phrase(f"content_{kind}", lang)
    except KeyError:
        return kind


def question_id(history: Sequence[Message], reply: Message) -> int | None:
    """The Telegram message id of the customer message `reply` answers (its external id ends in it):
    the one its evidence names, else the customer's last message before it."""
    answers = (reply.decision or {}).get("answers")
    for message in reversed(history):
        if message.author != "customer" or not message.external_id:
            continue
        if (message.id == answers) if answers is not None else (message.id < reply.id):
            tail = message.external_id.rsplit(":", 1)[-1]
            return int(tail) if tail.isdigit() else None
    return None
