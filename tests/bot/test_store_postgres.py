"""The store tests of test_store.py again, on PostgreSQL, plus what differs: migrations, errors.

Every test of test_store.py that needs only the `store` and `clock` fixtures runs here too, with
`store` a PostgresStore on a fresh database of one server started for the session.
"""

import inspect
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

import test_store
from bot.errors import StorageError
from bot.store.model import Store
from test_store import T0, Clock, clock  # noqa: F401  (clock is a fixture used by the shared tests)
from tests.pg_server import PostgresServer

_SHARED = {"store", "clock"}
for _name, _test in vars(test_store).items():
    if _name.startswith("test_") and callable(_test) and set(inspect.signature(_test).parameters) <= _SHARED:
        if "store" in inspect.signature(_test).parameters:
            globals()[_name] = _test  # collected here again, with this module's `store` fixture


@pytest.fixture
def store(pg_url: str, clock: Clock) -> Iterator[Store]:
    from bot.store.connect import PostgresStore

    s = PostgresStore(pg_url, clock=clock)
    yield s
    s.close()


def query(url: str, sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


def test_the_shared_tests_are_collected_here() -> None:
    assert globals()["test_transition_is_compare_and_set"] is test_store.test_transition_is_compare_and_set
    # The SQLite versions of these read the file with sqlite3; the PostgreSQL versions are below.
    assert globals()["test_a_redelivered_message_is_stored_once"] is not test_store.test_a_redelivered_message_is_stored_once


def test_migrations_apply_once_and_keep_step_with_sqlite(pg_url: str, clock: Clock) -> None:
    from bot.store.postgres import load_pg_migrations
    from bot.store.connect import PostgresStore
    from bot.store.sqlite import load_migrations

    assert [m.name for m in load_pg_migrations()] == [m.name for m in load_migrations()]
    first = PostgresStore(pg_url, clock=clock)
    kept = first.create_conversation("web", "visitor-1", "en")
    first.close()
    every = [(m.version, m.name) for m in load_pg_migrations()]
    assert query(pg_url, "SELECT version, name FROM schema_version ORDER BY version") == every
    second = PostgresStore(pg_url, clock=clock)
    assert second.get_conversation(kept.id) == kept and kept.created_at == T0 and kept.created_at.utcoffset() == timedelta(0)
    second.close()
    assert query(pg_url, "SELECT version, name FROM schema_version ORDER BY version") == every


def test_a_database_from_a_newer_version_is_refused(store: Store, pg_url: str) -> None:
    from bot.store.connect import PostgresStore

    from bot.store.postgres import load_pg_migrations

    future = load_pg_migrations()[-1].version + 1
    query(pg_url, f"INSERT INTO schema_version VALUES ({future}, '{future:04d}_future.sql', now())")
    with pytest.raises(StorageError, match=rf"has schema version {future}.*upgrade"):
        PostgresStore(pg_url)


def test_a_failing_migration_leaves_nothing_behind(tmp_path: Path, pg_url: str) -> None:
    from importlib import resources

    from bot.store.connect import PostgresStore

    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_initial.sql").write_text(resources.files("bot.store").joinpath("migrations_pg", "0001_initial.sql").read_text("utf-8"))
    PostgresStore(pg_url, migrations=folder).close()
    (folder / "0002_tags.sql").write_text("CREATE TABLE tags (name TEXT);\nINSERT INTO no_such_table VALUES (1);\n")
    with pytest.raises(StorageError, match=r"0002_tags\.sql failed: .*no_such_table.*nothing of it was applied"):
        PostgresStore(pg_url, migrations=folder)
    assert query(pg_url, "SELECT version FROM schema_version") == [(1,)]
    assert query(pg_url, "SELECT to_regclass('tags')") == [(None,)]


def test_an_unreachable_server_raises_storage_error_naming_it(pg_server: PostgresServer) -> None:
    from bot.store.connect import PostgresStore

    with pytest.raises(StorageError, match=r"postgresql://postgres:\*\*\*@127\.0\.0\.1:\d+/no_such_db: cannot open the database.*createdb"):
        PostgresStore(f"postgresql://postgres:secret@127.0.0.1:{pg_server.port}/no_such_db")


def test_a_lock_held_too_long_raises_storage_error(pg_url: str) -> None:
    import psycopg

    from bot.store.connect import PostgresStore

    s = PostgresStore(pg_url, busy_timeout=0.2)
    c = s.create_conversation("web", "v", "en")
    with psycopg.connect(pg_url) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(7261002)")  # what add_message waits for
        with pytest.raises(StorageError, match=r"cannot store a message: .*lock.*ANSWERDESK_DB_BUSY_TIMEOUT"):
            s.add_message(c.id, "customer", "hello")
        holder.rollback()
    assert s.add_message(c.id, "customer", "hello").message.text == "hello"
    s.close()


def test_a_redelivered_message_is_stored_once(store: Store, pg_url: str) -> None:
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
    store.add_message(one.id, "bot", "hi")
    assert query(pg_url, "SELECT COUNT(*) FROM messages WHERE external_id = 'update-100'") == [(2,)]
    assert query(pg_url, "SELECT COUNT(*) FROM messages") == [(4,)]


def test_a_stored_message_is_committed_before_add_message_returns(store: Store, pg_url: str) -> None:
    c = store.create_conversation("web", "v", "en")
    stored = store.add_message(c.id, "customer", "my order is late").message
    assert query(pg_url, f"SELECT text FROM messages WHERE id = {stored.id}") == [("my order is late",)]


def test_concurrent_writes_from_8_threads_lose_nothing(store: Store) -> None:
    shared = store.create_conversation("web", "shared", "en")
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            start.wait()
            own = store.find_or_create_conversation("telegram", f"user-{worker}", "en")
            for n in range(20):
                store.add_message(own.id, "customer", f"{worker}:{n}", external_id=f"{worker}-{n}")
                store.add_message(shared.id, "customer", f"{worker}:{n}")
                assert store.add_message(own.id, "customer", "retry", external_id=f"{worker}-{n}").duplicate
        except BaseException as e:  # reported below, so a failing thread fails the test
            errors.append(e)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    in_shared = store.list_messages(shared.id)
    assert len(in_shared) == 160
    for worker in range(8):
        assert [m.text for m in in_shared if m.text.startswith(f"{worker}:")] == [f"{worker}:{n}" for n in range(20)]
    assert len(store.list_messages_since(T0 - timedelta(days=1))) == 320


def _sqlite_schema(path: Path) -> dict[str, object]:
    import sqlite3

    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        columns = {t: sorted((r[1], bool(r[3]) or bool(r[5])) for r in conn.execute(f"PRAGMA table_info({t})")) for t in tables}
        indexes = {}
        for t in tables:
            for _seq, name, unique, origin, _partial in conn.execute(f"PRAGMA index_list({t})"):
                if origin == "c":  # written in a migration, not made for a PRIMARY KEY or UNIQUE column
                    indexes[name] = (t, bool(unique), [r[2] for r in conn.execute(f"PRAGMA index_info({name})")])
    return {"columns": columns, "indexes": indexes}


def _postgres_schema(url: str) -> dict[str, object]:
    tables = [r[0] for r in query(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    columns = {
        t: sorted((name, nullable == "NO") for name, nullable in query(url, f"SELECT column_name, is_nullable FROM information_schema.columns WHERE table_name = '{t}'"))
        for t in tables
    }
    rows = query(url, """
        SELECT i.relname, t.relname, ix.indisunique, array_agg(a.attname ORDER BY k.n)
        FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid
        JOIN pg_namespace s ON s.oid = t.relnamespace
        CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, n)
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
        WHERE s.nspname = 'public' AND NOT ix.indisprimary AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)
        GROUP BY i.relname, t.relname, ix.indisunique""")
    return {"columns": columns, "indexes": {name: (table, unique, list(cols)) for name, table, unique, cols in rows}}


def test_both_databases_have_the_same_schema_after_migrating(pg_url: str, tmp_path: Path) -> None:
    from bot.store.connect import PostgresStore, SQLiteStore

    SQLiteStore(tmp_path / "schema.db").close()
    PostgresStore(pg_url).close()
    sqlite, postgres = _sqlite_schema(tmp_path / "schema.db"), _postgres_schema(pg_url)
    assert sqlite["columns"] == postgres["columns"]  # tables, their columns, and which may be null
    assert sqlite["indexes"] == postgres["indexes"]  # names, tables, uniqueness and columns in order
    assert "conversations_open_user" in sqlite["indexes"] and len(sqlite["columns"]) >= 8
