"""The report's "KB changes": for each article changed by an accepted suggestion, how often the bot
settled the questions near it in the weeks before the change and in the weeks after.

A question is near an article when the article was among the top candidates of the bot's reply
to it (its evidence), or the bot answered with it. It is settled (deflected) when the bot
answered it, or the customer picked an article from the choices, and the answer was not rated
"not helpful"; a handoff, a clarify left unanswered or a "no" is not. The change's date is the
first accept for that article; it is served from the next reindex, so the first days after it
may still show the old article.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.actions import Action
from bot.reports.gaps import asked_before
from bot.store.model import Feedback, Message
from bot.store.sql_suggestions import ACCEPTED, Decision

WEEKS = 2  # compared before and after
NEAR = 3  # a question is near the articles among its reply's first NEAR candidates


@dataclass(frozen=True)
class Window:
    questions: int
    settled: int

    @property
    def rate(self) -> float | None:
        return self.settled / self.questions if self.questions else None


@dataclass(frozen=True)
class KBChange:
    article_id: str
    changed_at: datetime
    what: str  # "2 questions added" / "drafted" / "1 note"
    before: Window
    after: Window
    after_complete: bool  # the weeks after have all passed


@dataclass(frozen=True)
class Asked:
    """One customer question and what came of it."""

    at: datetime
    near: frozenset[str]
    settled: bool


def changed_articles(decisions: Iterable[Decision], since: datetime, until: datetime) -> dict[str, tuple[datetime, list[Decision]]]:
    """The articles accepted suggestions changed within [since, until): the first date, and the decisions."""
    found: dict[str, tuple[datetime, list[Decision]]] = {}
    for d in sorted(decisions, key=lambda d: d.decided_at):
        if d.status != ACCEPTED or not d.article_id or not since <= d.decided_at < until:
            continue
        first, ds = found.get(d.article_id, (d.decided_at, []))
        found[d.article_id] = (first, [*ds, d])
    return found


def asked_questions(messages: Sequence[Message], feedback: Sequence[Feedback]) -> list[Asked]:
    """Every customer question that got a bot reply, with the articles near it and whether it was settled."""
    rated_no = {f.message_id for f in feedback if f.helpful is False and f.message_id is not None}
    thread: dict[str, list[Message]] = defaultdict(list)
    for m in sorted(messages, key=lambda m: m.id):
        thread[m.conversation_id].append(m)
    found: list[Asked] = []
    for ordered in thread.values():
        for i, m in enumerate(ordered):
            if m.author != "bot" or m.action not in (Action.ANSWER, Action.CLARIFY, Action.HANDOFF) or (m.decision or {}).get("reason") == "chosen":
                continue
            question = asked_before(ordered, i, answers=(m.decision or {}).get("answers"))
            if question is None:
                continue
            candidates = [c.get("id") for c in (m.decision or {}).get("candidates") or [] if isinstance(c, dict)][:NEAR]
            near = frozenset(a for a in [*candidates, m.article_id] if a)
            found.append(Asked(question.created_at, near, _settled(ordered, i, rated_no)))
    return found


def _settled(ordered: Sequence[Message], index: int, rated_no: set[int]) -> bool:
    reply = ordered[index]
    if reply.action == Action.ANSWER:
        return reply.id not in rated_no
    if reply.action != Action.CLARIFY:
        return False
    for m in ordered[index + 1 :]:  # the pick: a customer message (the title), then the chosen answer
        if m.author == "bot" and (m.decision or {}).get("reason") == "chosen":
            return m.id not in rated_no
        if m.author == "bot" and m.action in (Action.ANSWER, Action.CLARIFY, Action.HANDOFF):
            return False  # the customer asked again instead
    return False


def kb_changes(
    decisions: Iterable[Decision], messages: Sequence[Message], feedback: Sequence[Feedback], since: datetime, until: datetime, now: datetime, weeks: int = WEEKS
) -> list[KBChange]:
    """Deflection of the questions near each article changed in [since, until), WEEKS before and after."""
    changed = changed_articles(decisions, since, until)
    if not changed:
        return []
    asked = asked_questions(messages, feedback)
    span = timedelta(weeks=weeks)
    rows = []
    for article_id, (at, ds) in changed.items():
        near = [q for q in asked if article_id in q.near]
        before = [q for q in near if at - span <= q.at < at]
        after = [q for q in near if at <= q.at < at + span]
        rows.append(KBChange(article_id, at, _what(ds), _window(before), _window(after), now >= at + span))
    return sorted(rows, key=lambda c: (c.changed_at, c.article_id))


def _window(questions: Sequence[Asked]) -> Window:
    return Window(len(questions), sum(q.settled for q in questions))


def _what(decisions: Sequence[Decision]) -> str:
    kinds = defaultdict(int)
    for d in decisions:
        kinds[d.kind] += 1
    parts = []
    if kinds["question"]:
        parts.append(f"{kinds['question']} question{'s' if kinds['question'] != 1 else ''} added")
    if kinds["draft"]:
        parts.append("drafted")
    if kinds["note"]:
        parts.append(f"{kinds['note']} note{'s' if kinds['note'] != 1 else ''}")
    return ", ".join(parts)
