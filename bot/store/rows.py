"""Rows of the SQL store read into records, and the small pieces of SQL its queries share."""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime
from typing import Any

from bot.actions import Action
from bot.store.db import Database, aware
from bot.store.model import Agent, Choice, Conversation, Feedback, Message, Ticket

CONVERSATION_COLUMNS = "id, channel, external_user, lang, state, agent, topic, created_at, updated_at, waiting_since, email, meta"
MESSAGE_COLUMNS = "id, conversation_id, author, text, created_at, lang, action, article_id, decision, choices, external_id, agent"
FEEDBACK_COLUMNS = "id, conversation_id, message_id, helpful, csat, created_at"
TICKET_COLUMNS = "id, conversation_id, email, lang, status, created_at, answered_at, answer"
AGENT_COLUMNS = "id, name, email, password_hash, languages, created_at, seen_at, removed_at, session_generation"
OPEN_OF = f"SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE channel = ? AND external_user = ? AND state <> 'closed'"

Row = Any  # sqlite3.Row or a psycopg dict row: both are read by column name


def to_json(name: str, value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} must be plain JSON data (dict, list, str, number, bool, None): {e}; convert dataclasses with dataclasses.asdict") from e


def read_conversation(db: Database, row: Row) -> Conversation:
    return Conversation(
        id=row["id"], channel=row["channel"], external_user=row["external_user"], lang=row["lang"],
        state=row["state"], agent=row["agent"], topic=row["topic"],
        created_at=db.time(row["created_at"]), updated_at=db.time(row["updated_at"]),
        waiting_since=maybe_time(db, row["waiting_since"]), email=row["email"], meta=db.json(row["meta"]),
    )


def maybe_time(db: Database, value: Any) -> datetime | None:
    return None if value is None else db.time(value)


def read_message(db: Database, row: Row) -> Message:
    return Message(
        id=row["id"], conversation_id=row["conversation_id"], author=row["author"], text=row["text"],
        created_at=db.time(row["created_at"]), lang=row["lang"], action=Action(row["action"]) if row["action"] is not None else None,
        article_id=row["article_id"], decision=None if row["decision"] is None else db.json(row["decision"]),
        choices=tuple(Choice(c["article_id"], c["title"]) for c in db.json(row["choices"])),
        external_id=row["external_id"], agent=row["agent"],
    )


def read_feedback(db: Database, row: Row) -> Feedback:
    helpful = row["helpful"]
    return Feedback(
        id=row["id"], conversation_id=row["conversation_id"], message_id=row["message_id"],
        helpful=None if helpful is None else bool(helpful), csat=row["csat"], created_at=db.time(row["created_at"]),
    )


def read_ticket(db: Database, row: Row) -> Ticket:
    return Ticket(
        id=row["id"], conversation_id=row["conversation_id"], email=row["email"], lang=row["lang"],
        status=row["status"], created_at=db.time(row["created_at"]),
        answered_at=maybe_time(db, row["answered_at"]), answer=row["answer"],
    )


def read_agent(db: Database, row: Row) -> Agent:
    return Agent(
        id=row["id"], name=row["name"], email=row["email"], password_hash=row["password_hash"],
        languages=tuple(db.json(row["languages"])), created_at=db.time(row["created_at"]),
        seen_at=maybe_time(db, row["seen_at"]), removed_at=maybe_time(db, row["removed_at"]),
        session_generation=int(row["session_generation"]),
    )


def placeholders(values: Collection[object]) -> str:
    return ", ".join("?" for _ in values)


def period_conditions(db: Database, column: str, since: datetime | None, until: datetime | None) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if since is not None:
        where.append(f"{column} >= ?")
        params.append(db.stamp(aware(since, "since")))
    if until is not None:
        where.append(f"{column} < ?")
        params.append(db.stamp(aware(until, "until")))
    return where, params


def where_clause(conditions: list[str]) -> str:
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""
