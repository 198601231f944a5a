"""The dict store of bench/web_load.py's `fake` configuration: the part of `bot.store.model.Store`
the web chat path uses, in dicts behind one lock; nothing persists, nothing is fsync'd."""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.store.model import KEEP, AddedMessage, Choice, Conversation, Keep, Message


class MemoryStore:
    """The part of `bot.store.model.Store` the web chat path uses, in dicts behind one lock; nothing persists."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._conversations: dict[str, Conversation] = {}
        self._open: dict[tuple[str, str], str] = {}
        self._messages: dict[str, list[Message]] = {}
        self._ids = itertools.count(1)

    def find_or_create_conversation(self, channel: str, external_user: str, lang: str) -> Conversation:
        with self._lock:
            found = self._open.get((channel, external_user))
            if found and self._conversations[found].state != "closed":
                return self._conversations[found]
            now = self._clock()
            conversation = Conversation(uuid.uuid4().hex, channel, external_user, lang, "bot", None, None, now, now, None, None, {})
            self._conversations[conversation.id] = conversation
            self._open[(channel, external_user)] = conversation.id
            self._messages[conversation.id] = []
            return conversation

    def get_conversation(self, conversation_id: str) -> Conversation | None:
        return self._conversations.get(conversation_id)

    def changed_at(self, conversation_ids: Collection[str]) -> dict[str, Any]:
        with self._lock:
            return {c: (len(self._messages[c]), self._conversations[c].state, self._conversations[c].updated_at)
                    for c in conversation_ids if c in self._conversations}

    def update_conversation(
        self,
        conversation_id: str,
        *,
        lang: str | Keep = KEEP,
        topic: str | None | Keep = KEEP,
        email: str | None | Keep = KEEP,
        meta: Mapping[str, Any] | Keep = KEEP,
    ) -> Conversation:
        changes = {k: v for k, v in (("lang", lang), ("topic", topic), ("email", email), ("meta", meta)) if v is not KEEP}
        with self._lock:
            updated = replace(self._conversations[conversation_id], updated_at=self._clock(), **changes)
            self._conversations[conversation_id] = updated
            return updated

    def transition(self, conversation_id: str, from_states: Collection[str], to_state: str, agent: str | None = None) -> bool:
        with self._lock:
            current = self._conversations.get(conversation_id)
            if current is None or current.state not in from_states:
                return False
            waiting = self._clock() if to_state == "waiting" else None
            self._conversations[conversation_id] = replace(current, state=to_state, agent=agent, waiting_since=waiting)  # type: ignore[arg-type]
            return True

    def waiting_queue(self, languages: Collection[str], limit: int | None = None) -> list[Conversation]:
        waiting = sorted((c for c in list(self._conversations.values()) if c.state == "waiting"), key=lambda c: c.waiting_since or c.created_at)
        return waiting[:limit]

    def add_message(
        self,
        conversation_id: str,
        author: str,
        text: str,
        *,
        lang: str | None = None,
        action: str | None = None,
        article_id: str | None = None,
        decision: Mapping[str, Any] | None = None,
        choices: Sequence[Choice] = (),
        external_id: str | None = None,
        agent: str | None = None,
    ) -> AddedMessage:
        with self._lock:
            message = Message(
                next(self._ids), conversation_id, author, text, self._clock(), lang, action,  # type: ignore[arg-type]
                article_id, decision, tuple(choices), external_id, agent,
            )
            self._messages[conversation_id].append(message)
            return AddedMessage(message, duplicate=False)

    def list_messages(self, conversation_id: str, after_id: int | None = None) -> list[Message]:
        return [m for m in list(self._messages.get(conversation_id, ())) if after_id is None or m.id > after_id]

    def recent_messages(self, conversation_id: str, limit: int) -> list[Message]:
        return list(self._messages.get(conversation_id, ()))[-limit:] if limit > 0 else []

    def find_message(self, channel: str, external_id: str) -> Message | None:
        with self._lock:
            return next((m for ms in self._messages.values() for m in ms if m.external_id == external_id
                         and self._conversations[m.conversation_id].channel == channel), None)

    def atomic(self) -> AbstractContextManager[None]:
        return nullcontext()  # nothing to commit

    def present_agents(self, since: datetime) -> list[Any]:
        return []  # no agents: a handoff is missed, as with an empty team

    def close(self) -> None:
        pass
