"""The questions the KB did not cover, grouped by meaning: the list the next articles are written from.

Three kinds of question are collected from the stored conversations:
  not_covered       the bot's reply to it was a handoff with reason `not_covered`; a near-miss
                    when the right article existed after all (`bot.reports.misses` has the rule)
  unhelpful         the bot answered it with an article and the customer said "no, that did not help"
  asked_for_person  the customer asked for a person (in words, or the button): the message the
                    handoff answered, else the last one before it; a list of its own

Near-misses are grouped by the article that existed (`group_near_misses`): the fix is example
questions on it. The true gaps (with the unhelpful answers) and the requests for a person are
grouped by meaning: each question is embedded with the project's encoder (multilingual: a
question and its translation land close together) and grouped by agglomerative clustering,
average linkage, cosine distance threshold 0.5: two groups merge while their questions are, on
average, at least 0.5 cosine-similar. Measured with USE-m3 on three themes written in en/tr/ar
(gift cards, student discounts, instalments) and the 77 off-topic probes of bot/data: the same
question in several languages scores 0.5-0.8 and groups; themes score 0.5-0.66 within and
0.07-0.43 between; at 0.55 "gift wrapping" already merges into "gift cards".
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from bot.actions import Action
from bot.answer.decision import ANSWER, HANDOFF
from bot.reports.misses import CLOSE, NearMiss, near_miss, top_candidate
from bot.reports.outcomes import handoff_reason
from bot.store.model import Conversation, Feedback, Message

if TYPE_CHECKING:
    from index.encoders import Encoder, Encoders

NOT_COVERED, UNHELPFUL, PERSON = "not_covered", "unhelpful", "asked_for_person"
DISTANCE_THRESHOLD = 0.5
MAX_EXAMPLES = 5
MAX_QUESTIONS = 5000  # the most recent ones; clustering is quadratic in the distinct questions
Title = Callable[[str, str], "str | None"]  # (article id, language) -> its title, None when unknown


@dataclass(frozen=True)
class GapQuestion:
    text: str
    lang: str  # the language the bot replied in
    kind: str  # not_covered | unhelpful | asked_for_person
    conversation_id: str
    message_id: int  # the customer's message
    channel: str
    created_at: datetime
    article_id: str | None = None  # unhelpful: the article that did not help
    nearest: str | None = None  # the top candidate of the reply's evidence
    score: float | None = None  # its score
    near: NearMiss | None = None  # not_covered: the article that existed after all


@dataclass(frozen=True)
class GapGroup:
    title: str  # the most central question
    count: int
    not_covered: int
    unhelpful: int
    languages: tuple[tuple[str, int], ...]  # most frequent first
    examples: tuple[GapQuestion, ...]  # up to MAX_EXAMPLES distinct questions, central first, languages mixed
    articles: tuple[str, ...] = ()  # articles that were answered and rated "no"
    nearest: str | None = None  # the best top candidate of its not-covered questions
    nearest_score: float | None = None
    nearest_title: str | None = None  # in the group's most frequent language
    members: tuple[GapQuestion, ...] = ()  # every question of the group, each distinct text in turn, central first


def collect_gap_questions(
    conversations: Sequence[Conversation], messages: Sequence[Message], feedback: Sequence[Feedback], handoff: float | None = None,
) -> list[GapQuestion]:
    """Customer questions handed off as not covered (each marked when it was a near-miss, measured
    from the `handoff` threshold), and those whose answer was rated "no"."""
    channel, thread = _threads(conversations, messages)
    rated_no = {f.message_id for f in feedback if f.helpful is False and f.message_id is not None}
    found: list[GapQuestion] = []
    for conversation_id, ordered in thread.items():
        for i, m in enumerate(ordered):
            if m.author == "bot" and m.action == HANDOFF and (m.decision or {}).get("reason") == NOT_COVERED:
                question = asked_before(ordered, i)
                if question is not None:
                    near = near_miss(ordered, i, handoff, rated_no)
                    found.append(_gap(question, m, NOT_COVERED, channel[conversation_id], near=near))
    position = {m.id: (m.conversation_id, i) for ordered in thread.values() for i, m in enumerate(ordered)}
    for f in sorted(feedback, key=lambda f: f.id):
        if f.helpful is not False or f.message_id not in position:
            continue
        conversation_id, i = position[f.message_id]
        answer = thread[conversation_id][i]
        if answer.author != "bot" or answer.action != ANSWER:
            continue
        question = asked_before(thread[conversation_id], i, picked=(answer.decision or {}).get("reason") == "chosen")
        if question is not None:
            found.append(_gap(question, answer, UNHELPFUL, channel[conversation_id], answer.article_id))
    return sorted(found, key=lambda q: q.message_id)


def collect_person_questions(conversations: Sequence[Conversation], messages: Sequence[Message]) -> list[GapQuestion]:
    """What customers said when they asked for a person (`handoff_requested`, or a handoff with
    reason asked_for_person): the message the handoff answered, else the last one before it."""
    channel, thread = _threads(conversations, messages)
    found: list[GapQuestion] = []
    for conversation_id, ordered in thread.items():
        for i, m in enumerate(ordered):
            if handoff_reason(m) == PERSON:
                question = asked_before(ordered, i, answers=(m.decision or {}).get("answers"))
                if question is not None:
                    found.append(_gap(question, m, PERSON, channel[conversation_id]))
    return sorted(found, key=lambda q: q.message_id)


def _threads(conversations: Sequence[Conversation], messages: Sequence[Message]) -> tuple[dict[str, str], dict[str, list[Message]]]:
    """Each conversation's channel, and its messages in order."""
    channel = {c.id: c.channel for c in conversations}
    thread: dict[str, list[Message]] = defaultdict(list)
    for m in sorted(messages, key=lambda m: m.id):
        if m.conversation_id in channel:
            thread[m.conversation_id].append(m)
    return channel, thread


def asked_before(
    ordered: Sequence[Message], index: int, picked: bool = False, answers: object = None, skip: Collection[int] = ()
) -> Message | None:
    """The customer message a bot message replied to (the one `answers` names, when stored);
    for a picked choice, the question before the pick. Notes (a photo, /human) are no question,
    nor are the messages `skip` names (picked titles, when the caller knows them)."""
    if answers is not None:
        named = next((m for m in ordered[:index] if m.id == answers and m.author == "customer" and m.id not in skip), None)
        if named is not None:
            return named
    for m in reversed(ordered[:index]):
        if m.author != "customer" or m.action == Action.NOTE or m.id in skip:
            continue
        if picked:  # the desk stores the picked article's title as the customer's message
            picked = False
            continue
        return m
    return None


def _gap(question: Message, reply: Message, kind: str, channel: str, article_id: str | None = None, near: NearMiss | None = None) -> GapQuestion:
    top = top_candidate(reply.decision) if reply.action == HANDOFF else None
    return GapQuestion(
        text=question.text.strip(), lang=reply.lang or question.lang or "?", kind=kind, conversation_id=question.conversation_id,
        message_id=question.id, channel=channel, created_at=question.created_at, article_id=article_id,
        nearest=top[0] if top else None, score=top[1] if top else None, near=near,
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


def group_gaps(
    questions: Sequence[GapQuestion], encoder: "Encoder | Encoders", threshold: float = DISTANCE_THRESHOLD, title: Title | None = None,
) -> list[GapGroup]:
    """Group questions by meaning; the biggest group first, each titled by its most central question
    and naming the nearest article its not-covered questions had (`title` names it)."""
    by_text, vectors, members = _meanings(sorted(questions, key=lambda q: q.message_id)[-MAX_QUESTIONS:], encoder, threshold)
    keys = list(by_text)
    groups = [_group([keys[r] for r in rows], vectors[rows], by_text, title) for rows in members]
    return sorted(groups, key=lambda g: (-g.count, -g.not_covered, g.title))


def _meanings(
    questions: Sequence[GapQuestion], encoder: "Encoder | Encoders", threshold: float,
) -> tuple[dict[str, list[GapQuestion]], np.ndarray, list[list[int]]]:
    """The questions by distinct text, a vector per text, and the rows of each group by meaning."""
    # Distinct texts are clustered once each, so a question asked 50 times does not drag its group.
    by_text: dict[str, list[GapQuestion]] = defaultdict(list)
    for q in questions:
        by_text[normalise(q.text)].append(q)
    if not by_text:
        return by_text, np.zeros((0, 0), dtype=np.float32), []
    texts = [asked[0].text for asked in by_text.values()]
    vectors = np.asarray(clustering_encoder(encoder).encode(texts), dtype=np.float32)
    members: dict[int, list[int]] = defaultdict(list)
    for row, label in enumerate(cluster(vectors, threshold)):
        members[int(label)].append(row)
    return by_text, vectors, list(members.values())


def settle_close_calls(questions: Sequence[GapQuestion], encoder: "Encoder | Encoders", threshold: float = DISTANCE_THRESHOLD) -> list[GapQuestion]:
    """Near-misses by their score alone (`close`) that mean the same as more true gaps than
    near-misses are true gaps too: a theme the KB lacks, one of whose questions happened to
    score close to some article. Near-misses the conversation showed are kept."""
    if not any(q.near is not None and q.near.how == CLOSE for q in questions):
        return list(questions)
    missed = sorted((q for q in questions if q.kind == NOT_COVERED), key=lambda q: q.message_id)[-MAX_QUESTIONS:]
    by_text, _vectors, members = _meanings(missed, encoder, threshold)
    texts = list(by_text.values())
    demoted: set[int] = set()
    for rows in members:
        group = [q for r in rows for q in texts[r]]
        if sum(q.near is None for q in group) > sum(q.near is not None for q in group):
            demoted |= {q.message_id for q in group if q.near is not None and q.near.how == CLOSE}
    return [replace(q, near=None) if q.message_id in demoted else q for q in questions]


def _group(keys: list[str], vectors: np.ndarray, by_text: dict[str, list[GapQuestion]], title: Title | None) -> GapGroup:
    weights = np.array([len(by_text[k]) for k in keys], dtype=np.float32)
    # Centrality: mean similarity to every question of the group, each counted as often as asked.
    centrality = (vectors @ vectors.T) @ weights / weights.sum()
    order = sorted(range(len(keys)), key=lambda r: (-round(float(centrality[r]), 6), -weights[r], len(keys[r]), keys[r]))
    everything = [q for k in keys for q in by_text[k]]
    kinds = Counter(q.kind for q in everything)
    languages = ranked(Counter(q.lang for q in everything))
    scored = [q for q in everything if q.kind == NOT_COVERED and q.nearest is not None]
    nearest = max(scored, key=lambda q: (q.score if q.score is not None else float("-inf"), -q.message_id), default=None)
    return GapGroup(
        title=by_text[keys[order[0]]][0].text,
        count=len(everything),
        not_covered=kinds[NOT_COVERED],
        unhelpful=kinds[UNHELPFUL],
        languages=languages,
        examples=pick_examples([by_text[keys[r]] for r in order]),
        articles=tuple(sorted({q.article_id for q in everything if q.article_id})),
        nearest=nearest.nearest if nearest else None,
        nearest_score=nearest.score if nearest else None,
        nearest_title=title(nearest.nearest, languages[0][0]) if nearest and nearest.nearest and title else None,
        members=tuple(q for r in order for q in by_text[keys[r]]),
    )


def pick_examples(first_to_last: list[list[GapQuestion]]) -> tuple[GapQuestion, ...]:
    """Up to MAX_EXAMPLES distinct questions (each list: one text as asked): the first of each
    language in turn, then the next."""
    queues: dict[str, list[GapQuestion]] = defaultdict(list)
    for asked in first_to_last:
        # One example per distinct text, of the kind it was most often (ties: not covered).
        kinds = Counter(q.kind for q in asked)
        kind = max(kinds, key=lambda k: (kinds[k], k == NOT_COVERED))
        shown = next(q for q in asked if q.kind == kind)
        queues[shown.lang].append(shown)
    picked: list[GapQuestion] = []
    while len(picked) < MAX_EXAMPLES and any(queues.values()):
        for lang in list(queues):
            if queues[lang] and len(picked) < MAX_EXAMPLES:
                picked.append(queues[lang].pop(0))
    return tuple(picked)


def ranked(counts: Counter[str]) -> tuple[tuple[str, int], ...]:
    """Counts, most frequent first (ties by name)."""
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


# -- near-misses, by the article that existed ----------------------------------------------


@dataclass(frozen=True)
class NearMissGroup:
    """The near-misses of one article: add these as its example questions."""

    article_id: str
    title: str | None  # in the group's most frequent language; None without an index
    count: int
    languages: tuple[tuple[str, int], ...]  # most frequent first
    best_score: float | None  # the article's highest score among them
    how: tuple[tuple[str, int], ...]  # how they were found (bot.reports.misses.HOW), most frequent first
    examples: tuple[GapQuestion, ...]  # distinct questions, the most asked and closest first, languages mixed


def group_near_misses(questions: Sequence[GapQuestion], title: Title | None = None) -> list[NearMissGroup]:
    """The near-miss questions grouped by the article that existed; the biggest group first."""
    by_article: dict[str, list[GapQuestion]] = defaultdict(list)
    for q in questions:
        if q.near is not None:
            by_article[q.near.article_id].append(q)
    groups = []
    for article_id, mine in by_article.items():
        languages = ranked(Counter(q.lang for q in mine))
        by_text: dict[str, list[GapQuestion]] = defaultdict(list)
        for q in mine:
            by_text[normalise(q.text)].append(q)
        order = sorted(by_text.values(), key=lambda asked: (-len(asked), -max(_near_score(q) for q in asked), asked[0].text))
        scores = [_near_score(q) for q in mine if q.near is not None and q.near.score is not None]
        groups.append(NearMissGroup(
            article_id=article_id,
            title=title(article_id, languages[0][0]) if title else None,
            count=len(mine),
            languages=languages,
            best_score=max(scores) if scores else None,
            how=ranked(Counter(q.near.how for q in mine if q.near is not None)),
            examples=pick_examples(order),
        ))
    return sorted(groups, key=lambda g: (-g.count, g.article_id))


def _near_score(q: GapQuestion) -> float:
    return q.near.score if q.near is not None and q.near.score is not None else float("-inf")
