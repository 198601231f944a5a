"""A message stored but never answered (a crash between the two) is answered on redelivery."""

from pathlib import Path

from bot.config import Settings
from bot.desk.desk import Desk
from bot.answer.engine import Engine
from bot.desk.hours import parse_hours
from bot.reindex.run import reindex
from bot.store.connect import open_store
from index.search import LiveIndex


def test_redelivered_message_without_reply_is_answered_once(small_kb: Path, tmp_path: Path, real_encoders) -> None:
    settings = Settings(kb_dir=str(small_kb), index_dir=str(tmp_path / "index"))
    reindex(settings, encoder=real_encoders)
    desk = Desk(Engine(settings, real_encoders, LiveIndex(settings.index_dir)), open_store(str(tmp_path / "a.db")), parse_hours("24/7", "UTC", ""))
    conversation = desk.open("slack", "T1:D1:U1")
    # The crash: the customer's message was committed, the reply never computed.
    desk.store.add_message(conversation.id, "customer", "how much is delivery", external_id="T1:D1:1.0")
    retry = desk.receive(conversation.id, "how much is delivery", external_id="T1:D1:1.0")
    assert [m.article_id for m in retry.replies] == ["shipping"]
    again = desk.receive(conversation.id, "how much is delivery", external_id="T1:D1:1.0")
    assert again.duplicate and [m.id for m in again.replies] == [m.id for m in retry.replies]
    assert sum(m.author == "customer" for m in desk.store.list_messages(conversation.id)) == 1
