"""Decisions on suggestions from traffic, in the store's own database (migration 0008_suggestions):
accepted or rejected, by whom, what was written where, and what the bot did with the question
when it was accepted and after the last reindex (bot/suggestions/)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.store.db import Database, aware, database_of
from bot.store.model import Store, utc_now

ACCEPTED, REJECTED = "accepted", "rejected"
_COLUMNS = (
    "id, kind, source, article_id, lang, text, written, status, decided_by, decided_at, customers, file, revision, "
    "before_action, before_article, after_action, after_article, after_at"
)


@dataclass(frozen=True)
class Decision:
    id: str
    kind: str
    source: str
    article_id: str | None
    lang: str
    text: str
    status: str  # ACCEPTED | REJECTED
    decided_by: str
    decided_at: datetime
    customers: int
    written: str | None = None
    file: str | None = None
    revision: str | None = None
    before_action: str | None = None
    before_article: str | None = None
    after_action: str | None = None
    after_article: str | None = None
    after_at: datetime | None = None


class SQLSuggestionDecisions:
    """The suggestion_decisions table."""

    def __init__(self, database: Database, clock: Callable[[], datetime] = utc_now) -> None:
        self._db = database
        self._clock = clock

    def record(self, decision: Decision) -> Decision:
        """Keep a decision; a second decision on the same suggestion replaces the first."""
        d = decision
        with self._db.write("record a suggestion decision") as conn:
            conn.execute(
                f"INSERT INTO suggestion_decisions ({_COLUMNS}) VALUES ({', '.join('?' * 18)}) "
                "ON CONFLICT (id) DO UPDATE SET status = excluded.status, written = excluded.written, "
                "article_id = excluded.article_id, decided_by = excluded.decided_by, decided_at = excluded.decided_at, "
                "customers = excluded.customers, file = excluded.file, revision = excluded.revision, "
                "before_action = excluded.before_action, before_article = excluded.before_article, "
                "after_action = excluded.after_action, after_article = excluded.after_article, after_at = excluded.after_at",
                (
                    d.id, d.kind, d.source, d.article_id, d.lang, d.text, d.written, d.status, d.decided_by,
                    self._db.stamp(aware(d.decided_at)), d.customers, d.file, d.revision, d.before_action, d.before_article,
                    d.after_action, d.after_article, self._db.stamp(aware(d.after_at)) if d.after_at else None,
                ),
            )
        return d

    def get(self, suggestion_id: str) -> Decision | None:
        rows = self._db.read("read a suggestion decision", f"SELECT {_COLUMNS} FROM suggestion_decisions WHERE id = ?", (suggestion_id,))
        return self._decision(rows[0]) if rows else None

    def all(self, status: str | None = None) -> list[Decision]:
        """Every decision (or those of `status`), newest first."""
        where, params = ("WHERE status = ?", (status,)) if status else ("", ())
        rows = self._db.read("read suggestion decisions", f"SELECT {_COLUMNS} FROM suggestion_decisions {where} ORDER BY decided_at DESC, id", params)
        return [self._decision(row) for row in rows]

    def decided_ids(self) -> set[str]:
        return {row["id"] for row in self._db.read("read decided suggestions", "SELECT id FROM suggestion_decisions")}

    def record_results(self, results: Iterable[tuple[str, str, str | None]]) -> int:
        """What the bot now does with each accepted question: (suggestion id, action, article id)."""
        items = list(results)
        if items:
            now = self._db.stamp(aware(self._clock()))
            with self._db.write("record re-asked suggestions") as conn:
                for suggestion_id, action, article_id in items:
                    conn.execute(
                        "UPDATE suggestion_decisions SET after_action = ?, after_article = ?, after_at = ? WHERE id = ?",
                        (action, article_id, now, suggestion_id),
                    )
        return len(items)

    def _decision(self, row: Any) -> Decision:
        return Decision(
            row["id"], row["kind"], row["source"], row["article_id"], row["lang"], row["text"], row["status"], row["decided_by"],
            self._db.time(row["decided_at"]), int(row["customers"]), row["written"], row["file"], row["revision"],
            row["before_action"], row["before_article"], row["after_action"], row["after_article"],
            self._db.time(row["after_at"]) if row["after_at"] is not None else None,
        )


def open_suggestion_decisions(store: Store, clock: Callable[[], datetime] = utc_now) -> SQLSuggestionDecisions:
    """The decisions on suggestions kept in the store's database."""
    return SQLSuggestionDecisions(database_of(store, "suggestion decisions"), clock)
