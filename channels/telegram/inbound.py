"""Telegram updates in: messages, commands and button presses as the chat core's `Inbound` and `Press`, and who the customer is.

A customer is one conversation per private chat (`"<chat id>"`) and, in a group, per person
(`"<chat id>:<user id>"`), so two people in one group never share a conversation. A message's
external id is `"<chat id>:<message id>"` (message ids restart in every chat): the same in a
redelivered update, so the store answers it once.

A webhook body is read whole before Telegram gets its answer (`update_of`): a body that is no
Update (a string where a message belongs, a field of the wrong type) is a 400 then, never an
error on the loop. Lone surrogates (JSON "\\ud800", which no UTF-8 can carry) become U+FFFD:
the update is Telegram's, which would only send it again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from telegram import Bot, CallbackQuery, Message, Update, User

from bot.untrusted import without_surrogates
from channels.chat.platform import Inbound, Outgoing, Press, ReplyTo
from channels.telegram.render import parse_button

PRIVATE = "private"
COMMANDS = ("start", "help", "human")
# What a customer can send besides text, in the order we look for it; the kind names the phrase field.
CONTENT_KINDS = (
    ("sticker", "sticker"), ("photo", "photo"), ("voice", "voice"), ("video_note", "video"), ("video", "video"),
    ("audio", "audio"), ("animation", "animation"), ("document", "document"), ("location", "location"),
    ("venue", "location"), ("contact", "contact"), ("poll", "poll"), ("dice", "dice"),
)


MAX_DEPTH = 64  # JSON nesting an update may have; Telegram's stay under 20


class NotAnUpdate(ValueError):
    """A webhook body that is no Telegram Update this channel can read; the message says why."""


@dataclass(frozen=True)
class TelegramMessage:
    """A person's message: text, a command (/start /help /human) or content the bot cannot read."""

    chat_id: int
    chat_type: str
    user_id: int
    message_id: int
    text: str  # the text (the bot's @mention removed) or, for other content, its caption
    language_code: str | None
    command: str | None = None  # "start", "help", "human"
    kind: str | None = None  # "sticker", "photo", ... for content that is not text

    @property
    def external_id(self) -> str:
        return f"{self.chat_id}:{self.message_id}"

    @property
    def is_private(self) -> bool:
        return self.chat_type == PRIVATE

    def customer(self) -> str:
        """The conversation's external user (see the module docstring)."""
        return customer_of(self.chat_id, self.chat_type, self.user_id)

    def inbound(self) -> Inbound:
        """The message as the chat core takes it; in a group, the channel's own lines reply to it."""
        reply_to = ReplyTo(str(self.chat_id), None if self.is_private else str(self.message_id))
        return Inbound(self.customer(), self.text, self.external_id, self.language_code, reply_to, self.command, self.kind)


def update_of(data: Mapping[str, Any], bot: Bot) -> tuple[Update, TelegramMessage | None]:
    """The Update in a webhook body and the person's message in it, read whole (the bot initialised); NotAnUpdate otherwise."""
    if not isinstance(data.get("update_id"), int) or isinstance(data.get("update_id"), bool):
        raise NotAnUpdate("'update_id' must be an integer")
    me = bot.bot
    try:
        update = Update.de_json(without_surrogates(dict(data)), bot)
        message = message_of(update, me)
        if update.callback_query is not None:  # what the loop's handlers will read, read here first
            press_of(update)
            label_of(update.callback_query)
    except Exception as e:  # de_json trusts the shape it is given: a malformed update raises anything
        raise NotAnUpdate(f"not a Telegram Update ({type(e).__name__}: {str(e)[:200]})") from e
    return update, message


def customer_of(chat_id: int, chat_type: str, user_id: int) -> str:
    """A private chat, or one person in a group (see the module docstring)."""
    return str(chat_id) if chat_type == PRIVATE else f"{chat_id}:{user_id}"


def chat_of(external_user: str) -> int:
    """The chat a conversation's messages go to, from its external user."""
    return int(external_user.split(":", 1)[0])


def message_of(update: Update, bot: User) -> TelegramMessage | None:
    """The person's message in an update; None for bots, channel posts, edits, service messages and, in groups, messages not for us."""
    message, user = update.message, update.effective_user
    if message is None or user is None or user.is_bot:
        return None
    private = message.chat.type == PRIVATE
    text = message.text or message.caption or ""
    command, kind = _command(message, bot), None
    if command is None and message.text is None:
        kind = next((name for attribute, name in CONTENT_KINDS if getattr(message, attribute, None)), None)
        if kind is None:
            return None  # joins, pins, titles: nothing a person said
    if not private and not _for_us(message, bot, command):
        return None
    if command is None:
        text = _without_mention(text, bot)
    return TelegramMessage(
        chat_id=message.chat.id, chat_type=message.chat.type, user_id=user.id, message_id=message.message_id,
        text=" ".join(text.split()), language_code=user.language_code, command=command, kind=kind,
    )


def press_of(update: Update) -> Press | None:
    """The button pressed in a callback query, or None when it is not one of ours on a message."""
    query = update.callback_query
    message = query.message if query is not None else None
    button = parse_button(query.data) if query is not None and query.data else None
    if query is None or message is None or button is None:
        return None
    chat_id, message_id = message.chat.id, message.message_id
    used = Outgoing(str(chat_id), {"method": "editMessageReplyMarkup", "args": {"chat_id": chat_id, "message_id": message_id}})
    customer = customer_of(chat_id, message.chat.type, query.from_user.id)
    return Press(button, customer, f"{chat_id}:{message_id}", label_of(query), used)


def label_of(query: CallbackQuery) -> str:
    """The pressed button's text, when the message still shows it."""
    markup = getattr(query.message, "reply_markup", None)
    if markup is None:
        return ""
    return next((b.text for row in markup.inline_keyboard for b in row if b.callback_data == query.data), "")


def _command(message: Message, bot: User) -> str | None:
    """"start", "help" or "human" for /start, /help@ThisBot ...; None otherwise (or for another bot's command)."""
    text = message.text or ""
    entity = next((e for e in message.entities if e.type == "bot_command" and e.offset == 0), None)
    if entity is None:
        return None
    name, _, addressee = text[1 : entity.length].partition("@")
    if addressee and bot.username and addressee.lower() != bot.username.lower():
        return None
    return name.lower() if name.lower() in COMMANDS else None


def _for_us(message: Message, bot: User, command: str | None) -> bool:
    """In a group: a command, a reply to one of our messages, or a message that mentions us."""
    if command is not None:
        return True
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot.id:
        return True
    # Entity offsets count UTF-16 units: parse_entities() slices them right.
    mentions = {**message.parse_entities(["mention", "text_mention"]), **message.parse_caption_entities(["mention", "text_mention"])}
    for entity, said in mentions.items():
        if entity.type == "mention" and bot.username and said.lower() == f"@{bot.username.lower()}":
            return True
        if entity.type == "text_mention" and entity.user is not None and entity.user.id == bot.id:
            return True
    return False


def _without_mention(text: str, bot: User) -> str:
    if not bot.username:
        return text
    mention = f"@{bot.username}"
    start = text.lower().find(mention.lower())
    while start >= 0:
        text = text[:start] + " " + text[start + len(mention) :]
        start = text.lower().find(mention.lower())
    return text
