"""The report's "KB changes": deflection of the questions near an article in the weeks before and after a suggestion changed it."""

from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from bot.reports.changes import asked_questions, kb_changes
from bot.reports.command import make_report
from bot.reports.html import render_html
from bot.reports.served import NO_INDEX
from bot.reports.text import format_report
from bot.store.connect import open_store
from bot.store.model import Feedback, Message
from bot.store.sql_suggestions import ACCEPTED, REJECTED, Decision, open_suggestion_decisions
from tests.bot.test_gaps import TopicEncoder

UTC = timezone.utc
CHANGED = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)


def evidence(action: str, reason: str, *candidates: str, answers: int | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"action": action, "reason": reason, "candidates": [{"id": a, "score": 0.3} for a in candidates]}
    if answers is not None:
        found["answers"] = answers
    return found


class Rows:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.feedback: list[Feedback] = []

    def add(self, conversation: str, author: str, at: datetime, **fields: Any) -> Message:
        m = Message(len(self.messages) + 1, conversation, author, fields.pop("text", "..."), at, **fields)  # type: ignore[arg-type]
        self.messages.append(m)
        return m

    def asked(self, n: int, at: datetime, action: str, *candidates: str, article: str | None = None, rated_no: bool = False, picked: str | None = None) -> None:
        c = f"c{n}"
        q = self.add(c, "customer", at, text="where is my refund")
        reply = self.add(c, "bot", at, action=action, article_id=article, decision=evidence(action, "x", *candidates, answers=q.id))
        if picked:
            self.add(c, "customer", at, text="Refunds")
            reply = self.add(c, "bot", at, action="answer", article_id=picked, decision=evidence("answer", "chosen", picked))
        if rated_no:
            self.feedback.append(Feedback(len(self.feedback) + 1, c, reply.id, False, None, at))


def decision(article: str, at: datetime, status: str = ACCEPTED, kind: str = "question", n: int = 1) -> Decision:
    return Decision(f"{article}{n}{status}", kind, "picked", article, "en", f"question {n}", status, "Ana", at, 3)


def week(days: float) -> datetime:
    return CHANGED + timedelta(days=days)


def rows() -> Rows:
    r = Rows()
    # Before: 4 questions near refund, 1 settled (answered), 1 answered but rated no, 2 not (clarify left, handoff).
    r.asked(1, week(-10), "answer", "refund", "shipping", article="refund")
    r.asked(2, week(-9), "answer", "refund", article="refund", rated_no=True)
    r.asked(3, week(-3), "clarify", "refund", "shipping")
    r.asked(4, week(-1), "handoff", "shipping", "refund")
    r.asked(5, week(-20), "answer", "refund", article="refund")  # more than 2 weeks before: not counted
    r.asked(6, week(-2), "answer", "shipping", article="shipping")  # not near refund
    # After: 3 questions near refund, all settled (one by a pick from the choices).
    r.asked(7, week(1), "answer", "refund", article="refund")
    r.asked(8, week(2), "clarify", "refund", "shipping", picked="refund")
    r.asked(9, week(5), "answer", "refund", article="refund")
    return r


def test_questions_near_the_article_before_and_after_its_change() -> None:
    r = rows()
    changes = kb_changes([decision("refund", CHANGED), decision("refund", week(3), n=2), decision("shipping", week(1), REJECTED)],
                         r.messages, r.feedback, week(-30), week(30), now=week(30))
    assert len(changes) == 1  # a rejected suggestion changed nothing
    refund = changes[0]
    assert (refund.article_id, refund.changed_at, refund.what) == ("refund", CHANGED, "2 questions added")  # the first accept dates it
    assert (refund.before.questions, refund.before.settled) == (4, 1)
    assert (refund.after.questions, refund.after.settled) == (3, 3)
    assert refund.after_complete


def test_a_change_outside_the_period_is_not_shown_and_recent_weeks_are_marked_so_far() -> None:
    r = rows()
    assert kb_changes([decision("refund", CHANGED)], r.messages, r.feedback, week(1), week(30), now=week(30)) == []
    recent = kb_changes([decision("refund", CHANGED)], r.messages, r.feedback, week(-1), week(3), now=week(3))
    assert not recent[0].after_complete


def test_settled_means_answered_or_picked_and_not_rated_no() -> None:
    r = rows()
    settled = {q.at: q.settled for q in asked_questions(r.messages, r.feedback)}
    assert settled[week(-10)] and not settled[week(-9)] and not settled[week(-3)] and not settled[week(-1)] and settled[week(2)]


def test_the_report_reads_decisions_from_the_store_and_prints_the_section(tmp_path) -> None:
    db = str(tmp_path / "answerdesk.db")
    store = open_store(db)
    try:
        conversation = store.create_conversation("web", "u1", "en")
        q = store.add_message(conversation.id, "customer", "where is my refund").message
        store.add_message(conversation.id, "bot", "...", lang="en", action="answer", article_id="refund",
                          decision=evidence("answer", "confident", "refund", answers=q.id))
        open_suggestion_decisions(store).record(decision("refund", store.list_messages(conversation.id)[0].created_at))
        now = datetime.now(UTC)
        report = make_report(store, now - timedelta(days=30), None, load_encoder=TopicEncoder, tz=ZoneInfo("UTC"), now=now, served=NO_INDEX)
    finally:
        store.close()
    assert [c.article_id for c in report.changes] == ["refund"]
    text = format_report(report)
    assert "KB changes: deflection of the questions near each changed article" in text and "refund (1 question added)" in text
    assert 'id="kb-changes"' in render_html(report)
