"""Desk cards, relay cursors and seen keys in the store's own database (migration 0002_delivery)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.delivery.notify import Card, DeskCards
from bot.store.db import Database, aware, database_of
from bot.store.model import Store, utc_now

_CARD = "id, desk, conversation_id, episode, ref, announced, shown_state, last_message_id, active, created_at"


def _card(db: Database, row: Any) -> Card:
    return Card(
        id=row["id"], desk=row["desk"], conversation_id=row["conversation_id"], episode=row["episode"], ref=row["ref"],
        announced=bool(row["announced"]), shown_state=row["shown_state"], last_message_id=row["last_message_id"],
        active=bool(row["active"]), created_at=db.time(row["created_at"]),
    )


class SQLDeskCards:
    """`bot.delivery.notify.DeskCards` in the store's database."""

    def __init__(self, database: Database, clock: Callable[[], datetime] = utc_now) -> None:
        self._db = database
        self._clock = clock

    def open_card(self, desk: str, conversation_id: str, episode: str, shown_state: str) -> bool:
        """Record a card for this episode, holding the messages so far; False when it exists already."""
        key = (desk, conversation_id, episode)
        if self._db.read("read a desk card", "SELECT 1 FROM desk_cards WHERE desk = ? AND conversation_id = ? AND episode = ?", key):
            return False  # the common case, every poll: no write lock taken
        with self._db.write("open a desk card") as conn:
            return conn.execute(
                "INSERT INTO desk_cards (desk, conversation_id, episode, shown_state, last_message_id, created_at) "
                "VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(id), 0) FROM messages WHERE conversation_id = ?), ?) "
                "ON CONFLICT (desk, conversation_id, episode) DO NOTHING",
                (*key, shown_state, conversation_id, self._db.stamp(aware(self._clock()))),
            ).rowcount == 1

    def active_cards(self, desk: str) -> list[Card]:
        """Cards still following their conversation, oldest first."""
        rows = self._db.read("list desk cards", f"SELECT {_CARD} FROM desk_cards WHERE desk = ? AND active = ? ORDER BY id", (desk, True))
        return [_card(self._db, row) for row in rows]

    def get_card(self, card_id: int) -> Card | None:
        rows = self._db.read("read a desk card", f"SELECT {_CARD} FROM desk_cards WHERE id = ?", (card_id,))
        return _card(self._db, rows[0]) if rows else None

    def card_by_ref(self, desk: str, ref: str) -> Card | None:
        """The card the desk knows by `ref` (a Slack thread), or None."""
        rows = self._db.read("find a desk card", f"SELECT {_CARD} FROM desk_cards WHERE desk = ? AND ref = ? ORDER BY id DESC LIMIT 1", (desk, ref))
        return _card(self._db, rows[0]) if rows else None

    def mark_announced(self, card_id: int) -> None:
        self._write("UPDATE desk_cards SET announced = ? WHERE id = ?", (True, card_id))

    def set_ref(self, card_id: int, ref: str) -> None:
        self._write("UPDATE desk_cards SET ref = ? WHERE id = ?", (ref, card_id))

    def advance(self, card_id: int, last_message_id: int, expected: int) -> bool:
        """Move the card's message cursor forward, if nobody did meanwhile (compare-and-set)."""
        return self._write(
            "UPDATE desk_cards SET last_message_id = ? WHERE id = ? AND last_message_id = ?", (last_message_id, card_id, expected)
        )

    def show_state(self, card_id: int, shown_state: str, expected: str, active: bool) -> bool:
        """Record the state the card now shows, if nobody did meanwhile (compare-and-set)."""
        return self._write(
            "UPDATE desk_cards SET shown_state = ?, active = ? WHERE id = ? AND shown_state = ?", (shown_state, active, card_id, expected)
        )

    def _write(self, sql: str, params: tuple[object, ...]) -> bool:
        with self._db.write("update a desk card") as conn:
            return conn.execute(sql, params).rowcount == 1


class SQLRelayCursors:
    """`bot.delivery.relay.RelayCursors` in the store's database."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def relay_cursor(self, channel: str) -> int:
        """The last message id relayed on this channel; starts at the newest message when first asked."""
        rows = self._db.read("read a relay cursor", "SELECT after_id FROM relay_cursors WHERE channel = ?", (channel,))
        if rows:
            return int(rows[0]["after_id"])
        with self._db.write("start a relay cursor") as conn:
            conn.execute(
                "INSERT INTO relay_cursors (channel, after_id) VALUES (?, (SELECT COALESCE(MAX(id), 0) FROM messages)) "
                "ON CONFLICT (channel) DO NOTHING",
                (channel,),
            )
            return int(conn.execute("SELECT after_id FROM relay_cursors WHERE channel = ?", (channel,)).fetchone()["after_id"])

    def advance_relay(self, channel: str, after_id: int) -> None:
        """Move the cursor forward (never back)."""
        with self._db.write("move a relay cursor") as conn:
            conn.execute("UPDATE relay_cursors SET after_id = ? WHERE channel = ? AND after_id < ?", (after_id, channel, after_id))

    def outward_messages(self, channel: str, after_id: int, limit: int) -> list[tuple[str, int]]:
        """(conversation id, message id) of bot and agent messages on the channel past `after_id`, in order."""
        rows = self._db.read(
            "list messages to relay",
            "SELECT conversation_id, id FROM messages WHERE channel = ? AND id > ? AND author IN ('bot', 'agent') ORDER BY id LIMIT ?",
            (channel, after_id, limit),
        )
        return [(row["conversation_id"], int(row["id"])) for row in rows]

    def agent_messages(self, after_id: int, limit: int) -> list[tuple[str, int]]:
        """(conversation id, message id) of agents' messages on every channel past `after_id`, in order (the mail relay)."""
        rows = self._db.read(
            "list agents' messages to e-mail",
            "SELECT conversation_id, id FROM messages WHERE id > ? AND author = 'agent' ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [(row["conversation_id"], int(row["id"])) for row in rows]


class SQLSeenKeys:
    """`bot.delivery.dedup.SeenKeys` in the store's database."""

    def __init__(self, database: Database, clock: Callable[[], datetime] = utc_now) -> None:
        self._db = database
        self._clock = clock

    def first_time(self, channel: str, key: str) -> bool:
        """Record `key`; True only for the first caller, in any process."""
        with self._db.write("record a delivery key") as conn:
            return conn.execute(
                "INSERT INTO seen_keys (channel, key, created_at) VALUES (?, ?, ?) ON CONFLICT (channel, key) DO NOTHING",
                (channel, key, self._db.stamp(aware(self._clock()))),
            ).rowcount == 1


def open_cards(store: Store) -> DeskCards:
    """The desk cards kept in the store's database."""
    return SQLDeskCards(database_of(store, "desk cards"))
