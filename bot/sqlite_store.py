"""The conversation store on SQLite: WAL, one connection per thread, a commit per write.

Timestamps are stored as fixed-width UTC ISO-8601 text ("2026-01-02T09:00:00.000000+00:00"),
so comparing the text compares the times. Schema changes are the numbered SQL files in
`bot/migrations/`, applied in order when the store opens.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import uuid
import weakref
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from bot.errors import StorageError
from bot.store import (
    AUTHORS,
    KEEP,
    STATES,
    TICKET_STATUSES,
    AddedMessage,
    Agent,
    Author,
    Choice,
    Conversation,
    Feedback,
    Keep,
    Message,
    State,
    Ticket,
    TicketStatus,
)

MEMORY = ":memory:"
_MIGRATION_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")

_CONVERSATION = "id, channel, external_user, lang, state, agent, topic, created_at, updated_at, waiting_since, email, meta"
_MESSAGE = "id, conversation_id, author, text, created_at, lang, action, article_id, decision, choices, external_id, agent"
_FEEDBACK = "id, conversation_id, message_id, helpful, csat, created_at"
_TICKET = "id, conversation_id, email, lang, status, created_at, answered_at, answer"
_AGENT = "id, name, email, password_hash, languages, created_at"


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str  # the file name, e.g. "0001_initial.sql"
    sql: str


def load_migrations(folder: Traversable | Path | None = None) -> list[Migration]:
    """The migration files of `folder` (default bot/migrations), in version order."""
    folder = folder if folder is not None else resources.files("bot").joinpath("migrations")
    found: list[Migration] = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _MIGRATION_NAME.fullmatch(entry.name)
        if not match:
            raise StorageError(f"{folder}/{entry.name}: migration files are named NNNN_<what>.sql, e.g. 0002_add_tags.sql")
        found.append(Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    for before, after in zip(found, found[1:]):
        if before.version == after.version:
            raise StorageError(f"{folder}: {before.name} and {after.name} have the same number; renumber one")
    return found


class _Held:
    """Holds one thread's connection; weak-referenceable, unlike sqlite3.Connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn


class _Connections:
    """One connection per thread for a file; one shared, locked connection for :memory:."""

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._local = threading.local()
        # Weak so that a finished thread's connection is freed with its thread-local storage.
        self._held: weakref.WeakSet[_Held] = weakref.WeakSet()
        self._registry = threading.Lock()
        # An in-memory database exists once per connection, so every thread must share one.
        self._shared: sqlite3.Connection | None = None
        self._shared_lock = threading.RLock()
        self._closed = False

    def open(self) -> sqlite3.Connection:
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, one transaction per write.
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            # FULL: a committed message survives a power cut too, not only a crash of the process.
            conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.Error as e:
            raise _storage_error(self.path, "open the database", e, self.timeout) from e
        return conn

    @contextmanager
    def use(self) -> Iterator[sqlite3.Connection]:
        if self._closed:
            raise StorageError(f"{self.path}: the store is closed; open a new one with open_store()")
        if self.path == MEMORY:
            with self._shared_lock:
                if self._shared is None:
                    self._shared = self.open()
                yield self._shared
            return
        held: _Held | None = getattr(self._local, "held", None)
        if held is None:
            held = _Held(self.open())
            self._local.held = held
            with self._registry:
                self._held.add(held)
        yield held.conn

    def close(self) -> None:
        self._closed = True
        with self._registry:
            for held in list(self._held):
                held.conn.close()
        with self._shared_lock:
            if self._shared is not None:
                self._shared.close()


def _storage_error(path: str, doing: str, e: BaseException, timeout: float) -> StorageError:
    text = str(e).lower()
    if "locked" in text or "busy" in text:
        fix = f"another connection held the write lock for more than {timeout:g} s; raise ANSWERDESK_DB_BUSY_TIMEOUT or find the long transaction"
    elif "unable to open" in text:
        fix = "check that its folder exists and is writable"
    elif "readonly" in text:
        fix = "make the file and its folder writable by this user"
    elif "not a database" in text or "malformed" in text:
        fix = "it is not an Answerdesk database or it is damaged; restore a backup or set ANSWERDESK_DB to another file"
    elif "disk" in text or "full" in text:
        fix = "check the free disk space"
    else:
        fix = "see the cause above"
    return StorageError(f"{path}: cannot {doing}: {e}; {fix}")


def _stamp(moment: datetime, name: str = "clock") -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware; use datetime.now(timezone.utc)")
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _json(name: str, value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} must be plain JSON data (dict, list, str, number, bool, None): {e}; convert dataclasses with dataclasses.asdict") from e


def _conversation(row: sqlite3.Row) -> Conversation:
    return Conversation(
        id=row["id"], channel=row["channel"], external_user=row["external_user"], lang=row["lang"],
        state=row["state"], agent=row["agent"], topic=row["topic"],
        created_at=datetime.fromisoformat(row["created_at"]), updated_at=datetime.fromisoformat(row["updated_at"]),
        waiting_since=_time(row["waiting_since"]), email=row["email"], meta=json.loads(row["meta"]),
    )


def _message(row: sqlite3.Row) -> Message:
    return Message(
        id=row["id"], conversation_id=row["conversation_id"], author=row["author"], text=row["text"],
        created_at=datetime.fromisoformat(row["created_at"]), lang=row["lang"], action=row["action"],
        article_id=row["article_id"], decision=None if row["decision"] is None else json.loads(row["decision"]),
        choices=tuple(Choice(c["article_id"], c["title"]) for c in json.loads(row["choices"])),
        external_id=row["external_id"], agent=row["agent"],
    )


def _feedback(row: sqlite3.Row) -> Feedback:
    helpful = row["helpful"]
    return Feedback(
        id=row["id"], conversation_id=row["conversation_id"], message_id=row["message_id"],
        helpful=None if helpful is None else bool(helpful), csat=row["csat"],
        created_at=datetime.fromisoformat(row["created_at"]),
    )


def _ticket(row: sqlite3.Row) -> Ticket:
    return Ticket(
        id=row["id"], conversation_id=row["conversation_id"], email=row["email"], lang=row["lang"],
        status=row["status"], created_at=datetime.fromisoformat(row["created_at"]),
        answered_at=_time(row["answered_at"]), answer=row["answer"],
    )


def _agent(row: sqlite3.Row) -> Agent:
    return Agent(
        id=row["id"], name=row["name"], email=row["email"], password_hash=row["password_hash"],
        languages=tuple(json.loads(row["languages"])), created_at=datetime.fromisoformat(row["created_at"]),
    )


def _placeholders(values: Collection[object]) -> str:
    return ", ".join("?" for _ in values)


def _period(column: str, since: datetime | None, until: datetime | None) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if since is not None:
        where.append(f"{column} >= ?")
        params.append(_stamp(since, "since"))
    if until is not None:
        where.append(f"{column} < ?")
        params.append(_stamp(until, "until"))
    return where, params


def _where(conditions: list[str]) -> str:
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


class SQLiteStore:
    """`bot.store.Store` on one SQLite file (or :memory: for tests)."""

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Callable[[], datetime] = utc_now,
        busy_timeout: float = 5.0,
        migrations: Traversable | Path | None = None,
    ) -> None:
        self.path = str(path)
        self._clock = clock
        self._timeout = busy_timeout
        if self.path != MEMORY:
            parent = Path(self.path).parent
            try:
                parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StorageError(f"{self.path}: cannot create the folder {parent}: {e}; create it or set ANSWERDESK_DB to another path") from e
        self._connections = _Connections(self.path, busy_timeout)
        self._migrate(load_migrations(migrations))

    # -- plumbing

    def _now(self) -> str:
        return _stamp(self._clock())

    def _fail(self, doing: str, e: BaseException) -> StorageError:
        return _storage_error(self.path, doing, e, self._timeout)

    @contextmanager
    def _write(self, doing: str) -> Iterator[sqlite3.Connection]:
        """One committed transaction; IMMEDIATE so concurrent writers queue instead of deadlocking."""
        with self._connections.use() as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                raise self._fail(doing, e) from e
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as e:
                if conn.in_transaction:
                    conn.rollback()
                if isinstance(e, sqlite3.Error):
                    raise self._fail(doing, e) from e
                raise

    def _read(self, doing: str, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._connections.use() as conn:
            try:
                return conn.execute(sql, params).fetchall()
            except sqlite3.Error as e:
                raise self._fail(doing, e) from e

    def _migrate(self, migrations: list[Migration]) -> None:
        latest = migrations[-1] if migrations else None
        with self._connections.use() as conn:
            try:
                if self.path != MEMORY:
                    # WAL lets the console read while a channel writes; it persists in the file.
                    conn.execute("PRAGMA journal_mode = WAL")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
                )
                current = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]
            except sqlite3.Error as e:
                raise self._fail("read the schema version", e) from e
            known = latest.version if latest else 0
            if current > known:
                raise StorageError(
                    f"{self.path} has schema version {current}, newer than this Answerdesk knows "
                    f"(up to {known}{', ' + latest.name if latest else ''}); upgrade Answerdesk or set ANSWERDESK_DB to another file"
                )
            for migration in migrations:
                if migration.version > current:
                    self._apply(conn, migration)

    def _apply(self, conn: sqlite3.Connection, migration: Migration) -> None:
        # executescript commits any open transaction first, so BEGIN is part of the script; the
        # version row goes in first so a second process applying the same file fails on its key.
        script = (
            "BEGIN IMMEDIATE;\n"
            f"INSERT INTO schema_version (version, name, applied_at) VALUES ({migration.version}, '{migration.name}', '{self._now()}');\n"
            f"{migration.sql}\n;\nCOMMIT;"
        )
        try:
            conn.executescript(script)
        except sqlite3.IntegrityError:
            conn.rollback()  # applied meanwhile by another process
        except sqlite3.Error as e:
            if conn.in_transaction:
                conn.rollback()
            raise StorageError(
                f"{self.path}: migration {migration.name} failed: {e}; nothing of it was applied. Fix the SQL file and start again"
            ) from e

    def close(self) -> None:
        """Close every connection; the store cannot be used afterwards."""
        self._connections.close()

    # -- conversations

    def create_conversation(
        self, channel: str, external_user: str, lang: str, *, email: str | None = None, meta: Mapping[str, Any] | None = None
    ) -> Conversation:
        """Start a conversation in state "bot"; StorageError if the user already has an open one."""
        with self._write("create a conversation") as conn:
            existing = self._open_of(conn, channel, external_user)
            if existing is not None:
                raise StorageError(
                    f"{self.path}: {channel} user {external_user!r} already has open conversation {existing.id}; "
                    "close it first or use find_or_create_conversation()"
                )
            return self._insert_conversation(conn, channel, external_user, lang, email, meta or {})

    def find_or_create_conversation(self, channel: str, external_user: str, lang: str) -> Conversation:
        """The user's open conversation on this channel, created atomically if there is none."""
        with self._write("find or create a conversation") as conn:
            existing = self._open_of(conn, channel, external_user)
            return existing or self._insert_conversation(conn, channel, external_user, lang, None, {})

    def _open_of(self, conn: sqlite3.Connection, channel: str, external_user: str) -> Conversation | None:
        row = conn.execute(
            f"SELECT {_CONVERSATION} FROM conversations WHERE channel = ? AND external_user = ? AND state <> 'closed'",
            (channel, external_user),
        ).fetchone()
        return None if row is None else _conversation(row)

    def _insert_conversation(
        self, conn: sqlite3.Connection, channel: str, external_user: str, lang: str, email: str | None, meta: Mapping[str, Any]
    ) -> Conversation:
        for name, value in (("channel", channel), ("external_user", external_user), ("lang", lang)):
            if not value:
                raise ValueError(f"{name} must not be empty")
        now = self._now()
        conversation_id = uuid.uuid4().hex
        conn.execute(
            f"INSERT INTO conversations ({_CONVERSATION}) VALUES (?, ?, ?, ?, 'bot', NULL, NULL, ?, ?, NULL, ?, ?)",
            (conversation_id, channel, external_user, lang, now, now, email, _json("meta", dict(meta))),
        )
        return self._conversation_in(conn, conversation_id)

    def _conversation_in(self, conn: sqlite3.Connection, conversation_id: str) -> Conversation:
        row = conn.execute(f"SELECT {_CONVERSATION} FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        if row is None:
            raise StorageError(f"{self.path}: no conversation {conversation_id!r}; check the id or create the conversation first")
        return _conversation(row)

    def get_conversation(self, conversation_id: str) -> Conversation | None:
        """One conversation, or None."""
        rows = self._read("read a conversation", f"SELECT {_CONVERSATION} FROM conversations WHERE id = ?", (conversation_id,))
        return _conversation(rows[0]) if rows else None

    def find_open_conversation(self, channel: str, external_user: str) -> Conversation | None:
        """The user's conversation on this channel that is not closed, or None."""
        with self._connections.use() as conn:
            try:
                return self._open_of(conn, channel, external_user)
            except sqlite3.Error as e:
                raise self._fail("find an open conversation", e) from e

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
            params.append(_json("meta", dict(meta)))
        with self._write("update a conversation") as conn:
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
        elif to_state == "waiting":
            # Re-entering "waiting" keeps the place in the queue.
            sets += ["agent = NULL", "waiting_since = CASE WHEN state = 'waiting' THEN waiting_since ELSE ? END"]
            params.append(now)
        elif to_state == "bot":
            sets += ["agent = NULL", "waiting_since = NULL"]
        else:  # closed keeps the agent, for reports
            sets.append("waiting_since = NULL")
        states = list(dict.fromkeys(from_states))
        sql = f"UPDATE conversations SET {', '.join(sets)} WHERE id = ? AND state IN ({_placeholders(states)})"
        with self._write("change a conversation's state") as conn:
            try:
                changed = conn.execute(sql, (*params, conversation_id, *states)).rowcount
            except sqlite3.IntegrityError as e:
                raise StorageError(
                    f"{self.path}: cannot reopen conversation {conversation_id}: its user has another open conversation "
                    "on this channel; close that one first"
                ) from e
        return changed == 1

    def waiting_queue(self, languages: Collection[str], limit: int | None = None) -> list[Conversation]:
        """Waiting conversations: those in `languages` first, then the rest; oldest waiting first."""
        langs = list(dict.fromkeys(code.lower() for code in languages))
        first = f"CASE WHEN lang IN ({_placeholders(langs)}) THEN 0 ELSE 1 END" if langs else "0"
        sql = f"SELECT {_CONVERSATION} FROM conversations WHERE state = 'waiting' ORDER BY {first}, waiting_since, created_at, id"
        params: list[Any] = list(langs)
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [_conversation(row) for row in self._read("read the waiting queue", sql, params)]

    def list_conversations(
        self,
        *,
        channel: str | None = None,
        state: State | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Conversation]:
        """Conversations created in [since, until), oldest first, for reports and the console."""
        where, params = _period("created_at", since, until)
        for column, value in (("channel", channel), ("state", state)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = f"SELECT {_CONVERSATION} FROM conversations{_where(where)} ORDER BY created_at, id"
        return [_conversation(row) for row in self._read("list conversations", sql, params)]

    # -- messages

    def add_message(
        self,
        conversation_id: str,
        author: Author,
        text: str,
        *,
        lang: str | None = None,
        action: str | None = None,
        article_id: str | None = None,
        decision: Mapping[str, Any] | None = None,
        choices: Sequence[Choice] = (),
        external_id: str | None = None,
        agent: str | None = None,
    ) -> AddedMessage:
        """Store a message, or return the earlier one if `external_id` was seen on this channel."""
        if author not in AUTHORS:
            raise ValueError(f"author {author!r} is not one of {', '.join(AUTHORS)}")
        kept_choices = tuple(Choice(c.article_id, c.title) for c in choices)
        decision_json = None if decision is None else _json("decision", dict(decision))
        choices_json = _json("choices", [{"article_id": c.article_id, "title": c.title} for c in kept_choices])
        with self._write("store a message") as conn:
            channel = conn.execute("SELECT channel FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
            if channel is None:
                raise StorageError(f"{self.path}: no conversation {conversation_id!r}; create the conversation before its messages")
            if external_id is not None:
                earlier = conn.execute(
                    f"SELECT {_MESSAGE} FROM messages WHERE channel = ? AND external_id = ?", (channel[0], external_id)
                ).fetchone()
                if earlier is not None:
                    return AddedMessage(_message(earlier), duplicate=True)
            now = self._now()
            cursor = conn.execute(
                "INSERT INTO messages (conversation_id, channel, author, text, created_at, lang, action, article_id, "
                "decision, choices, external_id, agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (conversation_id, channel[0], author, text, now, lang, action, article_id, decision_json, choices_json, external_id, agent),
            )
            conn.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))
            message_id = cursor.lastrowid
        assert message_id is not None
        return AddedMessage(
            Message(
                id=message_id, conversation_id=conversation_id, author=author, text=text,
                created_at=datetime.fromisoformat(now), lang=lang, action=action, article_id=article_id,
                decision=None if decision_json is None else json.loads(decision_json), choices=kept_choices,
                external_id=external_id, agent=agent,
            ),
            duplicate=False,
        )

    def list_messages(self, conversation_id: str, after_id: int | None = None) -> list[Message]:
        """A conversation's messages in order; only those after `after_id` when given (live updates)."""
        sql = f"SELECT {_MESSAGE} FROM messages WHERE conversation_id = ? AND id > ? ORDER BY id"
        rows = self._read("list messages", sql, (conversation_id, after_id if after_id is not None else 0))
        return [_message(row) for row in rows]

    def list_messages_since(self, since: datetime, until: datetime | None = None) -> list[Message]:
        """Every message created in [since, until), in order, for reports."""
        where, params = _period("created_at", since, until)
        sql = f"SELECT {_MESSAGE} FROM messages{_where(where)} ORDER BY id"
        return [_message(row) for row in self._read("list messages", sql, params)]

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
        with self._write("store feedback") as conn:
            if message_id is not None:
                owner = conn.execute("SELECT conversation_id FROM messages WHERE id = ?", (message_id,)).fetchone()
                if owner is None or owner[0] != conversation_id:
                    raise ValueError(f"message {message_id} is not in conversation {conversation_id}; pass the id of its bot answer")
            now = self._now()
            cursor = conn.execute(
                f"INSERT INTO feedback ({_FEEDBACK}) VALUES (NULL, ?, ?, ?, ?, ?)",
                (conversation_id, message_id, None if helpful is None else int(helpful), csat, now),
            )
            feedback_id = cursor.lastrowid
        assert feedback_id is not None
        return Feedback(feedback_id, conversation_id, message_id, helpful, csat, datetime.fromisoformat(now))

    def list_feedback(
        self, *, conversation_id: str | None = None, since: datetime | None = None, until: datetime | None = None
    ) -> list[Feedback]:
        """Feedback of one conversation or created in [since, until), oldest first."""
        where, params = _period("created_at", since, until)
        if conversation_id is not None:
            where.append("conversation_id = ?")
            params.append(conversation_id)
        sql = f"SELECT {_FEEDBACK} FROM feedback{_where(where)} ORDER BY id"
        return [_feedback(row) for row in self._read("list feedback", sql, params)]

    # -- tickets

    def create_ticket(self, conversation_id: str, email: str, lang: str) -> Ticket:
        """Open a ticket the team answers by e-mail."""
        if not email.strip():
            raise ValueError("email must not be empty; the team answers tickets by e-mail")
        with self._write("create a ticket") as conn:
            if conn.execute("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)).fetchone() is None:
                raise StorageError(f"{self.path}: no conversation {conversation_id!r}; a ticket belongs to a conversation")
            cursor = conn.execute(
                f"INSERT INTO tickets ({_TICKET}) VALUES (NULL, ?, ?, ?, 'open', ?, NULL, NULL)",
                (conversation_id, email.strip(), lang, self._now()),
            )
            return self._ticket_in(conn, cursor.lastrowid)

    def _ticket_in(self, conn: sqlite3.Connection, ticket_id: int | None) -> Ticket:
        row = conn.execute(f"SELECT {_TICKET} FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        if row is None:
            raise StorageError(f"{self.path}: no ticket #{ticket_id}; list them with list_tickets()")
        return _ticket(row)

    def get_ticket(self, ticket_id: int) -> Ticket | None:
        """One ticket, or None."""
        rows = self._read("read a ticket", f"SELECT {_TICKET} FROM tickets WHERE id = ?", (ticket_id,))
        return _ticket(rows[0]) if rows else None

    def list_tickets(
        self, *, status: TicketStatus | None = None, since: datetime | None = None, until: datetime | None = None
    ) -> list[Ticket]:
        """Tickets with this status and/or created in [since, until), oldest first."""
        where, params = _period("created_at", since, until)
        if status is not None:
            if status not in TICKET_STATUSES:
                raise ValueError(f"status {status!r} is not one of {', '.join(TICKET_STATUSES)}")
            where.append("status = ?")
            params.append(status)
        sql = f"SELECT {_TICKET} FROM tickets{_where(where)} ORDER BY id"
        return [_ticket(row) for row in self._read("list tickets", sql, params)]

    def answer_ticket(self, ticket_id: int, answer: str) -> Ticket:
        """Record the team's answer: status "answered", answered_at now."""
        if not answer.strip():
            raise ValueError("answer must not be empty")
        with self._write("answer a ticket") as conn:
            conn.execute(
                "UPDATE tickets SET status = 'answered', answered_at = ?, answer = ? WHERE id = ?", (self._now(), answer, ticket_id)
            )
            return self._ticket_in(conn, ticket_id)

    def close_ticket(self, ticket_id: int) -> Ticket:
        """Set status "closed"."""
        with self._write("close a ticket") as conn:
            conn.execute("UPDATE tickets SET status = 'closed' WHERE id = ?", (ticket_id,))
            return self._ticket_in(conn, ticket_id)

    # -- agents

    def add_agent(self, name: str, email: str, password_hash: str, languages: Sequence[str]) -> Agent:
        """Create an agent; StorageError if the e-mail address is taken."""
        address = email.strip().lower()
        if not name.strip() or not address:
            raise ValueError("an agent needs a name and an e-mail address")
        if isinstance(languages, str):
            raise ValueError("languages must be a list of codes such as ['en', 'tr'], not one string")
        codes = [code.strip().lower() for code in languages if code.strip()]
        with self._write("add an agent") as conn:
            if conn.execute("SELECT 1 FROM agents WHERE email = ?", (address,)).fetchone() is not None:
                raise StorageError(f"{self.path}: an agent with e-mail {address} already exists; use another address")
            agent = Agent(uuid.uuid4().hex, name.strip(), address, password_hash, tuple(codes), datetime.fromisoformat(self._now()))
            conn.execute(
                f"INSERT INTO agents ({_AGENT}) VALUES (?, ?, ?, ?, ?, ?)",
                (agent.id, agent.name, agent.email, password_hash, _json("languages", codes), _stamp(agent.created_at)),
            )
        return agent

    def get_agent(self, agent_id: str) -> Agent | None:
        """One agent by id, or None."""
        rows = self._read("read an agent", f"SELECT {_AGENT} FROM agents WHERE id = ?", (agent_id,))
        return _agent(rows[0]) if rows else None

    def get_agent_by_email(self, email: str) -> Agent | None:
        """One agent by e-mail address (any case), or None."""
        rows = self._read("read an agent", f"SELECT {_AGENT} FROM agents WHERE email = ?", (email.strip().lower(),))
        return _agent(rows[0]) if rows else None

