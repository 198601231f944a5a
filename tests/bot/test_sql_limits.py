"""The rate-limit counters in the store (bot/store/sql_limits.py) over a real SQLite file."""

from __future__ import annotations

from pathlib import Path

from bot.store.connect import open_store
from bot.store.sql_limits import SQLLimits, Window


def test_counters_count_per_window_in_one_statement_and_expired_rows_are_pruned(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "limits.db"))
    try:
        limits = SQLLimits(store.database, prune_every=3600)  # type: ignore[attr-defined]
        windows = [Window("a", 60, 120), Window("b", 0, 3600)]
        assert limits.hit(windows, 61) == {"a": 1, "b": 1}
        assert limits.hit(windows, 62) == {"a": 2, "b": 2}
        assert limits.hit([Window("a", 120, 180)], 121) == {"a": 1}  # the next window starts at 1
        assert limits.prune(130) == 1  # a's first window
        assert limits.prune(130) == 0
    finally:
        store.close()


def test_failures_count_in_a_row_are_forgotten_and_cleared(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "limits.db"))
    try:
        limits = SQLLimits(store.database)  # type: ignore[attr-defined]
        assert limits.fail(["acct", "ip"], now=100, forget_at=200) == {"acct": 1, "ip": 1}
        assert limits.fail(["acct"], now=150, forget_at=250) == {"acct": 2}
        assert limits.failures(["acct", "ip", "other"], now=210) == {"acct": (2, 250)}
        assert limits.fail(["ip"], now=210, forget_at=310) == {"ip": 1}  # its failures were forgotten at 200
        limits.forget(["acct"])
        assert limits.failures(["acct"], now=210) == {}
    finally:
        store.close()
