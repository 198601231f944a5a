"""The conversation store in SQL, written once for SQLite and PostgreSQL (opened by `bot.store.connect`).

The queries are here (messages' in bot.store.sql_messages, agents' in bot.store.sql_agents); the database (`bot.store.db.Database`: bot.store.sqlite or bot.store.postgres)
holds the connections, applies the migrations and converts timestamps and JSON.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from contextlib import AbstractContextManager
from typing import Any

from bot.errors import StorageError
from bot.store.db import Connection, Database, HealthProbe, Migration, aware
from bot.store.sql_agents import SQLAgents
from bot.store.sql_messages import SQLMessages
from bot.store.rows import (
    CONVERSATION_COLUMNS, FEEDBACK_COLUMNS, OPEN_OF, TICKET_COLUMNS,
    read_conversation, read_feedback, to_json, period_conditions, placeholders, read_ticket, where_clause,
)
from bot.store.model import (
    KEEP, QUEUE_STATES, STATES, TICKET_STATUSES, Conversation, Feedback, Keep, State, Ticket, TicketStatus, utc_now,
)


class SQLStore(SQLMessages, SQLAgents):
    """`bot.store.model.Store` on a SQL database: one SQLite file or one PostgreSQL database."""

    def __init__(self, database: Database, migrations: list[Migration], clock: Callable[[], datetime] = utc_now) -> None:
        aware(clock())  # a naive clock would store local times as UTC; refuse it before any write
        self._clock = clock
        self._db = database
        self.path = database.name  # the file, or the URL without its password
        self.health_probe = HealthProbe(database)  # its `every` may be lowered (tests)
        try:
            database.migrate(migrations, applied_at=self._clock())
            database.open()
        except BaseException:
            database.close()
            raise

    def _now(self) -> Any:
        """Now, as the database stores it."""
        return self._db.stamp(aware(self._clock()))

    def atomic(self) -> AbstractContextManager[None]:
        """Several writes as one transaction (one commit, one fsync): all of them or none."""
        return self._db.atomic("store several changes together")

    def health(self) -> str | None:
        """None when the store can be written now, else why not (probed at most every 2 s)."""
        return self.health_probe()

    @property
    def database(self) -> Database:
        """The connections, for the modules that keep their tables in the same database (bot/delivery/sql_outbox.py)."""
        return self._db

    def close(self) -> None:
        """Close every connection; the store cannot be used afterwards."""
        self._db.close()

    # -- conversations

    def create_conversation(
        self, channel: str, external_user: str, lang: str, *, email: str | None = None, meta: Mapping[str, Any] | None = None
    ) -> Conversation:
        """Start a conversation in state "bot"; StorageError if the user already has an open one."""
        with self._db.write("create a conversation") as conn:
            created = self._insert_conversation(conn, channel, external_user, lang, email, meta or {})
            if created is not None:
                return created
            existing = self._open_of(conn, channel, external_user)
            raise StorageError(
                f"{self.path}: {channel} user {external_user!r} already has open conversation {existing.id if existing else '?'}; "
                "close it first or use find_or_create_conversation()"
            )

    def find_or_create_conversation(self, channel: str, external_user: str, lang: str) -> Conversation:
        """The user's open conversation on this channel, created atomically if there is none."""
        with self._db.write("find or create a conversation") as conn:
            existing = self._open_of(conn, channel, external_user)
            if existing is not None:
                return existing
            created = self._insert_conversation(conn, channel, external_user, lang, None, {})
            # Lost a race: the other insert committed first, and READ COMMITTED sees it now.
            found = created or self._open_of(conn, channel, external_user)
            if found is None:
                raise StorageError(f"{self.path}: cannot find or create a conversation for {channel} user {external_user!r}; try again")
            return found

    def _open_of(self, conn: Connection, channel: str, external_user: str) -> Conversation | None:
        row = conn.execute(OPEN_OF, (channel, external_user)).fetchone()
        return None if row is None else read_conversation(self._db, row)

    def _insert_conversation(
        self, conn: Connection, channel: str, external_user: str, lang: str, email: str | None, meta: Mapping[str, Any]
    ) -> Conversation | None:
        """The new conversation, or None if the user has an open one (the unique index decides)."""
        for name, value in (("channel", channel), ("external_user", external_user), ("lang", lang)):
            if not value:
                raise ValueError(f"{name} must not be empty")
        now = self._now()
        row = conn.execute(
            f"INSERT INTO conversations ({CONVERSATION_COLUMNS}) VALUES (?, ?, ?, ?, 'bot', NULL, NULL, ?, ?, NULL, ?, ?) "
            f"ON CONFLICT (channel, external_user) WHERE state <> 'closed' DO NOTHING RETURNING {CONVERSATION_COLUMNS}",
            (uuid.uuid4().hex, channel, external_user, lang, now, now, email, to_json("meta", dict(meta))),
        ).fetchone()
        return None if row is None else read_conversation(self._db, row)

    def _conversation_in(self, conn: Connection, conversation_id: str) -> Conversation:
        row = conn.execute(f"SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        if row is None:
            raise StorageError(f"{self.path}: no conversation {conversation_id!r}; check the id or create the conversation first")
        return read_conversation(self._db, row)

    def get_conversation(self, conversation_id: str) -> Conversation | None:
        """One conversation, or None."""
        rows = self._db.read("read a conversation", f"SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?", (conversation_id,))
        return read_conversation(self._db, rows[0]) if rows else None

    def find_open_conversation(self, channel: str, external_user: str) -> Conversation | None:
        """The user's conversation on this channel that is not closed, or None."""
        rows = self._db.read("find an open conversation", OPEN_OF, (channel, external_user))
        return read_conversation(self._db, rows[0]) if rows else None

    def update_conversation(
        self,
        conversation_id: str,
        *,
        lang: str | Keep = KEEP,
        topic: str | None | Keep = KEEP,
        email: str | None | Keep = KEEP,
        meta: Mapping[str, Any] | Keep = KEEP,
    ) -> Conversation:
        """Set the given fields (meta is replaced whole) and return the conversation."""
        sets, params = ["updated_at = ?"], [self._now()]
        if not isinstance(lang, Keep):
            if not lang:
                raise ValueError("lang must not be empty; pass an ISO 639-1 code such as 'en'")
            sets.append("lang = ?")
            params.append(lang)
        for column, value in (("topic", topic), ("email", email)):
            if not isinstance(value, Keep):
                sets.append(f"{column} = ?")
                params.append(value)
        if not isinstance(meta, Keep):
            sets.append("meta = ?")
            params.append(to_json("meta", dict(meta)))
        with self._db.write("update a conversation") as conn:
            conn.execute(f"UPDATE conversations SET {', '.join(sets)} WHERE id = ?", (*params, conversation_id))
            return self._conversation_in(conn, conversation_id)

    def transition(
        self, conversation_id: str, from_states: Collection[State], to_state: State, agent: str | None = None
    ) -> bool:
        """Move to `to_state` only if the state is in `from_states`; False if it was not (or no such id)."""
        for state in (*from_states, to_state):
            if state not in STATES:
                raise ValueError(f"state {state!r} is not one of {', '.join(STATES)}")
        if not from_states:
            raise ValueError("from_states must name at least one state")
        if (to_state == "agent") != (agent is not None):
            raise ValueError("pass agent=<agent id> when, and only when, to_state is 'agent'")
        now = self._now()
        sets, params = ["state = ?", "updated_at = ?"], [to_state, now]
        if to_state == "agent":
            sets += ["agent = ?", "waiting_since = NULL"]
            params.append(agent)
        elif to_state in QUEUE_STATES:
            # Moving within the queue (waiting <-> missed, or re-entering) keeps the place in it.
            sets += ["agent = NULL", f"waiting_since = CASE WHEN state IN ({placeholders(QUEUE_STATES)}) THEN waiting_since ELSE ? END"]
            params += [*QUEUE_STATES, now]
        elif to_state == "bot":
            sets += ["agent = NULL", "waiting_since = NULL"]
        else:  # closed keeps the agent, for reports
            sets.append("waiting_since = NULL")
        states = list(dict.fromkeys(from_states))
        sql = f"UPDATE conversations SET {', '.join(sets)} WHERE id = ? AND state IN ({placeholders(states)})"
        try:
            with self._db.write("change a conversation's state") as conn:
                changed = conn.execute(sql, (*params, conversation_id, *states)).rowcount
        except StorageError as e:
            if self._db.is_unique_violation(e.__cause__):
                raise StorageError(
                    f"{self.path}: cannot reopen conversation {conversation_id}: its user has another open conversation "
                    "on this channel; close that one first"
                ) from e.__cause__
            raise
        return changed == 1

    def waiting_queue(
        self, languages: Collection[str], limit: int | None = None, states: Collection[State] = ("waiting",)
    ) -> list[Conversation]:
        """Conversations in the queue `states`: those in `languages` first, then the rest; oldest waiting first."""
        wanted = list(dict.fromkeys(states))
        if not wanted or any(state not in QUEUE_STATES for state in wanted):
            raise ValueError(f"queue states must be some of {', '.join(QUEUE_STATES)}, not {wanted}")
        langs = list(dict.fromkeys(code.lower() for code in languages))
        params: list[Any] = [*wanted, *langs]  # in the order of the placeholders: WHERE, then ORDER BY
        first = f"CASE WHEN lang IN ({placeholders(langs)}) THEN 0 ELSE 1 END, " if langs else ""
        sql = (
            f"SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE state IN ({placeholders(wanted)}) "
            f"ORDER BY {first}waiting_since, created_at, id"
        )
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [read_conversation(self._db, row) for row in self._db.read("read the waiting queue", sql, params)]

    def list_conversations(
        self,
        *,
        channel: str | None = None,
        state: State | None = None,
        agent: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Conversation]:
        """Conversations created in [since, until), oldest first, for reports and the console;
        `agent`: only those that agent has."""
        where, params = period_conditions(self._db, "created_at", since, until)
        for column, value in (("channel", channel), ("state", state), ("agent", agent)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = f"SELECT {CONVERSATION_COLUMNS} FROM conversations{where_clause(where)} ORDER BY created_at, id"
        return [read_conversation(self._db, row) for row in self._db.read("list conversations", sql, params)]

    # -- feedback

    def add_feedback(
        self,
        conversation_id: str,
        *,
        message_id: int | None = None,
        helpful: bool | None = None,
        csat: int | None = None,
    ) -> Feedback:
        """Record either a yes/no on a bot message (`message_id` + `helpful`) or a 1..5 `csat`."""
        if (helpful is None) == (csat is None):
            raise ValueError("pass exactly one of helpful= (yes/no on an answer) or csat= (1..5 rating)")
        if csat is not None and (isinstance(csat, bool) or not isinstance(csat, int) or not 1 <= csat <= 5):
            raise ValueError(f"csat must be an integer from 1 to 5, not {csat!r}")
        if helpful is not None and message_id is None:
            raise ValueError("helpful= rates a bot answer; pass message_id= of that answer")
        with self._db.write("store feedback") as conn:
            if message_id is not None:
                owner = conn.execute("SELECT conversation_id FROM messages WHERE id = ?", (message_id,)).fetchone()
                if owner is None or owner["conversation_id"] != conversation_id:
                    raise ValueError(f"message {message_id} is not in conversation {conversation_id}; pass the id of its bot answer")
            row = conn.execute(
                f"INSERT INTO feedback (conversation_id, message_id, helpful, csat, created_at) VALUES (?, ?, ?, ?, ?) RETURNING {FEEDBACK_COLUMNS}",
                (conversation_id, message_id, None if helpful is None else bool(helpful), csat, self._now()),
            ).fetchone()
        return read_feedback(self._db, row)

    def list_feedback(
        self, *, conversation_id: str | None = None, since: datetime | None = None, until: datetime | None = None
    ) -> list[Feedback]:
        """Feedback of one conversation or created in [since, until), oldest first."""
        where, params = period_conditions(self._db, "created_at", since, until)
        if conversation_id is not None:
            where.append("conversation_id = ?")
            params.append(conversation_id)
        sql = f"SELECT {FEEDBACK_COLUMNS} FROM feedback{where_clause(where)} ORDER BY id"
        return [read_feedback(self._db, row) for row in self._db.read("list feedback", sql, params)]

    # -- tickets

    def create_ticket(self, conversation_id: str, email: str, lang: str) -> Ticket:
        """Open a ticket the team answers by e-mail."""
        if not email.strip():
            raise ValueError("email must not be empty; the team answers tickets by e-mail")
        with self._db.write("create a ticket") as conn:
            if conn.execute("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)).fetchone() is None:
                raise StorageError(f"{self.path}: no conversation {conversation_id!r}; a ticket belongs to a conversation")
            row = conn.execute(
                f"INSERT INTO tickets (conversation_id, email, lang, status, created_at) VALUES (?, ?, ?, 'open', ?) RETURNING {TICKET_COLUMNS}",
                (conversation_id, email.strip(), lang, self._now()),
            ).fetchone()
        return read_ticket(self._db, row)

    def _ticket_in(self, conn: Connection, ticket_id: int) -> Ticket:
        row = conn.execute(f"SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        if row is None:
            raise StorageError(f"{self.path}: no ticket #{ticket_id}; list them with list_tickets()")
        return read_ticket(self._db, row)

    def get_ticket(self, ticket_id: int) -> Ticket | None:
        """One ticket, or None."""
        rows = self._db.read("read a ticket", f"SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?", (ticket_id,))
        return read_ticket(self._db, rows[0]) if rows else None

    def list_tickets(
        self, *, status: TicketStatus | None = None, since: datetime | None = None, until: datetime | None = None
    ) -> list[Ticket]:
        """Tickets with this status and/or created in [since, until), oldest first."""
        where, params = period_conditions(self._db, "created_at", since, until)
        if status is not None:
            if status not in TICKET_STATUSES:
                raise ValueError(f"status {status!r} is not one of {', '.join(TICKET_STATUSES)}")
            where.append("status = ?")
            params.append(status)
        sql = f"SELECT {TICKET_COLUMNS} FROM tickets{where_clause(where)} ORDER BY id"
        return [read_ticket(self._db, row) for row in self._db.read("list tickets", sql, params)]

    def answer_ticket(self, ticket_id: int, answer: str) -> Ticket:
        """Record the team's answer: status "answered", answered_at now."""
        if not answer.strip():
            raise ValueError("answer must not be empty")
        with self._db.write("answer a ticket") as conn:
            conn.execute(
                "UPDATE tickets SET status = 'answered', answered_at = ?, answer = ? WHERE id = ?", (self._now(), answer, ticket_id)
            )
            return self._ticket_in(conn, ticket_id)

    def close_ticket(self, ticket_id: int) -> Ticket:
        """Set status "closed"."""
        with self._db.write("close a ticket") as conn:
            conn.execute("UPDATE tickets SET status = 'closed' WHERE id = ?", (ticket_id,))
            return self._ticket_in(conn, ticket_id)
