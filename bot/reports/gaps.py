"""The questions the KB did not cover, grouped by meaning: the list the next articles are written from.

Two kinds of question are collected from the stored conversations:
  not_covered  the bot's reply to it was a handoff with reason `not_covered`
  unhelpful    the bot answered it with an article and the customer said "no, that did not help"

Both kinds are embedded with the project's encoder (multilingual: a question and its
translation land close together) and grouped by agglomerative clustering, average linkage,
cosine distance threshold 0.5: two groups merge while their questions are, on average, at
least 0.5 cosine-similar. Measured with USE-m3 on three themes written in en/tr/ar (gift
cards, student discounts, instalments) and the 77 off-topic probes of bot/data: the same
question in several languages scores 0.5-0.8 and groups; themes score 0.5-0.66 within and
0.07-0.43 between; at 0.55 "gift wrapping" already merges into "gift cards".
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from bot.answer.decision import ANSWER, HANDOFF
from bot.store.model import Conversation, Feedback, Message

if TYPE_CHECKING:
    from index.encoders import Encoder, Encoders

NOT_COVERED, UNHELPFUL = "not_covered", "unhelpful"
DISTANCE_THRESHOLD = 0.5
MAX_EXAMPLES = 5
MAX_QUESTIONS = 5000  # the most recent ones; clustering is quadratic in the distinct questions


@dataclass(frozen=True)
class GapQuestion:
    text: str
    lang: str  # the language the bot replied in
    kind: str  # not_covered | unhelpful
    conversation_id: str
    message_id: int  # the customer's message
    channel: str
    created_at: datetime
    article_id: str | None = None  # unhelpful: the article that did not help


@dataclass(frozen=True)
class GapGroup:
    title: str  # the most central question
    count: int
    not_covered: int
    unhelpful: int
    languages: tuple[tuple[str, int], ...]  # most frequent first
    examples: tuple[GapQuestion, ...]  # up to MAX_EXAMPLES distinct questions, central first, languages mixed
    articles: tuple[str, ...] = ()  # articles that were answered and rated "no"


def collect_gap_questions(conversations: Sequence[Conversation], messages: Sequence[Message], feedback: Sequence[Feedback]) -> list[GapQuestion]:
    """Customer questions handed off as not covered, and those whose answer was rated "no"."""
    channel = {c.id: c.channel for c in conversations}
    thread: dict[str, list[Message]] = defaultdict(list)
    for m in sorted(messages, key=lambda m: m.id):
        if m.conversation_id in channel:
            thread[m.conversation_id].append(m)
    found: list[GapQuestion] = []
    for conversation_id, ordered in thread.items():
        for i, m in enumerate(ordered):
            if m.author == "bot" and m.action == HANDOFF and (m.decision or {}).get("reason") == NOT_COVERED:
                question = _asked_before(ordered, i)
                if question is not None:
                    found.append(_gap(question, m, NOT_COVERED, channel[conversation_id]))
    position = {m.id: (m.conversation_id, i) for ordered in thread.values() for i, m in enumerate(ordered)}
    for f in sorted(feedback, key=lambda f: f.id):
        if f.helpful is not False or f.message_id not in position:
            continue
        conversation_id, i = position[f.message_id]
        answer = thread[conversation_id][i]
        if answer.author != "bot" or answer.action != ANSWER:
            continue
        question = _asked_before(thread[conversation_id], i, picked=(answer.decision or {}).get("reason") == "chosen")
        if question is not None:
            found.append(_gap(question, answer, UNHELPFUL, channel[conversation_id], answer.article_id))
    return sorted(found, key=lambda q: q.message_id)


def _asked_before(ordered: Sequence[Message], index: int, picked: bool = False) -> Message | None:
    """The customer message a bot message replied to; for a picked choice, the question before the pick."""
    for m in reversed(ordered[:index]):
        if m.author != "customer":
            continue
        if picked:  # the desk stores the picked article's title as the customer's message
            picked = False
            continue
        return m
    return None


def _gap(question: Message, reply: Message, kind: str, channel: str, article_id: str | None = None) -> GapQuestion:
    return GapQuestion(
        text=question.text.strip(), lang=reply.lang or question.lang or "?", kind=kind, conversation_id=question.conversation_id,
        message_id=question.id, channel=channel, created_at=question.created_at, article_id=article_id,
    )


def normalise(text: str) -> str:
    """The key two questions are "the same question" by: case and spacing folded."""
    return " ".join(text.casefold().split())


def clustering_encoder(encoder: "Encoder | Encoders") -> "Encoder":
    """The encoder questions are grouped with: of an ensemble, USE (DISTANCE_THRESHOLD was set on
    its similarities), else its first."""
    members = getattr(encoder, "members", None)
    if members is None:
        return encoder  # type: ignore[return-value]
    return next((e for e in members if e.name.startswith("use-")), members[0])


def cluster(vectors: np.ndarray, threshold: float = DISTANCE_THRESHOLD) -> np.ndarray:
    """Group labels of L2-normalised rows: average linkage, cosine distance below `threshold`."""
    if len(vectors) < 2:
        return np.zeros(len(vectors), dtype=int)
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average", distance_threshold=threshold)
    return model.fit(vectors).labels_


def group_gaps(questions: Sequence[GapQuestion], encoder: "Encoder | Encoders", threshold: float = DISTANCE_THRESHOLD) -> list[GapGroup]:
    """Group questions by meaning; the biggest group first, each titled by its most central question."""
    encoder = clustering_encoder(encoder)
    kept = sorted(questions, key=lambda q: q.message_id)[-MAX_QUESTIONS:]
    # Distinct texts are clustered once each, so a question asked 50 times does not drag its group.
    by_text: dict[str, list[GapQuestion]] = defaultdict(list)
    for q in kept:
        by_text[normalise(q.text)].append(q)
    keys = list(by_text)
    if not keys:
        return []
    vectors = np.asarray(encoder.encode([by_text[k][0].text for k in keys]), dtype=np.float32)
    labels = cluster(vectors, threshold)
    members: dict[int, list[int]] = defaultdict(list)
    for row, label in enumerate(labels):
        members[int(label)].append(row)
    groups = [_group([keys[r] for r in rows], vectors[rows], by_text) for rows in members.values()]
    return sorted(groups, key=lambda g: (-g.count, -g.not_covered, g.title))


def _group(keys: list[str], vectors: np.ndarray, by_text: dict[str, list[GapQuestion]]) -> GapGroup:
    weights = np.array([len(by_text[k]) for k in keys], dtype=np.float32)
    # Centrality: mean similarity to every question of the group, each counted as often as asked.
    centrality = (vectors @ vectors.T) @ weights / weights.sum()
    order = sorted(range(len(keys)), key=lambda r: (-round(float(centrality[r]), 6), -weights[r], len(keys[r]), keys[r]))
    everything = [q for k in keys for q in by_text[k]]
    kinds = Counter(q.kind for q in everything)
    langs = Counter(q.lang for q in everything)
    return GapGroup(
        title=by_text[keys[order[0]]][0].text,
        count=len(everything),
        not_covered=kinds[NOT_COVERED],
        unhelpful=kinds[UNHELPFUL],
        languages=tuple(sorted(langs.items(), key=lambda kv: (-kv[1], kv[0]))),
        examples=_examples([by_text[keys[r]] for r in order]),
        articles=tuple(sorted({q.article_id for q in everything if q.article_id})),
    )


def _examples(central_first: list[list[GapQuestion]]) -> tuple[GapQuestion, ...]:
    """Up to MAX_EXAMPLES distinct questions: the most central of each language in turn, then the next."""
    queues: dict[str, list[GapQuestion]] = defaultdict(list)
    for asked in central_first:
        # One example per distinct text, of the kind it was most often (ties: not covered).
        kind = max((NOT_COVERED, UNHELPFUL), key=lambda k: sum(q.kind == k for q in asked))
        shown = next(q for q in asked if q.kind == kind)
        queues[shown.lang].append(shown)
    picked: list[GapQuestion] = []
    while len(picked) < MAX_EXAMPLES and any(queues.values()):
        for lang in list(queues):
            if queues[lang] and len(picked) < MAX_EXAMPLES:
                picked.append(queues[lang].pop(0))
    return tuple(picked)
