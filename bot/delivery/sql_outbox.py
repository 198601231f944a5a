"""The outbox in the store's own database, SQLite or PostgreSQL (table `outbox`, migration 0002_delivery)."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.delivery.outbox import Enqueued, Outbox, OutboxItem
from bot.store.db import Database, aware, database_of
from bot.store.model import Store, utc_now

_ITEM = "id, channel, target, payload, dedup_key, status, attempts, next_attempt, created_at, sent_at, last_error, result"


def _item(db: Database, row: Any) -> OutboxItem:
    return OutboxItem(
        id=row["id"], channel=row["channel"], target=row["target"], payload=db.json(row["payload"]),
        dedup_key=row["dedup_key"], status=row["status"], attempts=row["attempts"],
        next_attempt=db.time(row["next_attempt"]), created_at=db.time(row["created_at"]),
        sent_at=None if row["sent_at"] is None else db.time(row["sent_at"]),
        last_error=row["last_error"], result=None if row["result"] is None else db.json(row["result"]),
    )


def _placeholders(values: Collection[object]) -> str:
    return ", ".join("?" for _ in values)


class SQLOutbox:
    """`bot.delivery.outbox.Outbox` in the store's database."""

    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self._db = database
        self._clock = clock

    def _now(self, plus: float = 0.0) -> Any:
        return self._db.stamp(aware(self._clock()) + timedelta(seconds=plus))

    def enqueue(self, channel: str, target: str, payload: Mapping[str, Any], dedup_key: str) -> Enqueued:
        """Store a message to send; the existing row when `dedup_key` was enqueued on this channel before."""
        for name, value in (("channel", channel), ("target", target), ("dedup_key", dedup_key)):
            if not value:
                raise ValueError(f"{name} must not be empty")
        try:
            body = json.dumps(dict(payload), ensure_ascii=False)
        except (TypeError, ValueError) as e:
            raise ValueError(f"payload must be plain JSON data: {e}") from e
        now = self._now()
        with self._db.write("enqueue an outgoing message") as conn:
            inserted = conn.execute(
                "INSERT INTO outbox (channel, target, payload, dedup_key, status, attempts, next_attempt, created_at) "
                "VALUES (?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (channel, dedup_key) DO NOTHING",
                (channel, target, body, dedup_key, now, now),
            ).rowcount
            row = conn.execute(f"SELECT {_ITEM} FROM outbox WHERE channel = ? AND dedup_key = ?", (channel, dedup_key)).fetchone()
        return Enqueued(_item(self._db, row), duplicate=inserted == 0)

    def claim(self, channels: Collection[str], limit: int = 1, lease: float = 60.0) -> list[OutboxItem]:
        """Due rows of these channels, now "sending" for this caller only, the oldest of each target first."""
        names = list(channels)
        if not names:
            return []
        now, until = self._now(), self._now(lease)
        with self._db.write("claim outgoing messages") as conn:
            # A worker that died mid-send left its row "sending": after the lease it is due again.
            conn.execute("UPDATE outbox SET status = 'pending' WHERE status = 'sending' AND claimed_until < ?", (now,))
            candidates = conn.execute(
                f"SELECT id FROM outbox o WHERE o.status = 'pending' AND o.next_attempt <= ? AND o.channel IN ({_placeholders(names)}) "
                "AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.channel = o.channel AND e.target = o.target "
                "AND e.status IN ('pending', 'sending') AND e.id < o.id) "
                f"ORDER BY o.next_attempt, o.id LIMIT ?{self._db.skip_locked}",
                (now, *names, limit),
            ).fetchall()
            claimed = []
            for row in candidates:
                # The compare-and-set: only the caller that moves it out of "pending" sends it.
                won = conn.execute(
                    "UPDATE outbox SET status = 'sending', claimed_until = ?, attempts = attempts + 1 "
                    "WHERE id = ? AND status = 'pending' AND next_attempt <= ?",
                    (until, row["id"], now),
                ).rowcount
                if won == 1:
                    claimed.append(_item(self._db, conn.execute(f"SELECT {_ITEM} FROM outbox WHERE id = ?", (row["id"],)).fetchone()))
        return claimed

    def mark_sent(self, item_id: int, result: Mapping[str, Any] | None = None) -> bool:
        """A claimed row was delivered."""
        body = None if result is None else json.dumps(dict(result), ensure_ascii=False)
        return self._finish(
            "UPDATE outbox SET status = 'sent', sent_at = ?, result = ?, claimed_until = NULL WHERE id = ? AND status = 'sending'",
            (self._now(), body, item_id),
        )

    def retry_later(self, item_id: int, delay: float, error: str) -> bool:
        """A claimed row failed; due again in `delay` seconds."""
        return self._finish(
            "UPDATE outbox SET status = 'pending', next_attempt = ?, last_error = ?, claimed_until = NULL WHERE id = ? AND status = 'sending'",
            (self._now(delay), error[:1000], item_id),
        )

    def mark_failed(self, item_id: int, error: str) -> bool:
        """A claimed row the channel will never accept: kept, never retried."""
        return self._finish(
            "UPDATE outbox SET status = 'failed', last_error = ?, claimed_until = NULL WHERE id = ? AND status = 'sending'",
            (error[:1000], item_id),
        )

    def _finish(self, sql: str, params: tuple[Any, ...]) -> bool:
        with self._db.write("record a delivery") as conn:
            return conn.execute(sql, params).rowcount == 1

    def find(self, channel: str, dedup_key: str) -> OutboxItem | None:
        """The row with this key, or None."""
        rows = self._db.read("read the outbox", f"SELECT {_ITEM} FROM outbox WHERE channel = ? AND dedup_key = ?", (channel, dedup_key))
        return _item(self._db, rows[0]) if rows else None

    def items(self, channel: str | None = None) -> list[OutboxItem]:
        """Every row (of one channel), oldest first, for tests and inspection."""
        where, params = ("WHERE channel = ?", (channel,)) if channel else ("", ())
        return [_item(self._db, row) for row in self._db.read("read the outbox", f"SELECT {_ITEM} FROM outbox {where} ORDER BY id", params)]

    def pending(self, channel: str | None = None) -> int:
        """Rows not yet delivered (pending or being sent), of one channel or all."""
        sql = "SELECT COUNT(*) AS n FROM outbox WHERE status IN ('pending', 'sending')"
        params: tuple[Any, ...] = ()
        if channel is not None:
            sql += " AND channel = ?"
            params = (channel,)
        return int(self._db.read("count the outbox", sql, params)[0]["n"])

    def busy(self, channel: str | None) -> int:
        """Rows of the channel (all for None) being sent, or due now and claimable (not behind an
        earlier row of their target that waits for its retry)."""
        sql = (
            "SELECT COUNT(*) AS n FROM outbox o WHERE (o.status = 'sending' OR (o.status = 'pending' AND o.next_attempt <= ? "
            "AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.channel = o.channel AND e.target = o.target "
            "AND e.status IN ('pending', 'sending') AND e.id < o.id)))"
        )
        params: tuple[Any, ...] = (self._now(),)
        if channel is not None:
            sql += " AND o.channel = ?"
            params += (channel,)
        return int(self._db.read("count the outbox's due rows", sql, params)[0]["n"])

    def prune(self, before: datetime) -> int:
        """Delete rows sent before `before`; the number deleted."""
        with self._db.write("prune the outbox") as conn:
            return conn.execute("DELETE FROM outbox WHERE status = 'sent' AND sent_at < ?", (self._db.stamp(aware(before)),)).rowcount


def open_outbox(store: Store, clock: Callable[[], datetime] = utc_now) -> Outbox:
    """The outbox kept in the store's database."""
    return SQLOutbox(database_of(store, "outbox"), clock=clock)


def outbox_pending(store: Store, channel: str | None) -> int | None:
    """Messages not yet delivered on the channel (all channels for None); None if the store keeps no outbox."""
    if getattr(store, "database", None) is None:
        return None
    return open_outbox(store).pending(channel)
