"""Desk results out as JSON: messages, turns and transcripts, in the shape openapi.yaml describes."""

from __future__ import annotations

from typing import Any, Callable, Iterable

from bot.answer.articles import article_link
from bot.desk.desk import Turn
from bot.store.model import Conversation, Message
from index.search import SearchIndex


Names = Callable[[str | None, str], str | None]  # (agent id, language) -> the name customers see (Desk.agent_name)


def message_json(message: Message, snapshot: SearchIndex | None, root: str = "", lang: str | None = None, names: Names | None = None) -> dict[str, Any]:
    """One stored message as the widget sees it (never the bot's internal evidence)."""
    link = None
    if message.article_id and snapshot is not None:
        link = article_link(snapshot, message.article_id, message.lang or lang or "en", root)
    return {
        "id": message.id,
        "author": message.author,
        "agent_name": names(message.agent, message.lang or lang or "en") if names and message.author == "agent" else None,
        "text": message.text,
        "lang": message.lang,
        "action": message.action,
        "article_id": message.article_id,
        "article_title": link.title if link else None,
        "article_url": link.url if link else None,
        "article_updated": (link.updated or None) if link else None,
        "choices": [{"article_id": c.article_id, "title": c.title} for c in message.choices],
        "created_at": message.created_at.isoformat(),
    }


def turn_json(turn: Turn, snapshot: SearchIndex | None, root: str = "", names: Names | None = None) -> dict[str, Any]:
    """The replies to one customer action, with the conversation's state after it."""
    lang = turn.conversation.lang
    return {
        "state": turn.conversation.state,
        "message": None if turn.message is None else message_json(turn.message, snapshot, root, lang, names),
        "replies": [message_json(m, snapshot, root, lang, names) for m in turn.replies],
    }


def conversation_json(
    conversation: Conversation, messages: Iterable[Message], snapshot: SearchIndex | None, root: str = "", names: Names | None = None
) -> dict[str, Any]:
    """The whole transcript."""
    return {
        "id": conversation.id,
        "lang": conversation.lang,
        "state": conversation.state,
        "channel": conversation.channel,
        "messages": [message_json(m, snapshot, root, conversation.lang, names) for m in messages],
    }
