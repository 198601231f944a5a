"""Handling a delivery once: a channel's retried event or a double-clicked button.

Customer messages are deduplicated by the store itself (`add_message(external_id=...)`);
this is for the deliveries that store no customer message: an agent's reply from a channel
(`Desk.agent_reply` takes no external id) and a set of buttons, which counts once. The claim
is committed before the action, so a crash right after it loses that one action rather than
doing it twice.
"""

from __future__ import annotations

from typing import Protocol

from bot.store.model import Store


class SeenKeys(Protocol):
    def first_time(self, channel: str, key: str) -> bool:
        """Record `key`; True only for the first caller, in any process."""
        ...


def open_seen_keys(store: Store) -> SeenKeys:
    """The seen keys kept in the store's database."""
    from bot.store.db import database_of
    from bot.delivery.sql_delivery import SQLSeenKeys

    return SQLSeenKeys(database_of(store, "seen keys"))
