"""Desk results out as JSON: messages, turns and transcripts, in the shape openapi.yaml describes."""

from __future__ import annotations

from typing import Any, Iterable
from urllib.parse import quote

from bot.articles import find_version
from bot.desk import Turn
from bot.store import Conversation, Message
from index.search import SearchIndex


def article_path(root: str, lang: str, article_id: str) -> str:
    """The help-center page of one article version."""
    return f"{root}/articles/{quote(lang, safe='')}/{quote(article_id, safe='')}"


def message_json(message: Message, snapshot: SearchIndex | None, root: str = "", lang: str | None = None) -> dict[str, Any]:
    """One stored message as the widget sees it (never the bot's internal evidence)."""
    title = url = updated = None
    if message.article_id and snapshot is not None:
        version = find_version(snapshot, message.article_id, message.lang or lang or "en")
        if version is not None:
            title, updated = version.title, version.updated or None
            url = article_path(root, version.lang, version.article_id)
    return {
        "id": message.id,
        "author": message.author,
        "text": message.text,
        "lang": message.lang,
        "action": message.action,
        "article_id": message.article_id,
        "article_title": title,
        "article_url": url,
        "article_updated": updated,
        "choices": [{"article_id": c.article_id, "title": c.title} for c in message.choices],
        "created_at": message.created_at.isoformat(),
    }


def turn_json(turn: Turn, snapshot: SearchIndex | None, root: str = "") -> dict[str, Any]:
    """The replies to one customer action, with the conversation's state after it."""
    lang = turn.conversation.lang
    return {
        "state": turn.conversation.state,
        "message": None if turn.message is None else message_json(turn.message, snapshot, root, lang),
        "replies": [message_json(m, snapshot, root, lang) for m in turn.replies],
    }


def conversation_json(conversation: Conversation, messages: Iterable[Message], snapshot: SearchIndex | None, root: str = "") -> dict[str, Any]:
    """The whole transcript."""
    return {
        "id": conversation.id,
        "lang": conversation.lang,
        "state": conversation.state,
        "channel": conversation.channel,
        "messages": [message_json(m, snapshot, root, conversation.lang) for m in messages],
    }
