"""E-mailing agents' replies to customers whose handoff found nobody.

A customer who was handed off and waited in vain has often left the chat by the time an agent
answers, whatever the channel; if they gave an e-mail address, the reply should reach them
there. The desk marks such a conversation with meta "missed" (the time nobody was found). The
`MailRelay` follows every agent message of every channel past its own cursor ("email" in
relay_cursors) and, for a conversation with an address and that mark, enqueues one e-mail in
the outbox (channel "email", key "msg:<message id>") in the customer's language: the question,
the agent's reply under the name customers see, and a link back to the conversation.

It enqueues before it moves its cursor, and the key makes a second enqueue a no-op, so a crash
between the two sends nothing twice. Like the chat relay (bot/delivery/relay.py) it relies on
message ids becoming visible in increasing order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from bot.actions import Action
from bot.answer.phrases import phrase
from bot.config import Settings
from bot.delivery.mail import CHANNEL, SMTPSender
from bot.delivery.outbox import Outbox
from bot.delivery.sql_delivery import SQLRelayCursors
from bot.store.db import database_of
from bot.store.model import Conversation, Message, Store

CURSOR = "email"  # this relay's row in relay_cursors
ADDRESS_REPLIES = (Action.TICKET_CREATED, Action.EMAIL_INVALID)  # the desk's answers to a message that gave an address

AgentName = Callable[[str | None, str], str | None]  # (agent id, language) → the name customers see (`Desk.agent_name`)
Link = Callable[[Conversation], str | None]  # the address of the conversation for its customer; None: no link


class MailCursors(Protocol):
    def relay_cursor(self, channel: str) -> int:
        """The last message id relayed under this name; starts at the newest message when first asked."""
        ...

    def advance_relay(self, channel: str, after_id: int) -> None:
        """Move the cursor forward (never back)."""
        ...

    def agent_messages(self, after_id: int, limit: int) -> list[tuple[str, int]]:
        """(conversation id, message id) of agents' messages on every channel past `after_id`, in order."""
        ...


def wants_mail(conversation: Conversation) -> bool:
    """Whether an agent's reply in this conversation is e-mailed: it has an address and a missed handoff."""
    return bool(conversation.email) and bool(conversation.meta.get("missed"))


class MailRelay:
    """Enqueues an e-mail for every new agent message of a conversation that `wants_mail`."""

    def __init__(
        self, store: Store, cursors: MailCursors, outbox: Outbox, agent_name: AgentName, link: Link, batch: int = 200
    ) -> None:
        self.store = store
        self.cursors = cursors
        self.outbox = outbox
        self.agent_name = agent_name
        self.link = link
        self.batch = batch

    def poll_once(self) -> int:
        """Enqueue what is new; how many e-mails were newly enqueued (for the `Ticker`)."""
        after = self.cursors.relay_cursor(CURSOR)
        rows = self.cursors.agent_messages(after, self.batch)
        if not rows:
            return 0
        mailed: dict[str, tuple[Conversation, list[Message]] | None] = {}  # each conversation read once per poll
        enqueued = 0
        for conversation_id, message_id in rows:  # in the order they were written, across conversations
            if conversation_id not in mailed:
                mailed[conversation_id] = self._mailable(conversation_id)
            found = mailed[conversation_id]
            if found is None:
                continue
            conversation, history = found
            reply = next((m for m in history if m.id == message_id), None)
            if reply is not None:
                enqueued += self.enqueue(conversation, reply, history)
        self.cursors.advance_relay(CURSOR, rows[-1][1])  # only now: a crash before this enqueues again, harmlessly
        return enqueued

    def _mailable(self, conversation_id: str) -> tuple[Conversation, list[Message]] | None:
        conversation = self.store.get_conversation(conversation_id)
        if conversation is None or not wants_mail(conversation):
            return None
        return conversation, self.store.list_messages(conversation_id)

    def enqueue(self, conversation: Conversation, reply: Message, history: Sequence[Message]) -> bool:
        """Put the e-mail of one agent message in the outbox; False when it was there already."""
        if not conversation.email:
            raise ValueError(f"conversation {conversation.id} has no e-mail address to send {reply.id} to")
        payload = compose(conversation, reply, history, self.agent_name, self.link)
        return not self.outbox.enqueue(CHANNEL, conversation.email, payload, f"msg:{reply.id}").duplicate


def compose(
    conversation: Conversation, reply: Message, history: Sequence[Message], agent_name: AgentName, link: Link
) -> Mapping[str, Any]:
    """The outbox payload of one agent message: {"to", "subject", "text", "lang", "conversation_id"}."""
    lang = conversation.lang
    lines = [phrase("email_greeting", lang), ""]
    question = question_before(history, reply, conversation.email)
    if question is not None:
        lines += [phrase("email_you_asked", lang, question=question.text.strip()), ""]
    name = agent_name(reply.agent, lang)
    if not name or name == phrase("support_team", lang):  # "Our support team from our team wrote:" reads badly
        lines.append(phrase("email_team_wrote", lang))
    else:
        lines.append(phrase("email_agent_wrote", lang, agent=name))
    lines += ["", reply.text.strip()]
    url = link(conversation)
    if url:
        lines += ["", phrase("email_link", lang, link=url)]
    return {
        "to": conversation.email,
        "subject": phrase("email_subject", lang),
        "text": "\n".join(lines) + "\n",
        "lang": lang,
        "conversation_id": conversation.id,
    }


def question_before(history: Sequence[Message], reply: Message, email: str | None) -> Message | None:
    """The customer's last message before `reply` that asks something: not a note (a sticker, a
    command) and not the e-mail address they gave when the desk asked for one."""
    found = None
    for index, message in enumerate(history):
        if message.id >= reply.id:
            break
        if message.author != "customer" or message.action == Action.NOTE or not message.text.strip():
            continue
        following = history[index + 1] if index + 1 < len(history) else None
        gave_address = (email is not None and message.text.strip().lower() == email.lower()) or (
            following is not None and following.action in ADDRESS_REPLIES
        )
        if not gave_address:
            found = message
    return found


def build_mail(settings: Settings, store: Store, outbox: Outbox, agent_name: AgentName, link: Link) -> tuple[SMTPSender, MailRelay] | None:
    """E-mail's outbox sender (for a `Drainer`, channel "email") and its relay (for a `Ticker`);
    None when ANSWERDESK_SMTP_HOST is empty. StorageError for a store without a database."""
    if not settings.mail_enabled:
        return None
    cursors = SQLRelayCursors(database_of(store, "relay cursors"))
    return SMTPSender.from_settings(settings), MailRelay(store, cursors, outbox, agent_name, link)
