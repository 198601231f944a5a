"""Rate-limit counters in the store's own database (migration 0006_limits), so a limit holds
across `answerdesk serve --workers N` and across hosts: every worker counts in the same rows.

Two kinds of row in `rate_limits`: a fixed-window counter, `(key, window_start) -> count`, one
upsert per limited request for all its keys; and a failure counter (window_start 0), the
sign-in failures in a row, forgotten at `expires_at`. Times are whole Unix seconds. Rows past
`expires_at` are deleted at most once a minute per process.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bot.store.db import Database

PRUNE_EVERY = 60.0  # seconds between deletions of expired rows, per process
_FAILURES = 0  # the window_start of a failure counter


@dataclass(frozen=True)
class Window:
    """One fixed window of one key: counted until `expires_at` (Unix seconds)."""

    key: str
    start: int
    expires_at: int


class SQLLimits:
    """Counters shared by every process that uses `database`."""

    def __init__(self, database: Database, prune_every: float = PRUNE_EVERY) -> None:
        self._db = database
        self._prune_every = prune_every
        self._pruned_at = -math.inf
        self._lock = threading.Lock()

    def hit(self, windows: Sequence[Window], now: int) -> dict[str, int]:
        """Add one to each window's counter, in one statement; each key's count after it."""
        unique = list({(w.key, w.start): w for w in windows}.values())  # an upsert may touch a row once
        if not unique:
            return {}
        values = ", ".join("(?, ?, 1, ?)" for _ in unique)
        params = [value for w in unique for value in (w.key, w.start, w.expires_at)]
        with self._db.write("count a rate limit") as conn:
            rows = conn.execute(
                f"INSERT INTO rate_limits (key, window_start, count, expires_at) VALUES {values} "
                "ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limits.count + 1 RETURNING key, count",
                params,
            ).fetchall()
        self._prune_now_and_then(now)
        return {row["key"]: row["count"] for row in rows}

    def failures(self, keys: Sequence[str], now: int) -> dict[str, tuple[int, int]]:
        """(failures in a row, when they are forgotten) of each key that has some now."""
        if not keys:
            return {}
        marks = ", ".join("?" for _ in keys)
        rows = self._db.read(
            "read sign-in failures",
            f"SELECT key, count, expires_at FROM rate_limits WHERE window_start = ? AND expires_at > ? AND key IN ({marks})",
            (_FAILURES, now, *keys),
        )
        return {row["key"]: (row["count"], row["expires_at"]) for row in rows}

    def fail(self, keys: Sequence[str], now: int, forget_at: int) -> dict[str, int]:
        """One more failure for each key (the first, if the last ones were forgotten); the counts after it."""
        unique = list(dict.fromkeys(keys))
        if not unique:
            return {}
        values = ", ".join("(?, ?, 1, ?)" for _ in unique)
        params = [value for key in unique for value in (key, _FAILURES, forget_at)]
        with self._db.write("count a sign-in failure") as conn:
            rows = conn.execute(
                f"INSERT INTO rate_limits (key, window_start, count, expires_at) VALUES {values} "
                "ON CONFLICT (key, window_start) DO UPDATE SET "
                "count = CASE WHEN rate_limits.expires_at <= ? THEN 1 ELSE rate_limits.count + 1 END, "
                "expires_at = excluded.expires_at RETURNING key, count",
                [*params, now],
            ).fetchall()
        return {row["key"]: row["count"] for row in rows}

    def forget(self, keys: Sequence[str]) -> None:
        """Clear the failures of these keys (a sign-in that succeeded)."""
        if not keys:
            return
        marks = ", ".join("?" for _ in keys)
        with self._db.write("clear sign-in failures") as conn:
            conn.execute(f"DELETE FROM rate_limits WHERE window_start = ? AND key IN ({marks})", (_FAILURES, *keys))

    def prune(self, now: int) -> int:
        """Delete every row that has expired; how many."""
        with self._db.write("prune rate limits") as conn:
            return conn.execute("DELETE FROM rate_limits WHERE expires_at <= ?", (now,)).rowcount

    def _prune_now_and_then(self, now: int) -> None:
        with self._lock:
            if time.monotonic() - self._pruned_at < self._prune_every:
                return
            self._pruned_at = time.monotonic()
        self.prune(now)
