"""The desk decides what agents' clicks and customers' buttons do, and says why when it refuses."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.actions import Action
from bot.answer.engine import Engine
from bot.desk.buttons import Button, ButtonKind, press
from bot.desk.desk import Desk, NotAllowed, NotFound
from bot.desk.hours import parse_hours
from bot.desk.turns import question_answered
from bot.store.connect import open_store
from bot.store.model import Choice
from tests.conftest import on_duty, small_index, warm_engine

pytestmark = pytest.mark.slow  # over 10 s on 2 cores (tests/conftest.py SLOW_SECONDS)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, real_encoders) -> Engine:
    return warm_engine(small_index(tmp_path_factory.mktemp("desk"), real_encoders), real_encoders)


@pytest.fixture
def desk(engine: Engine, tmp_path: Path) -> Iterator[Desk]:
    store = open_store(str(tmp_path / "desk.db"))
    desk = Desk(engine, store, parse_hours("24/7", "UTC", ""))
    on_duty(desk)
    yield desk
    store.close()


def waiting(desk: Desk, user: str = "U1") -> str:
    conversation = desk.open("slack", f"T1:D1:{user}")
    assert desk.ask_for_person(conversation.id).conversation.state == "waiting"
    return conversation.id


def test_a_take_says_who_was_first(desk: Desk) -> None:
    conversation_id = waiting(desk)
    assert desk.take(conversation_id, "ayse", "Ayşe")
    second = desk.take(conversation_id, "omar", "Omar")
    assert not second and second.refusal == "taken" and second.holder == "ayse"
    again = desk.take(conversation_id, "ayse", "Ayşe")
    assert not again and again.already and again.refusal is None  # a double click
    assert desk.close(conversation_id, "ayse")
    late = desk.take(conversation_id, "omar", "Omar")
    assert not late and late.refusal == "closed"
    assert desk.take("no-such-conversation", "omar", "Omar").refusal == "gone"


def test_any_agent_sends_a_waiting_conversation_back_to_the_bot(desk: Desk) -> None:
    conversation_id = waiting(desk)
    sent = desk.hand_back(conversation_id, "omar")
    assert sent and sent.state == "bot"
    said = [m.action for m in desk.store.list_messages(conversation_id) if m.author == "bot"]
    assert said[-1] == Action.BACK_TO_BOT and Action.AGENT_JOINED not in said
    assert desk.hand_back(conversation_id, "omar").refusal == "bot"


def test_only_the_agent_who_has_it_hands_it_back(desk: Desk) -> None:
    conversation_id = waiting(desk)
    desk.take(conversation_id, "ayse", "Ayşe")
    refused = desk.hand_back(conversation_id, "omar")
    assert not refused and refused.refusal == "taken" and refused.holder == "ayse"
    assert desk.hand_back(conversation_id, "ayse").state == "bot"


def test_a_closed_conversation_closes_once(desk: Desk) -> None:
    conversation_id = waiting(desk)
    assert desk.close(conversation_id, "ayse")
    twice = desk.close(conversation_id, "ayse")
    assert not twice and twice.already


def test_a_button_does_what_it_says_for_the_customer_who_pressed_it(desk: Desk) -> None:
    conversation = desk.open("telegram", "42")
    offered = desk.store.add_message(
        conversation.id, "bot", "Did you mean one of these?", action=Action.CLARIFY,
        choices=[Choice("shipping", "Shipping"), Choice("refund", "Refunds and returns")],
    ).message
    mine = lambda user: user == "42"  # noqa: E731

    with pytest.raises(NotAllowed):
        press(desk, Button(ButtonKind.CHOOSE, conversation.id, offered.id, "1"), "telegram", lambda user: user == "43")
    with pytest.raises(NotAllowed):
        press(desk, Button(ButtonKind.CHOOSE, conversation.id, offered.id, "1"), "slack", mine)
    with pytest.raises(NotFound):
        press(desk, Button(ButtonKind.CHOOSE, conversation.id, offered.id, "2"), "telegram", mine)

    chosen = press(desk, Button(ButtonKind.CHOOSE, conversation.id, offered.id, "1"), "telegram", mine)
    [answer] = chosen.replies
    assert answer.action == Action.ANSWER and answer.article_id == "refund"
    thanks = press(desk, Button(ButtonKind.HELPFUL, conversation.id, answer.id, "yes"), "telegram", mine)
    assert [m.action for m in thanks.replies] == [Action.FEEDBACK_THANKS]
    handed = press(desk, Button(ButtonKind.HELPFUL, conversation.id, answer.id, "no"), "telegram", mine)
    assert handed.conversation.state == "waiting" and handed.replies[0].action == Action.HANDOFF_AFTER_NO
    with pytest.raises(ValueError):
        press(desk, Button(ButtonKind.CSAT, conversation.id, None, "five"), "telegram", mine)
    rated = press(desk, Button(ButtonKind.CSAT, conversation.id, None, "5"), "telegram", mine)
    assert [m.action for m in rated.replies] == [Action.CSAT_THANKS]
    assert [f.csat for f in desk.store.list_feedback() if f.csat] == [5]


def test_the_question_a_reply_answers_is_the_desks_to_say(desk: Desk) -> None:
    conversation = desk.open("slack", "T1:D1:U9")
    first = desk.receive(conversation.id, "how much is delivery", external_id="T1:D1:1.0")
    second = desk.receive(conversation.id, "I want my money back for a return", external_id="T1:D1:2.0")
    history = desk.store.list_messages(conversation.id)
    assert question_answered(history, first.replies[0]).external_id == "T1:D1:1.0"
    assert question_answered(history, second.replies[0]).external_id == "T1:D1:2.0"
