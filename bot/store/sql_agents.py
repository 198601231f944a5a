"""Agent accounts in the SQL store: the part of `bot.store.sql.SQLStore` that keeps them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.errors import StorageError
from bot.store.db import Database, aware
from bot.store.model import Agent
from bot.store.rows import AGENT_COLUMNS, read_agent, to_json


NEW_AGENT_COLUMNS = "id, name, email, password_hash, languages, created_at"


class SQLAgents:
    """Agents' rows; mixed into `SQLStore`, which provides the database and the clock."""

    _db: Database
    path: str
    _now: Callable[[], Any]

    def add_agent(self, name: str, email: str, password_hash: str, languages: Sequence[str]) -> Agent:
        """Create an agent; StorageError if the e-mail address is taken."""
        address = email.strip().lower()
        if not name.strip() or not address:
            raise ValueError("an agent needs a name and an e-mail address")
        if isinstance(languages, str):
            raise ValueError("languages must be a list of codes such as ['en', 'tr'], not one string")
        codes = [code.strip().lower() for code in languages if code.strip()]
        with self._db.write("add an agent") as conn:
            row = conn.execute(
                f"INSERT INTO agents ({NEW_AGENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (email) DO NOTHING RETURNING {AGENT_COLUMNS}",
                (uuid.uuid4().hex, name.strip(), address, password_hash, to_json("languages", codes), self._now()),
            ).fetchone()
        if row is None:
            raise StorageError(f"{self.path}: an agent with e-mail {address} already exists; use another address")
        return read_agent(self._db, row)

    def get_agent(self, agent_id: str) -> Agent | None:
        """One agent by id, or None."""
        rows = self._db.read("read an agent", f"SELECT {AGENT_COLUMNS} FROM agents WHERE id = ?", (agent_id,))
        return read_agent(self._db, rows[0]) if rows else None

    def get_agent_by_email(self, email: str) -> Agent | None:
        """One agent by e-mail address (any case), or None."""
        rows = self._db.read("read an agent", f"SELECT {AGENT_COLUMNS} FROM agents WHERE email = ?", (email.strip().lower(),))
        return read_agent(self._db, rows[0]) if rows else None

    def list_agents(self, removed: bool = False) -> list[Agent]:
        """Every agent account, by e-mail address; removed ones too when `removed`."""
        where = "" if removed else " WHERE removed_at IS NULL"
        return [read_agent(self._db, row) for row in self._db.read("list agents", f"SELECT {AGENT_COLUMNS} FROM agents{where} ORDER BY email", ())]

    def touch_agent(self, agent_id: str, seen: datetime | None, every: float = 30.0) -> None:
        """Record the agent's latest activity (None: signed out); a write at most every `every` seconds."""
        if seen is None:
            with self._db.write("sign an agent out") as conn:
                conn.execute("UPDATE agents SET seen_at = NULL WHERE id = ?", (agent_id,))
            return
        stamp = self._db.stamp(aware(seen, "seen"))
        stale = self._db.stamp(aware(seen - timedelta(seconds=every), "seen"))
        with self._db.write("record an agent's activity") as conn:
            conn.execute("UPDATE agents SET seen_at = ? WHERE id = ? AND (seen_at IS NULL OR seen_at <= ?)", (stamp, agent_id, stale))

    def present_agents(self, since: datetime) -> list[Agent]:
        """Agents (not removed) active since `since`, most recent first."""
        rows = self._db.read(
            "list present agents",
            f"SELECT {AGENT_COLUMNS} FROM agents WHERE seen_at >= ? AND removed_at IS NULL ORDER BY seen_at DESC, email",
            (self._db.stamp(aware(since, "since")),),
        )
        return [read_agent(self._db, row) for row in rows]

    def remove_agent(self, agent_id: str) -> Agent | None:
        """Mark an agent removed (the row stays: messages and reports name it); None if there is none."""
        with self._db.write("remove an agent") as conn:
            # session_generation + 1: a removed agent's console sessions end at once.
            conn.execute(
                "UPDATE agents SET removed_at = ?, seen_at = NULL, session_generation = session_generation + 1 WHERE id = ? AND removed_at IS NULL",
                (self._now(), agent_id),
            )
            row = conn.execute(f"SELECT {AGENT_COLUMNS} FROM agents WHERE id = ?", (agent_id,)).fetchone()
        return read_agent(self._db, row) if row else None

    def restore_agent(self, agent_id: str, name: str, password_hash: str, languages: Sequence[str]) -> Agent | None:
        """Bring a removed agent back with a new name, password and languages."""
        codes = [code.strip().lower() for code in languages if code.strip()]
        with self._db.write("restore an agent") as conn:
            conn.execute(
                "UPDATE agents SET removed_at = NULL, name = ?, password_hash = ?, languages = ? WHERE id = ?",
                (name.strip(), password_hash, to_json("languages", codes), agent_id),
            )
            row = conn.execute(f"SELECT {AGENT_COLUMNS} FROM agents WHERE id = ?", (agent_id,)).fetchone()
        return read_agent(self._db, row) if row else None

    def update_agent(
        self, agent_id: str, *, password_hash: str | None = None, languages: Sequence[str] | None = None, end_sessions: bool = False
    ) -> Agent | None:
        """Change an agent's password hash and/or languages (`end_sessions`: and end every console
        session of theirs); the agent as stored now, None if there is none."""
        changes: list[str] = []
        values: list[object] = []
        if password_hash is not None:
            changes.append("password_hash = ?")
            values.append(password_hash)
        if languages is not None:
            changes.append("languages = ?")
            values.append(to_json("languages", [c.strip().lower() for c in languages if c.strip()]))
        if end_sessions:
            changes.append("session_generation = session_generation + 1")
        with self._db.write("update an agent") as conn:
            if changes:
                conn.execute(f"UPDATE agents SET {', '.join(changes)} WHERE id = ?", (*values, agent_id))
            row = conn.execute(f"SELECT {AGENT_COLUMNS} FROM agents WHERE id = ?", (agent_id,)).fetchone()
        return read_agent(self._db, row) if row else None

    def end_sessions(self, agent_id: str) -> Agent | None:
        """End every console session of the agent (session_generation + 1); None if there is none."""
        return self.update_agent(agent_id, end_sessions=True)
