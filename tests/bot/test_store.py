import inspect
import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

import pytest

from bot.errors import ConfigError, StorageError
from bot.store.sqlite import load_migrations
from bot.store.sql import SQLStore
from bot.store.connect import PostgresStore, SQLiteStore
from bot.store.model import Choice, Store
from bot.store.connect import open_store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "answerdesk.db"


@pytest.fixture
def store(db_path: Path, clock: Clock) -> SQLiteStore:
    s = SQLiteStore(db_path, clock=clock)
    yield s
    s.close()


def versions(path: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT version, name FROM schema_version ORDER BY version").fetchall()


# -- opening and migrations


def test_migrations_apply_once_and_reopening_is_a_no_op(db_path: Path, clock: Clock) -> None:
    first = SQLiteStore(db_path, clock=clock)
    kept = first.create_conversation("web", "visitor-1", "en")
    first.close()
    every = [(m.version, m.name) for m in load_migrations()]
    assert every[0] == (1, "0001_initial.sql") and versions(db_path) == every
    second = SQLiteStore(db_path, clock=clock)
    assert versions(db_path) == every
    assert second.get_conversation(kept.id) == kept
    second.close()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_database_from_a_newer_version_is_refused(db_path: Path) -> None:
    SQLiteStore(db_path).close()
    latest = load_migrations()[-1]
    future = latest.version + 1
    with sqlite3.connect(db_path) as conn:
        conn.execute(f"INSERT INTO schema_version VALUES ({future}, '{future:04d}_future.sql', '2030-01-01T00:00:00.000000+00:00')")
    with pytest.raises(StorageError, match=rf"answerdesk\.db has schema version {future}.*up to {latest.version}, {latest.name}.*upgrade"):
        SQLiteStore(db_path)


def copy_migrations(folder: Path) -> Path:
    folder.mkdir()
    source = resources.files("bot.store").joinpath("migrations", "0001_initial.sql")
    (folder / "0001_initial.sql").write_text(source.read_text("utf-8"), encoding="utf-8")
    return folder


def test_a_failing_migration_leaves_nothing_behind(tmp_path: Path, db_path: Path) -> None:
    folder = copy_migrations(tmp_path / "migrations")
    SQLiteStore(db_path, migrations=folder).close()
    (folder / "0002_tags.sql").write_text("CREATE TABLE tags (name TEXT);\nINSERT INTO no_such_table VALUES (1);\n")
    with pytest.raises(StorageError, match=r"0002_tags\.sql failed: no such table: no_such_table; nothing of it was applied"):
        SQLiteStore(db_path, migrations=folder)
    assert versions(db_path) == [(1, "0001_initial.sql")]
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'tags'").fetchone()[0] == 0

    (folder / "0002_tags.sql").write_text("CREATE TABLE tags (name TEXT);\n")
    SQLiteStore(db_path, migrations=folder).close()
    assert versions(db_path) == [(1, "0001_initial.sql"), (2, "0002_tags.sql")]


def test_a_badly_named_migration_is_named(tmp_path: Path, db_path: Path) -> None:
    folder = copy_migrations(tmp_path / "migrations")
    (folder / "2-tags.sql").write_text("SELECT 1;")
    with pytest.raises(StorageError, match=r"2-tags\.sql: migration files are named NNNN_<what>\.sql"):
        SQLiteStore(db_path, migrations=folder)


def test_an_unusable_path_raises_storage_error_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(StorageError, match=r"not-a-folder/x\.db: cannot create the folder") as caught:
        SQLiteStore(blocker / "x.db")
    assert isinstance(caught.value.__cause__, OSError)


def test_a_lock_held_too_long_raises_storage_error(db_path: Path) -> None:
    s = SQLiteStore(db_path, busy_timeout=0.1)
    conversation = s.create_conversation("web", "v", "en")
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageError, match=r"answerdesk\.db: cannot store a message: database is locked.*ANSWERDESK_DB_BUSY_TIMEOUT") as caught:
            s.add_message(conversation.id, "customer", "hello")
        assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert s.add_message(conversation.id, "customer", "hello").message.id == 1
    s.close()


def test_open_store_accepts_urls_paths_and_memory(tmp_path: Path) -> None:
    for target in (f"sqlite:///{tmp_path}/a.db", str(tmp_path / "b.db"), ":memory:", "sqlite:///:memory:"):
        s = open_store(target)
        assert s.create_conversation("web", "v", "en").state == "bot"
        s.close()
    assert (tmp_path / "a.db").exists() and (tmp_path / "b.db").exists()
    with pytest.raises(ConfigError, match=r"ANSWERDESK_DB.*mysql://x.*postgresql://"):
        open_store("mysql://x/y")


def test_a_closed_store_says_so(store: SQLiteStore) -> None:
    store.close()
    with pytest.raises(StorageError, match="the store is closed"):
        store.get_conversation("x")


def test_the_sql_store_has_every_method_of_the_protocol_with_its_signature() -> None:
    # SQLiteStore and PostgresStore add only their constructors to SQLStore.
    assert {n for n in vars(SQLiteStore) if not n.startswith("__")} == set() == {n for n in vars(PostgresStore) if not n.startswith("__")}
    methods = [name for name, value in vars(Store).items() if callable(value) and not name.startswith("_")]
    assert len(methods) >= 20
    for name in methods:
        expected, actual = inspect.signature(getattr(Store, name)), inspect.signature(getattr(SQLStore, name))
        assert [(p.name, p.kind, p.default) for p in actual.parameters.values()] == [
            (p.name, p.kind, p.default) for p in expected.parameters.values()
        ], name


# -- conversations


def test_one_open_conversation_per_user_and_channel(store: SQLiteStore, clock: Clock) -> None:
    first = store.find_or_create_conversation("telegram", "42", "tr")
    assert store.find_or_create_conversation("telegram", "42", "en") == first
    assert store.find_open_conversation("telegram", "42") == first
    assert store.find_open_conversation("slack", "42") is None
    with pytest.raises(StorageError, match=f"already has open conversation {first.id}"):
        store.create_conversation("telegram", "42", "tr")
    assert store.transition(first.id, ["bot"], "closed")
    assert store.find_open_conversation("telegram", "42") is None
    second = store.create_conversation("telegram", "42", "tr", email="a@example.com", meta={"name": "Ayşe"})
    assert second.id != first.id and second.meta == {"name": "Ayşe"} and second.email == "a@example.com"
    with pytest.raises(StorageError, match="another open conversation"):
        store.transition(first.id, ["closed"], "bot")


def test_update_conversation_sets_only_what_is_given(store: SQLiteStore, clock: Clock) -> None:
    c = store.create_conversation("web", "v", "en")
    clock.advance(minutes=1)
    updated = store.update_conversation(c.id, lang="ar", topic="refund")
    assert (updated.lang, updated.topic, updated.email, updated.updated_at) == ("ar", "refund", None, clock.now)
    updated = store.update_conversation(c.id, topic=None, email="x@example.com", meta={"page": "/pricing"})
    assert (updated.lang, updated.topic, updated.email, updated.meta) == ("ar", None, "x@example.com", {"page": "/pricing"})
    assert store.get_conversation(c.id) == updated
    with pytest.raises(StorageError, match="no conversation 'nope'"):
        store.update_conversation("nope", lang="en")


def test_transition_is_compare_and_set(store: SQLiteStore, clock: Clock) -> None:
    c = store.create_conversation("web", "v", "en")
    assert not store.transition(c.id, ["waiting"], "agent", agent="a1")
    clock.advance(minutes=1)
    assert store.transition(c.id, ["bot"], "waiting")
    assert store.get_conversation(c.id).waiting_since == clock.now
    clock.advance(minutes=1)
    assert store.transition(c.id, ["bot", "waiting"], "waiting")
    assert store.get_conversation(c.id).waiting_since == clock.now - timedelta(minutes=1)  # keeps its place
    assert store.transition(c.id, ["waiting"], "agent", agent="a1")
    taken = store.get_conversation(c.id)
    assert (taken.state, taken.agent, taken.waiting_since) == ("agent", "a1", None)
    assert not store.transition(c.id, ["waiting"], "agent", agent="a2")
    assert store.transition(c.id, ["agent"], "closed")
    assert store.get_conversation(c.id).agent == "a1"  # kept for reports
    assert not store.transition("no-such-id", ["bot"], "waiting")
    with pytest.raises(ValueError, match="agent=<agent id>"):
        store.transition(c.id, ["closed"], "agent")
    with pytest.raises(ValueError, match="'open' is not one of bot, waiting, missed, agent, closed"):
        store.transition(c.id, ["open"], "bot")  # type: ignore[list-item]


def test_missed_keeps_the_place_in_the_queue_and_is_listed_with_the_waiting(store: SQLiteStore, clock: Clock) -> None:
    first = store.create_conversation("web", "v1", "en")
    second = store.create_conversation("web", "v2", "tr")
    assert store.transition(first.id, ["bot"], "waiting")
    joined = clock.now
    clock.advance(minutes=3)
    assert store.transition(second.id, ["bot"], "missed")  # straight to missed: nobody was there
    assert store.transition(first.id, ["waiting"], "missed")  # nobody took it in time
    assert store.get_conversation(first.id).waiting_since == joined  # same place in the queue
    assert [c.id for c in store.waiting_queue(())] == []
    assert [c.id for c in store.waiting_queue((), states=("waiting", "missed"))] == [first.id, second.id]
    assert [c.id for c in store.waiting_queue(("tr",), states=("missed",))] == [second.id, first.id]
    assert store.transition(second.id, ["missed"], "waiting")  # asked again while an agent is there
    assert store.get_conversation(second.id).waiting_since == clock.now - timedelta(minutes=0)
    assert store.transition(first.id, ["missed"], "agent", agent="a1")
    assert store.get_conversation(first.id).waiting_since is None
    with pytest.raises(ValueError, match="queue states"):
        store.waiting_queue((), states=("bot",))


def test_presence_and_removal_of_agents(store: SQLiteStore, clock: Clock) -> None:
    ana = store.add_agent("Ana", "ana@example.com", "h", ["en"])
    bob = store.add_agent("Bob", "bob@example.com", "h", [])
    assert store.present_agents(clock.now - timedelta(minutes=5)) == []
    store.touch_agent(ana.id, clock.now)
    clock.advance(seconds=10)
    store.touch_agent(ana.id, clock.now)  # within 30 s: no write
    assert store.get_agent(ana.id).seen_at == clock.now - timedelta(seconds=10)
    clock.advance(minutes=6)
    store.touch_agent(bob.id, clock.now)
    assert [a.name for a in store.present_agents(clock.now - timedelta(minutes=5))] == ["Bob"]
    store.touch_agent(bob.id, None)  # signed out
    assert store.present_agents(clock.now - timedelta(minutes=5)) == []
    store.touch_agent(bob.id, clock.now)
    removed = store.remove_agent(bob.id)
    assert removed is not None and removed.removed_at == clock.now and removed.seen_at is None
    assert store.present_agents(clock.now - timedelta(minutes=5)) == []
    assert [a.name for a in store.list_agents()] == ["Ana"]
    assert [a.name for a in store.list_agents(removed=True)] == ["Ana", "Bob"]
    assert store.get_agent(bob.id).name == "Bob"  # still there for the messages that name it
    back = store.restore_agent(bob.id, "Bob B", "h2", ["tr"])
    assert (back.name, back.removed_at, back.languages) == ("Bob B", None, ("tr",))


def test_two_agents_racing_for_one_conversation_exactly_one_wins(store: SQLiteStore) -> None:
    for round_ in range(10):
        c = store.create_conversation("web", f"v{round_}", "en")
        store.transition(c.id, ["bot"], "waiting")
        start = threading.Barrier(2)
        wins: dict[str, bool] = {}

        def take(agent: str) -> None:
            start.wait()
            wins[agent] = store.transition(c.id, ["waiting"], "agent", agent=agent)

        threads = [threading.Thread(target=take, args=(name,)) for name in ("ayse", "omar")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(wins.values()) == [False, True]
        winner = next(name for name, won in wins.items() if won)
        assert store.get_conversation(c.id).agent == winner


def test_waiting_queue_puts_the_agents_languages_first_then_the_oldest(store: SQLiteStore, clock: Clock) -> None:
    ids = {}
    for user, lang in (("u1", "en"), ("u2", "tr"), ("u3", "ar"), ("u4", "tr"), ("u5", "es"), ("u6", "en")):
        c = store.create_conversation("web", user, lang)
        clock.advance(minutes=1)
        store.transition(c.id, ["bot"], "waiting")
        ids[user] = c.id
    store.create_conversation("web", "not-waiting", "tr")
    order = lambda convs: [next(u for u, i in ids.items() if i == c.id) for c in convs]  # noqa: E731
    assert order(store.waiting_queue(["tr", "AR"])) == ["u2", "u3", "u4", "u1", "u5", "u6"]
    assert order(store.waiting_queue(["es"], limit=2)) == ["u5", "u1"]
    assert order(store.waiting_queue([])) == ["u1", "u2", "u3", "u4", "u5", "u6"]


# -- messages


def test_messages_keep_their_order_and_fields(store: SQLiteStore, clock: Clock) -> None:
    c = store.create_conversation("web", "v", "en")
    decision = {"action": "clarify", "candidates": [{"article_id": "refund", "score": 0.71}]}
    customer = store.add_message(c.id, "customer", "geld zurück?", lang="de").message
    bot = store.add_message(
        c.id, "bot", "Did you mean one of these?", lang="en", action="clarify", decision=decision,
        choices=[Choice("refund", "Refunds and returns"), Choice("shipping", "Shipping")],
    ).message
    agent = store.add_message(c.id, "agent", "Hi, I'm Ayşe", agent="a1").message
    assert customer.id < bot.id < agent.id
    assert store.list_messages(c.id) == [customer, bot, agent]
    assert bot.choices == (Choice("refund", "Refunds and returns"), Choice("shipping", "Shipping"))
    assert bot.decision == decision and bot.created_at == T0
    assert store.list_messages(c.id, after_id=customer.id) == [bot, agent]
    assert store.list_messages(c.id, after_id=agent.id) == []
    with pytest.raises(ValueError, match="author 'robot'"):
        store.add_message(c.id, "robot", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="decision must be plain JSON data"):
        store.add_message(c.id, "bot", "x", decision={"when": datetime.now()})
    with pytest.raises(StorageError, match="no conversation 'nope'"):
        store.add_message("nope", "customer", "x")


def test_a_message_marks_the_conversation_updated(store: SQLiteStore, clock: Clock) -> None:
    c = store.create_conversation("web", "v", "en")
    clock.advance(minutes=5)
    store.add_message(c.id, "customer", "hi")
    assert store.get_conversation(c.id).updated_at == T0 + timedelta(minutes=5)


def test_a_redelivered_message_is_stored_once(store: SQLiteStore, db_path: Path) -> None:
    one = store.create_conversation("telegram", "chat-1", "en")
    two = store.create_conversation("telegram", "chat-2", "en")
    web = store.create_conversation("web", "v", "en")
    first = store.add_message(one.id, "customer", "hello", external_id="update-100")
    again = store.add_message(one.id, "customer", "hello", external_id="update-100")
    elsewhere = store.add_message(two.id, "customer", "hello", external_id="update-100")
    other_channel = store.add_message(web.id, "customer", "hello", external_id="update-100")
    assert not first.duplicate and again.duplicate and elsewhere.duplicate and not other_channel.duplicate
    assert again.message == first.message == elsewhere.message
    store.add_message(one.id, "bot", "hi")
    store.add_message(one.id, "bot", "hi")  # no external id: never a duplicate
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM messages WHERE external_id = 'update-100'").fetchone()[0] == 2
        assert conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 4


def test_a_stored_message_is_committed_before_add_message_returns(store: SQLiteStore, db_path: Path) -> None:
    c = store.create_conversation("web", "v", "en")
    stored = store.add_message(c.id, "customer", "my order is late").message
    with sqlite3.connect(db_path) as other:  # another process's view: only committed data
        assert other.execute("SELECT text FROM messages WHERE id = ?", (stored.id,)).fetchone() == ("my order is late",)


def test_first_messages_racing_open_one_conversation(store: SQLiteStore) -> None:
    start = threading.Barrier(8)
    found: list[str] = []

    def first_message() -> None:
        start.wait()
        found.append(store.find_or_create_conversation("telegram", "chat-7", "en").id)

    threads = [threading.Thread(target=first_message) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(found) == 8 and len(set(found)) == 1


def test_concurrent_writes_from_8_threads_lose_nothing(db_path: Path) -> None:
    store = SQLiteStore(db_path)
    shared = store.create_conversation("web", "shared", "en")
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            start.wait()
            own = store.find_or_create_conversation("telegram", f"user-{worker}", "en")
            for n in range(40):
                store.add_message(own.id, "customer", f"{worker}:{n}", external_id=f"{worker}-{n}")
                store.add_message(shared.id, "customer", f"{worker}:{n}")
                store.add_message(own.id, "customer", "retry", external_id=f"{worker}-{n}")  # a redelivery
        except BaseException as e:  # reported below, so a failing thread fails the test
            errors.append(e)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    in_shared = store.list_messages(shared.id)
    assert len(in_shared) == 320
    for worker in range(8):
        mine = [m.text for m in in_shared if m.text.startswith(f"{worker}:")]
        assert mine == [f"{worker}:{n}" for n in range(40)]
        own = store.find_open_conversation("telegram", f"user-{worker}")
        assert [m.text for m in store.list_messages(own.id)] == [f"{worker}:{n}" for n in range(40)]
    store.close()
    reopened = SQLiteStore(db_path)
    assert len(reopened.list_messages_since(T0 - timedelta(days=3650))) == 640
    reopened.close()


def test_an_in_memory_store_works_across_threads(clock: Clock) -> None:
    store = open_store(":memory:", clock=clock)
    c = store.create_conversation("web", "v", "en")
    threads = [threading.Thread(target=lambda i=i: [store.add_message(c.id, "customer", f"{i}") for _ in range(20)]) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.list_messages(c.id)) == 160
    store.close()


# -- feedback, tickets, agents, reports


def test_feedback_on_an_answer_and_for_the_conversation(store: SQLiteStore, clock: Clock) -> None:
    c = store.create_conversation("web", "v", "en")
    other = store.create_conversation("web", "w", "en")
    answer = store.add_message(c.id, "bot", "Open Settings...", action="answer", article_id="reset-password").message
    helpful = store.add_feedback(c.id, message_id=answer.id, helpful=False)
    rating = store.add_feedback(c.id, csat=4)
    assert (helpful.helpful, helpful.csat, helpful.message_id) == (False, None, answer.id)
    assert (rating.helpful, rating.csat, rating.message_id) == (None, 4, None)
    assert store.list_feedback(conversation_id=c.id) == [helpful, rating]
    assert store.list_feedback(conversation_id=other.id) == []
    with pytest.raises(ValueError, match="exactly one of helpful="):
        store.add_feedback(c.id, message_id=answer.id, helpful=True, csat=5)
    with pytest.raises(ValueError, match="csat must be an integer from 1 to 5, not 6"):
        store.add_feedback(c.id, csat=6)
    with pytest.raises(ValueError, match="pass message_id="):
        store.add_feedback(c.id, helpful=True)
    with pytest.raises(ValueError, match=f"message {answer.id} is not in conversation {other.id}"):
        store.add_feedback(other.id, message_id=answer.id, helpful=True)


def test_tickets_open_get_answered_and_closed(store: SQLiteStore, clock: Clock) -> None:
    c = store.create_conversation("telegram", "42", "tr")
    ticket = store.create_ticket(c.id, " ayse@example.com ", "tr")
    assert (ticket.status, ticket.email, ticket.lang, ticket.created_at, ticket.answer) == ("open", "ayse@example.com", "tr", T0, None)
    second = store.create_ticket(c.id, "ayse@example.com", "tr")
    clock.advance(hours=2)
    answered = store.answer_ticket(ticket.id, "Şifrenizi Ayarlar'dan sıfırlayabilirsiniz.")
    assert (answered.status, answered.answered_at) == ("answered", clock.now)
    assert store.list_tickets(status="open") == [second]
    assert store.list_tickets() == [answered, second]
    assert store.close_ticket(second.id).status == "closed"
    assert store.get_ticket(second.id).status == "closed"
    assert store.get_ticket(999) is None
    with pytest.raises(StorageError, match="no ticket #999"):
        store.answer_ticket(999, "x")
    with pytest.raises(ValueError, match="status 'done'"):
        store.list_tickets(status="done")  # type: ignore[arg-type]


def test_agents_are_found_by_email_in_any_case(store: SQLiteStore) -> None:
    agent = store.add_agent("Ayşe", "Ayse@Example.com", "scrypt$abc", ["TR", "en"])
    assert (agent.email, agent.languages) == ("ayse@example.com", ("tr", "en"))
    assert store.get_agent_by_email(" AYSE@example.com") == agent == store.get_agent(agent.id)
    assert store.get_agent_by_email("nobody@example.com") is None
    with pytest.raises(StorageError, match="ayse@example.com already exists"):
        store.add_agent("Other", "ayse@example.COM", "x", ["en"])


def test_reports_list_what_happened_in_a_period(store: SQLiteStore, clock: Clock) -> None:
    old = store.create_conversation("web", "old", "en")
    store.add_message(old.id, "customer", "old message")
    store.add_feedback(old.id, csat=2)
    store.create_ticket(old.id, "old@example.com", "en")
    day2 = clock.advance(days=1)
    web = store.create_conversation("web", "new", "en")
    clock.advance(seconds=1)
    tg = store.create_conversation("telegram", "new", "ar")
    store.add_message(web.id, "customer", "new message")
    store.add_feedback(tg.id, csat=5)
    new_ticket = store.create_ticket(tg.id, "new@example.com", "ar")
    clock.advance(days=1)
    store.create_conversation("web", "later", "en")

    assert [c.id for c in store.list_conversations(since=day2, until=day2 + timedelta(days=1))] == [web.id, tg.id]
    assert [c.id for c in store.list_conversations(channel="telegram")] == [tg.id]
    assert [c.external_user for c in store.list_conversations(channel="web", state="bot", since=day2)] == ["new", "later"]
    assert [m.text for m in store.list_messages_since(day2)] == ["new message"]
    assert [f.csat for f in store.list_feedback(since=day2)] == [5]
    assert store.list_tickets(since=day2) == [new_ticket]
    with pytest.raises(ValueError, match="since must be timezone-aware"):
        store.list_messages_since(datetime(2026, 1, 1))


def test_an_agents_conversations_are_a_query(store: SQLiteStore) -> None:
    theirs, other, waiting = (store.create_conversation("web", user, "en") for user in ("a", "b", "c"))
    assert store.transition(theirs.id, ("bot",), "agent", agent="ayse")
    assert store.transition(other.id, ("bot",), "agent", agent="omar")
    assert store.transition(waiting.id, ("bot",), "waiting")
    assert [c.id for c in store.list_conversations(state="agent", agent="ayse")] == [theirs.id]
    assert store.list_conversations(agent="nobody") == []


def test_a_naive_clock_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="clock must be timezone-aware"):
        SQLiteStore(tmp_path / "x.db", clock=lambda: datetime(2026, 1, 1))



def test_rebuilding_conversations_in_migration_3_keeps_every_row(tmp_path: Path, db_path: Path, clock: Clock) -> None:
    """0003 rebuilds the conversations table (SQLite cannot change a CHECK): nothing may cascade away."""
    older = tmp_path / "migrations-v2"
    older.mkdir()
    for source in resources.files("bot.store").joinpath("migrations").iterdir():
        if source.name.startswith(("0001", "0002")):
            (older / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    v2 = SQLiteStore(db_path, clock=clock, migrations=older)
    c = v2.create_conversation("web", "v", "en")
    v2.add_message(c.id, "customer", "hello")
    v2.add_feedback(c.id, csat=4)
    ticket = v2.create_ticket(c.id, "a@example.com", "en")
    v2.close()
    v3 = SQLiteStore(db_path, clock=clock)
    assert [m.text for m in v3.list_messages(c.id)] == ["hello"]
    assert len(v3.list_feedback()) == 1 and v3.get_ticket(ticket.id) is not None
    assert v3.transition(c.id, ["bot"], "missed")
    v3.close()
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
        indexes = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'conversations'")}
    assert {"conversations_open_user", "conversations_state", "conversations_created"} <= indexes


def test_recent_customer_texts_gives_each_answered_question_the_language_its_answer_read(store: Store) -> None:
    c = store.create_conversation("web", "visitor-langs", "en")
    asked = store.add_message(c.id, "customer", "wie exportiere ich meine Daten").message
    store.add_message(c.id, "bot", "So geht's", lang="de", action="answer",
                      decision={"action": "answer", "lang": {"lang": "de", "confidence": 0.9}, "answers": asked.id})
    store.add_message(c.id, "customer", "still waiting")  # not answered yet: its language was never read
    store.add_message(c.id, "customer", "VIP customer", lang="en", action="note")
    store.add_message(c.id, "agent", "Hello!", lang="en", agent="a1")
    again = store.add_message(c.id, "customer", "how do I export").message
    store.add_message(c.id, "bot", "Like this", lang="en", action="clarify",
                      decision={"action": "clarify", "lang": {"lang": "en"}, "answers": again.id})
    store.add_message(c.id, "bot", "Thanks!", lang="en", action="feedback_thanks", decision={"action": "feedback_thanks"})

    assert store.recent_customer_texts(10) == [("en", "how do I export"), ("de", "wie exportiere ich meine Daten")]
    assert store.recent_customer_texts(2) == [("en", "how do I export")]  # the last 2 replies: one answered a question
