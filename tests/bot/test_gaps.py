from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from bot.reports.gaps import MAX_EXAMPLES, GapQuestion, cluster, collect_gap_questions, collect_person_questions, group_gaps
from bot.store.model import Conversation, Feedback, Message

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)
TOPICS = {"gift": 0, "hediye": 0, "هدية": 0, "student": 1, "öğrenci": 1, "طلاب": 1, "weather": 2}


class TopicEncoder:
    """A tiny deterministic encoder: one axis per topic keyword, plus a little per-text noise."""

    name, dim = "topics", 8

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        rows = []
        for text in texts:
            v = np.random.default_rng(sum(map(ord, text))).normal(0, 0.15, self.dim)
            for word, axis in TOPICS.items():
                if word in text.casefold():
                    v[axis] += 1.0
            rows.append(v / np.linalg.norm(v))
        return np.asarray(rows, dtype=np.float32)


def conversation(conversation_id: str, channel: str = "web") -> Conversation:
    return Conversation(conversation_id, channel, "u", "en", "closed", None, None, T0, T0, None, None)


class Messages:
    def __init__(self) -> None:
        self.rows: list[Message] = []

    def add(self, conversation_id: str, author: str, text: str, **fields: Any) -> Message:
        m = Message(len(self.rows) + 1, conversation_id, author, text, T0 + timedelta(seconds=len(self.rows)), **fields)  # type: ignore[arg-type]
        self.rows.append(m)
        return m

    def bot(self, conversation_id: str, action: str, reason: str, lang: str = "en", article: str | None = None) -> Message:
        return self.add(conversation_id, "bot", "...", lang=lang, action=action, article_id=article,
                        decision={"action": action, "reason": reason, "candidates": []})


def question(text: str, lang: str, kind: str = "not_covered", n: list[int] = [0]) -> GapQuestion:
    n[0] += 1
    return GapQuestion(text, lang, kind, f"c{n[0]}", n[0], "web", T0)


def test_collects_not_covered_handoffs_and_answers_rated_no() -> None:
    m = Messages()
    m.add("a", "customer", "Hediye kartı satıyor musunuz?")
    m.bot("a", "handoff", "not_covered", lang="tr")
    m.add("b", "customer", "I want to talk to a human")
    m.bot("b", "handoff", "asked_for_person")  # asked for a person: not a gap
    m.add("c", "customer", "how do I get my money back")
    rated_no = m.bot("c", "answer", "confident", article="refund")
    m.add("d", "customer", "password problem")
    m.bot("d", "clarify", "close_candidates")
    m.add("d", "customer", "How to reset your password")  # the picked choice's title
    picked = m.bot("d", "answer", "chosen", article="reset-password")
    m.add("e", "customer", "how long does shipping take")
    rated_yes = m.bot("e", "answer", "confident", article="shipping")
    m.add("x", "customer", "Do you sell gift cards?")
    m.bot("x", "handoff", "not_covered")  # a conversation outside the report
    feedback = [Feedback(1, "c", rated_no.id, False, None, T0), Feedback(2, "d", picked.id, False, None, T0), Feedback(3, "e", rated_yes.id, True, None, T0)]
    found = collect_gap_questions([conversation(c) for c in "abcde"], m.rows, feedback)
    assert [(q.text, q.lang, q.kind, q.article_id) for q in found] == [
        ("Hediye kartı satıyor musunuz?", "tr", "not_covered", None),
        ("how do I get my money back", "en", "unhelpful", "refund"),
        ("password problem", "en", "unhelpful", "reset-password"),
    ]


def test_collects_what_customers_said_when_they_asked_for_a_person() -> None:
    m = Messages()
    m.add("a", "customer", "I want to talk to a human")
    m.bot("a", "handoff", "asked_for_person")  # in words
    m.add("b", "customer", "where is my refund")
    m.bot("b", "answer", "confident", article="refund")
    m.add("b", "customer", "/human", action="note")  # a command kept for the agent: no question
    m.add("b", "bot", "...", lang="en", action="handoff_requested")  # the button
    m.add("c", "customer", "Do you sell gift cards?")
    m.bot("c", "handoff", "not_covered")  # not covered: not a request for a person
    m.add("d", "customer", "first")
    m.add("d", "customer", "a person please")
    m.add("d", "bot", "...", lang="en", action="handoff",
          decision={"action": "handoff", "reason": "asked_for_person", "candidates": [], "answers": m.rows[-2].id})  # answers "first"
    found = collect_person_questions([conversation(c) for c in "abcd"], m.rows)
    assert [(q.text, q.kind, q.conversation_id) for q in found] == [
        ("I want to talk to a human", "asked_for_person", "a"), ("where is my refund", "asked_for_person", "b"), ("first", "asked_for_person", "d"),
    ]
    assert [q.text for q in collect_gap_questions([conversation(c) for c in "abcd"], m.rows, [])] == ["Do you sell gift cards?"]


def test_groups_by_meaning_biggest_first_with_languages_and_a_central_title() -> None:
    questions = [
        *[question("Do you sell gift cards?", "en") for _ in range(3)],
        question("Where can I buy a GIFT card?", "en"),
        question("Hediye kartı nasıl alabilirim?", "tr"),
        question("كيف أشتري بطاقة هدية؟", "ar"),
        question("My gift card code does not work", "en", kind="unhelpful"),
        question("Öğrenci indirimi var mı?", "tr"),
        question("Do you offer a student discount?", "en"),
        question("What's the weather tomorrow?", "en"),
    ]
    groups = group_gaps(questions, TopicEncoder())
    assert [g.count for g in groups] == [7, 2, 1]
    gift = groups[0]
    assert (gift.not_covered, gift.unhelpful) == (6, 1)
    assert gift.languages == (("en", 5), ("ar", 1), ("tr", 1))
    assert "gift" in gift.title.casefold() or "hediye" in gift.title.casefold() or "هدية" in gift.title
    assert len(gift.examples) == 5 and len({e.text for e in gift.examples}) == 5  # one example per distinct question
    assert {e.lang for e in gift.examples[:3]} == {"en", "tr", "ar"}  # the languages come first
    assert any(e.kind == "unhelpful" for e in gift.examples)
    assert {e.lang for e in groups[1].examples} == {"en", "tr"}


def test_examples_are_capped() -> None:
    questions = [question(f"gift card question number {n}", "en") for n in range(12)]
    groups = group_gaps(questions, TopicEncoder())
    assert len(groups) == 1 and groups[0].count == 12 and len(groups[0].examples) == MAX_EXAMPLES


def test_cluster_threshold_is_on_cosine_distance() -> None:
    def pair(similarity: float) -> np.ndarray:
        return np.array([[1.0, 0.0], [similarity, np.sqrt(1 - similarity**2)]], dtype=np.float32)

    assert len(set(cluster(pair(0.6)))) == 1
    assert len(set(cluster(pair(0.4)))) == 2
    assert list(cluster(np.ones((1, 2), dtype=np.float32))) == [0]
    assert group_gaps([], TopicEncoder()) == []
