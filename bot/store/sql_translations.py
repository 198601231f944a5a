"""Translation checks in the store's own database (migration 0004_translations): for each
translation, its source's hash when it was written or confirmed, and who confirmed it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.store.db import Database, aware, database_of
from bot.store.model import Store, utc_now
from index.translations import Recorded, Translation

_COLUMNS = "article_id, lang, translation_hash, source_lang, source_hash, recorded_at, checked_by"


@dataclass(frozen=True)
class TranslationCheck:
    article_id: str
    lang: str
    translation_hash: str
    source_lang: str
    source_hash: str
    recorded_at: datetime
    checked_by: str | None  # an agent id; None when a reindex recorded it as written

    @property
    def recorded(self) -> Recorded:
        return Recorded(self.translation_hash, self.source_lang, self.source_hash)


class SQLTranslationChecks:
    """The translation_checks table."""

    def __init__(self, database: Database, clock: Callable[[], datetime] = utc_now) -> None:
        self._db = database
        self._clock = clock

    def all(self) -> dict[tuple[str, str], TranslationCheck]:
        """Every record, by (article id, language)."""
        rows = self._db.read("read translation checks", f"SELECT {_COLUMNS} FROM translation_checks")
        return {(row["article_id"], row["lang"]): self._check(row) for row in rows}

    def get(self, article_id: str, lang: str) -> TranslationCheck | None:
        rows = self._db.read(
            "read a translation check", f"SELECT {_COLUMNS} FROM translation_checks WHERE article_id = ? AND lang = ?", (article_id, lang)
        )
        return self._check(rows[0]) if rows else None

    def record(self, translations: Iterable[Translation], checked_by: str | None = None) -> int:
        """Record each translation against its source as it is now (one transaction); how many."""
        items = list(translations)
        if not items:
            return 0
        now = self._db.stamp(aware(self._clock()))
        with self._db.write("record translation checks") as conn:
            for t in items:
                conn.execute(
                    f"INSERT INTO translation_checks ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (article_id, lang) DO UPDATE SET translation_hash = excluded.translation_hash, "
                    "source_lang = excluded.source_lang, source_hash = excluded.source_hash, "
                    "recorded_at = excluded.recorded_at, checked_by = excluded.checked_by",
                    (t.article_id, t.lang, t.hash, t.source_lang, t.source_hash, now, checked_by),
                )
        return len(items)

    def forget(self, keys: Iterable[tuple[str, str]]) -> int:
        """Drop the records of versions that are no translation any more (deleted, or now the original)."""
        gone = list(keys)
        if gone:
            with self._db.write("forget translation checks") as conn:
                for article_id, lang in gone:
                    conn.execute("DELETE FROM translation_checks WHERE article_id = ? AND lang = ?", (article_id, lang))
        return len(gone)

    def _check(self, row: Any) -> TranslationCheck:
        return TranslationCheck(
            row["article_id"], row["lang"], row["translation_hash"], row["source_lang"], row["source_hash"],
            self._db.time(row["recorded_at"]), row["checked_by"],
        )


def open_translation_checks(store: Store, clock: Callable[[], datetime] = utc_now) -> SQLTranslationChecks:
    """The translation checks kept in the store's database."""
    return SQLTranslationChecks(database_of(store, "translation checks"), clock)
