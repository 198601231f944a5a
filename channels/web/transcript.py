"""What the console shows of conversations and messages, including the bot's evidence."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from bot.answer.articles import find_version
from bot.answer.phrases import language_name
from bot.reindex.job import ReindexStatus
from bot.store.model import Conversation, Message, Store
from index.search import SearchIndex

SNIPPET = 140


def duration(seconds: float) -> str:
    """3 s, 4 min 5 s, 2 h 10 min, 3 d 4 h."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def decision_view(decision: Mapping[str, Any] | None, index: SearchIndex | None, lang: str) -> dict[str, Any] | None:
    """A bot message's decision with its candidate articles' titles and scores; None for a message
    that records no engine decision (the desk's own, e.g. why a handoff was missed)."""
    if not decision or "action" not in decision:
        return None
    candidates = []
    for candidate in decision.get("candidates") or []:
        article_id = str(candidate.get("id", ""))
        version = find_version(index, article_id, lang) if index is not None and article_id else None
        candidates.append({
            "id": article_id,
            "title": version.title if version else article_id,
            "score": candidate.get("score"),
            "kind": candidate.get("kind"),
        })
    detected = decision.get("lang") or {}
    return {
        "action": decision.get("action"),
        "reason": decision.get("reason"),
        "candidates": candidates,
        "lang": detected.get("lang"),
        "lang_source": detected.get("source"),
        "lang_confidence": detected.get("confidence"),
    }


def message_view(message: Message, index: SearchIndex | None, agent_names: Mapping[str, str]) -> dict[str, Any]:
    """One message as the console shows it (and console.js receives it)."""
    version = find_version(index, message.article_id, message.lang or "en") if index is not None and message.article_id else None
    return {
        "id": message.id,
        "author": message.author,
        "text": message.text,
        "action": message.action,
        "created_at": message.created_at.isoformat(),
        "time": message.created_at.strftime("%H:%M:%S"),
        "agent_name": agent_names.get(message.agent or "") if message.agent else None,
        "article_id": message.article_id,
        "article_title": version.title if version else None,
        "choices": [{"article_id": c.article_id, "title": c.title} for c in message.choices],
        "decision": decision_view(message.decision, index, message.lang or "en") if message.author == "bot" else None,
    }


def conversation_summary(conversation: Conversation, store: Store, index: SearchIndex | None, now: datetime) -> dict[str, Any]:
    """A queue row: language, wait time, the customer's last words and the bot's last decision."""
    messages = store.list_messages(conversation.id)
    last_customer = next((m for m in reversed(messages) if m.author == "customer"), None)
    last_decision = next((m for m in reversed(messages) if m.author == "bot" and m.decision and "action" in m.decision), None)
    since = conversation.waiting_since or conversation.updated_at
    text = last_customer.text if last_customer else ""
    return {
        "id": conversation.id,
        "lang": conversation.lang,
        "lang_name": language_name(conversation.lang, "en"),
        "state": conversation.state,
        "channel": conversation.channel,
        "email": bool(conversation.email),
        "since": since.isoformat(),
        "wait": duration((now - since).total_seconds()),
        "wait_seconds": int((now - since).total_seconds()),
        "last_customer_text": text if len(text) <= SNIPPET else text[: SNIPPET - 1] + "…",
        "decision": decision_view(last_decision.decision, index, conversation.lang) if last_decision else None,
    }


def reindex_view(status: ReindexStatus) -> dict[str, Any]:
    return {
        "state": status.state,
        "started_at": status.started_at.isoformat() if status.started_at else None,
        "finished_at": status.finished_at.isoformat() if status.finished_at else None,
        "message": status.message,
        "seconds": status.seconds,
    }
