"""Messages in the SQL store: the part of `bot.store.sql.SQLStore` that writes and reads them.

Every query a message's path runs is an index range (messages_conversation, messages_created,
the primary key), whatever the conversation's length or the store's size:
tests/bot/test_query_plans.py reads their plans on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.actions import Action
from bot.errors import StorageError
from bot.store.db import Database
from bot.store.model import AUTHORS, AddedMessage, Author, Choice, Message
from bot.store.rows import MESSAGE_COLUMNS, period_conditions, placeholders, read_message, to_json, where_clause


class SQLMessages:
    """Messages' rows; mixed into `SQLStore`, which provides the database and the clock."""

    _db: Database
    path: str
    _now: Callable[[], Any]

    def add_message(
        self,
        conversation_id: str,
        author: Author,
        text: str,
        *,
        lang: str | None = None,
        action: Action | None = None,
        article_id: str | None = None,
        decision: Mapping[str, Any] | None = None,
        choices: Sequence[Choice] = (),
        external_id: str | None = None,
        agent: str | None = None,
    ) -> AddedMessage:
        """Store a message, or return the earlier one if `external_id` was seen on this channel."""
        if author not in AUTHORS:
            raise ValueError(f"author {author!r} is not one of {', '.join(AUTHORS)}")
        kept_choices = tuple(Choice(c.article_id, c.title) for c in choices)
        decision_json = None if decision is None else to_json("decision", dict(decision))
        choices_json = to_json("choices", [{"article_id": c.article_id, "title": c.title} for c in kept_choices])
        with self._db.write("store a message") as conn:
            found = conn.execute("SELECT channel FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
            if found is None:
                raise StorageError(f"{self.path}: no conversation {conversation_id!r}; create the conversation before its messages")
            self._db.order_ids(conn)
            now = self._now()
            row = conn.execute(
                "INSERT INTO messages (conversation_id, channel, author, text, created_at, lang, action, article_id, "
                "decision, choices, external_id, agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (channel, external_id) DO NOTHING RETURNING id",
                (conversation_id, found["channel"], author, text, now, lang, action, article_id, decision_json, choices_json, external_id, agent),
            ).fetchone()
            if row is None:  # only an external_id seen before on this channel conflicts
                earlier = conn.execute(
                    f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE channel = ? AND external_id = ?", (found["channel"], external_id)
                ).fetchone()
                return AddedMessage(read_message(self._db, earlier), duplicate=True)
            conn.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))
        return AddedMessage(
            Message(
                id=row["id"], conversation_id=conversation_id, author=author, text=text,
                created_at=self._db.time(now), lang=lang, action=action, article_id=article_id,
                decision=None if decision_json is None else json.loads(decision_json), choices=kept_choices,
                external_id=external_id, agent=agent,
            ),
            duplicate=False,
        )

    def list_messages(self, conversation_id: str, after_id: int | None = None) -> list[Message]:
        """A conversation's messages in order; only those after `after_id` when given (live updates)."""
        sql = f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND id > ? ORDER BY id"
        rows = self._db.read("list messages", sql, (conversation_id, after_id if after_id is not None else 0))
        return [read_message(self._db, row) for row in rows]

    def find_message(self, channel: str, external_id: str) -> Message | None:
        """The message `external_id` names on `channel` (a redelivery's first copy), or None."""
        sql = f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE channel = ? AND external_id = ?"
        rows = self._db.read("find a message", sql, (channel, external_id))
        return read_message(self._db, rows[0]) if rows else None

    def recent_messages(self, conversation_id: str, limit: int) -> list[Message]:
        """A conversation's last `limit` messages, in order: what a new message's answer needs
        to know of the past, read by index however long the conversation is."""
        sql = f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? ORDER BY id DESC LIMIT ?"
        rows = self._db.read("list recent messages", sql, (conversation_id, limit))
        return [read_message(self._db, row) for row in reversed(rows)]

    def recent_customer_texts(self, limit: int) -> list[tuple[str, str]]:
        """What customers asked in the last `limit` bot replies that answered a message, as (the
        language the engine read in it, its text), newest first: what the reindex learns each
        language's centre from (index/centring.py). Both reads go along the primary key, so
        their cost is the limit's, not the store's."""
        sql = f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE author = 'bot' AND decision IS NOT NULL ORDER BY id DESC LIMIT ?"
        replies = [read_message(self._db, row) for row in self._db.read("list recent bot replies", sql, (limit,))]
        read: dict[int, str] = {}
        for reply in replies:  # newest first: a message answered twice keeps its last reading
            decision = reply.decision or {}
            lang, answers = (decision.get("lang") or {}).get("lang"), decision.get("answers")
            if isinstance(lang, str) and lang and isinstance(answers, int):
                read.setdefault(answers, lang)
        ids, texts = sorted(read, reverse=True), {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows = self._db.read("read asked messages", f"SELECT id, text FROM messages WHERE author = 'customer' AND id IN ({placeholders(chunk)})", chunk)
            texts.update((row["id"], row["text"]) for row in rows)
        return [(read[i], texts[i]) for i in ids if i in texts]

    def list_messages_since(self, since: datetime, until: datetime | None = None) -> list[Message]:
        """Every message created in [since, until), in order, for reports and the orphan sweep."""
        where, params = period_conditions(self._db, "created_at", since, until)
        # By the created_at index (ORDER BY id alone made SQLite walk the whole table); ids are
        # put back in order here, since two writers may commit out of clock order.
        sql = f"SELECT {MESSAGE_COLUMNS} FROM messages{where_clause(where)} ORDER BY created_at"
        messages = [read_message(self._db, row) for row in self._db.read("list messages", sql, params)]
        return sorted(messages, key=lambda m: m.id)

    def changed_at(self, conversation_ids: Collection[str]) -> dict[str, Any]:
        """A mark per conversation that changes with it (its last message, state, or update; not
        the time alone: two changes may share a clock reading). One query a tick for every live
        stream of a process (channels/web/live.py)."""
        ids, found = list(conversation_ids), {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            sql = (
                "SELECT id, state, updated_at, (SELECT MAX(m.id) FROM messages m WHERE m.conversation_id = c.id) AS last "
                f"FROM conversations c WHERE id IN ({placeholders(chunk)})"
            )
            rows = self._db.read("read when conversations changed", sql, chunk)
            found.update((row["id"], (row["last"], row["state"], row["updated_at"])) for row in rows)
        return found

