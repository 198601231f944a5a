"""Issue 15: no query a message's path runs grows with the conversation or the store. The path's
store calls are made on SQLite with every statement recorded; each statement's plan must reach
messages and conversations by an index (SQLite: no SCAN; PostgreSQL with sequential scans
disabled: no Seq Scan, i.e. an index path exists)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.delivery.sql_delivery import SQLRelayCursors
from bot.store.connect import open_store
from bot.store.sql import SQLStore

WATCHED = ("messages", "conversations")


def the_path(store: SQLStore) -> None:
    """What answering, relaying, streaming and sweeping one message asks of the store."""
    conversation = store.create_conversation("web", "visitor-1", "en")
    for n in range(30):
        store.add_message(conversation.id, "customer", f"question {n}", external_id=f"web:{n}")
        store.add_message(conversation.id, "bot", f"answer {n}", lang="en")
    asked = store.add_message(conversation.id, "customer", "one more", external_id="web:again")
    store.add_message(conversation.id, "customer", "one more", external_id="web:again")  # a redelivery
    store.get_conversation(conversation.id)
    store.recent_messages(conversation.id, 20)
    store.update_conversation(conversation.id, lang="en", topic="delivery")
    store.transition(conversation.id, ("bot",), "waiting")
    store.list_messages(conversation.id, after_id=asked.message.id)
    store.changed_at([conversation.id])
    now = store._clock()
    store.list_messages_since(now - timedelta(minutes=10), now)
    store.list_messages_since(now - timedelta(minutes=10))  # the report's "since", open-ended
    relay = SQLRelayCursors(store.database)
    relay.outward_messages("web", relay.relay_cursor("web"), 50)
    relay.agent_messages(0, 50)


@pytest.fixture
def recorded(tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    path = tmp_path / "plans.db"
    store = open_store(str(path))
    statements: list[str] = []
    with store.database.connection() as conn:  # this thread's connection: every call below runs on it
        conn.set_trace_callback(statements.append)
        the_path(store)  # type: ignore[arg-type]
        conn.set_trace_callback(None)
    store.close()
    wanted = [s for s in statements if re.match(r"\s*(SELECT|UPDATE|DELETE|INSERT)", s, re.I) and re.search(r"\b(messages|conversations)\b", s)]
    assert len(wanted) > 10, statements
    yield path, wanted


def a_big_store(path: Path, messages: int = 60_000) -> None:
    """Rows and ANALYZE statistics of a store that has been busy a while: the planner's choice
    depends on them (an open-ended period ordered by id was a SCAN at 100k messages)."""
    with sqlite3.connect(path) as conn:
        ids = [f"c{n:05d}" for n in range(messages // 50)]
        conn.executemany(
            "INSERT INTO conversations (id, channel, external_user, lang, state, created_at, updated_at, meta) "
            "VALUES (?, 'telegram', ?, 'en', 'closed', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00', '{}')",
            [(c, c) for c in ids],
        )
        conn.executemany(
            "INSERT INTO messages (conversation_id, channel, author, text, created_at) VALUES (?, 'telegram', ?, 'text', ?)",
            [(ids[n % len(ids)], ("customer", "bot", "agent")[n % 3], f"2026-01-{1 + n * 28 // messages:02d}T00:00:00+00:00") for n in range(messages)],
        )
        conn.execute("ANALYZE")


def test_on_sqlite_every_statement_of_the_path_uses_an_index(recorded: tuple[Path, list[str]]) -> None:
    path, statements = recorded
    a_big_store(path)
    scans = []
    with sqlite3.connect(path) as conn:
        for statement in statements:
            plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}")]
            scans += [f"{detail}  <- {statement[:160]}" for detail in plan if re.match(rf"SCAN ({'|'.join(WATCHED)})\b", detail)]
    assert not scans, "\n".join(scans)


def test_on_postgresql_every_statement_of_the_path_has_an_index_path(recorded: tuple[Path, list[str]], pg_url: str) -> None:
    import psycopg

    from bot.store.connect import PostgresStore

    PostgresStore(pg_url).close()  # the schema
    _, statements = recorded
    scans = []
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("SET enable_seqscan = off")  # a Seq Scan now means no index can serve the query
        for statement in statements:
            plan = "\n".join(row[0] for row in conn.execute(f"EXPLAIN {statement}"))
            scans += [f"{line.strip()}  <- {statement[:160]}" for line in plan.splitlines() if re.search(rf"Seq Scan on ({'|'.join(WATCHED)})\b", line)]
    assert not scans, "\n".join(scans)
