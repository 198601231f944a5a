"""Issue 15: one transaction per customer message. The message, the bot's replies and the
conversation's new state are committed together (a handoff adds no commit); a turn that fails
half-way leaves nothing of itself; the history read does not grow with the conversation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.answer.engine import Engine
from bot.desk.desk import HISTORY, Desk
from bot.desk.hours import parse_hours
from bot.store.connect import open_store
from tests.conftest import on_duty, small_index, warm_engine


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, use_encoder: object) -> Engine:
    return warm_engine(small_index(tmp_path_factory.mktemp("commit"), use_encoder), use_encoder)


@pytest.fixture
def desk(engine: Engine, db_url: str) -> Iterator[Desk]:
    store = open_store(db_url)
    desk = Desk(engine, store, parse_hours("24/7", "UTC", ""))
    on_duty(desk)
    yield desk
    store.close()


class Commits:
    """The COMMITs this thread's SQLite connection runs inside the block."""

    def __init__(self, desk: Desk) -> None:
        self.database = desk.store.database  # type: ignore[attr-defined]
        self.statements: list[str] = []

    def __enter__(self) -> "Commits":
        with self.database.connection() as conn:
            conn.set_trace_callback(self.statements.append)
        return self

    def __exit__(self, *exc: object) -> None:
        with self.database.connection() as conn:
            conn.set_trace_callback(None)

    @property
    def count(self) -> int:
        return sum(1 for s in self.statements if s.strip().upper() == "COMMIT")


def sqlite_only(db_url: str) -> None:
    if db_url.startswith("postgresql"):
        pytest.skip("counts SQLite's COMMIT statements")


def test_an_answered_message_is_one_commit(desk: Desk, db_url: str) -> None:
    sqlite_only(db_url)
    conversation = desk.open("web", "visitor-1", "en")
    with Commits(desk) as commits:
        turn = desk.receive(conversation.id, "how much is delivery", external_id="web:visitor-1:m1")
    assert turn.replies and turn.replies[0].author == "bot"
    assert commits.count == 1, commits.statements


def test_a_handoff_adds_no_commit(desk: Desk, db_url: str) -> None:
    sqlite_only(db_url)
    conversation = desk.open("web", "visitor-2", "en")
    with Commits(desk) as commits:
        turn = desk.receive(conversation.id, "I want to talk to a human")
    assert turn.conversation.state == "waiting"
    assert commits.count == 1, commits.statements


def test_a_kept_message_is_answered_in_one_more_commit_and_only_once(desk: Desk, db_url: str) -> None:
    sqlite_only(db_url)
    conversation = desk.open("slack", "T1:D1:U1", "en")
    with Commits(desk) as commits:
        kept = desk.keep(conversation.id, "how much is delivery", "T1:D1:1.000001")
        first = desk.receive(conversation.id, "how much is delivery", external_id="T1:D1:1.000001")
    assert commits.count == 2 and first.replies and first.message.id == kept.message.id
    with Commits(desk) as commits:
        again = desk.receive(conversation.id, "how much is delivery", external_id="T1:D1:1.000001")
    assert again.duplicate and [m.id for m in again.replies] == [m.id for m in first.replies]
    assert commits.count == 0


def test_a_turn_that_fails_half_way_leaves_nothing(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    conversation = desk.open("web", "visitor-3", "en")
    desk.receive(conversation.id, "hello")
    before = desk.store.list_messages(conversation.id)
    state = desk.store.get_conversation(conversation.id)

    def fails(*args: object, **kwargs: object) -> object:
        raise RuntimeError("the disk filled up")

    monkeypatch.setattr(desk, "_hand_off", fails)  # after the message and the first reply were written
    with pytest.raises(RuntimeError):
        desk.receive(conversation.id, "I want to talk to a human", external_id="web:visitor-3:m2")
    assert desk.store.list_messages(conversation.id) == before
    assert desk.store.get_conversation(conversation.id) == state
    monkeypatch.undo()
    retried = desk.receive(conversation.id, "I want to talk to a human", external_id="web:visitor-3:m2")  # the client retries
    assert retried.conversation.state == "waiting" and not retried.duplicate


def test_the_history_a_message_is_read_with_is_bounded(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    conversation = desk.open("web", "visitor-4", "en")
    for n in range(HISTORY + 5):
        desk.store.add_message(conversation.id, "customer", f"earlier {n}")
    read: list[object] = []
    monkeypatch.setattr(desk.store, "list_messages", lambda *a, **k: read.append(a) or [])
    recent = desk.store.recent_messages
    monkeypatch.setattr(desk.store, "recent_messages", lambda cid, limit: read.append(limit) or recent(cid, limit))
    desk.receive(conversation.id, "how much is delivery")
    assert read == [HISTORY]  # the last HISTORY messages, by index; never the whole conversation


def test_the_conversation_row_is_read_once_for_a_message_the_caller_has_read(desk: Desk, db_url: str) -> None:
    sqlite_only(db_url)
    conversation = desk.open("web", "visitor-once", "en")
    desk.receive(conversation.id, "how do I return an item")  # a history to read
    conversation = desk.store.get_conversation(conversation.id)  # as the web API does, to check the visitor owns it
    with Commits(desk) as seen:
        turn = desk.receive(conversation.id, "refund policy", known=conversation)
    assert turn.replies and seen.count == 1
    rows = [s for s in seen.statements if re.match(r"\s*SELECT id, channel, external_user\b.* FROM conversations", s, re.S)]
    assert len(rows) == 1, rows  # the row as the turn's update left it; the caller's read stands for the first
