"""Per-KB thresholds: how this KB's scores look for questions it covers and for ones it does not.

A raw cosine threshold does not carry from one KB to another, so each reindex estimates
both distributions for the KB it builds:
- covered: every example question and title, held out (its own vector removed and the
  article's prototype recomputed without it) and searched against the rest;
- not covered: shipped off-topic probes in several languages, minus any this KB does cover.
The handoff threshold hands off `handoff_recall` of the uncovered questions; the answer
threshold and the clarify margin come from the covered ones. `calibrate_labelled` does
the same from a user's labelled questions instead of estimates.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Sequence

import numpy as np

from bot.answer.decision import ANSWER, HANDOFF, Thresholds, decide
from bot.language.detect import LanguageDetector
from index.build import cached_queries
from index.classifier import Classifier, train_classifier
from index.encoders import Encoder, Encoders, as_encoders
from index.passages import KINDS
from index.search import ArticleScore, SearchIndex

HANDOFF_RECALL = 0.85  # share of uncovered questions that should reach a person
MIN_COVERAGE = 0.9  # keep answering at least this share of covered questions
ANSWER_PRECISION = 0.5  # answer outright where the best article is more often right than wrong
CLARIFY_WRONG_RATE = 0.5  # offer choices where the best of two close articles is wrong this often
MAX_MARGIN = 0.05
SEPARATION = 0.98  # quantiles that count as "almost every" score when looking for a gap
MAX_PROBES = 1500
FOLDS = 3


@dataclass(frozen=True)
class Case:
    """One question with what it should get: an article id, or None for a handoff."""

    text: str
    article_id: str | None
    lang: str = ""


@dataclass
class Calibration:
    thresholds: Thresholds
    source: str  # "estimated" | "labelled"
    covered: int = 0
    uncovered: int = 0
    per_language: dict[str, dict[str, float]] = field(default_factory=dict)
    handoff_recall: float = 0.0
    base: dict[str, str] = field(default_factory=dict)  # article hashes of the KB it was made on
    carried_over: int | None = None  # set when reused: articles changed since it was made

    def to_json(self) -> str:
        data = asdict(self)
        return json.dumps(data, indent=2, ensure_ascii=False)

    @staticmethod
    def from_dict(data: dict) -> "Calibration":
        return Calibration(**{**data, "thresholds": Thresholds(**data["thresholds"])})


@dataclass(frozen=True)
class _Scored:
    ranked: list[ArticleScore]
    expected: str | None
    lang: str


def load_probes() -> list[tuple[str, str]]:
    """The shipped off-topic probes as (lang, text)."""
    text = resources.files("bot").joinpath("data/offtopic_probes.txt").read_text(encoding="utf-8")
    rows = [line.split("\t", 1) for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return [(lang, question) for lang, question in rows]


def calibrate_estimated(
    index: SearchIndex, encoder: Encoder | Encoders, handoff_recall: float = HANDOFF_RECALL, detector: LanguageDetector | None = None
) -> Calibration:
    """Thresholds from the KB's own held-out questions and the shipped off-topic probes.

    `detector` (the engine's, `engine.language_detector`) reads each example question's language
    as it reads a customer's: a question the desk added in Turkish to an English article is asked as Turkish
    (the encoders' weights depend on it). Without it, or for titles, the article's language."""
    covered = _held_out(index, detector)
    probes = load_probes()
    # The probes are the same at every reindex: their vectors are kept beside the snapshots.
    vectors = cached_queries(as_encoders(encoder), [q for _, q in probes], index.path.parent, "probe")
    uncovered = [_Scored(index.search([v[i] for v in vectors], k=3, lang=lang), None, lang) for i, (lang, _) in enumerate(probes)]
    if covered:
        # Probes scoring like the KB's own questions are questions this KB covers: drop them.
        typical = float(np.median([s.ranked[0].score for s in covered if s.ranked]))
        uncovered = [s for s in uncovered if not s.ranked or s.ranked[0].score < typical]
    return _choose(covered, uncovered, "estimated", handoff_recall)


def calibrate_labelled(index: SearchIndex, encoder: Encoder | Encoders, cases: Sequence[Case], handoff_recall: float = HANDOFF_RECALL) -> Calibration:
    """Thresholds from questions a person labelled with the right article (or none)."""
    vectors = as_encoders(encoder).encode_queries([c.text for c in cases])
    scored = [_Scored(index.search([v[i] for v in vectors], k=3, lang=c.lang or None), c.article_id, c.lang) for i, c in enumerate(cases)]
    return _choose([s for s in scored if s.expected], [s for s in scored if not s.expected], "labelled", handoff_recall)


def _held_out(index: SearchIndex, detector: LanguageDetector | None = None) -> list[_Scored]:
    """Titles and example questions searched as customers ask them, each taken out of the index.

    Its own row is excluded, its article's prototype is recomputed without it, and the
    classifier (if the KB has one) is a fold model that never saw it. An article left with
    nothing once the example is out (a title alone) cannot be found, so it is not asked.
    """
    try:
        with np.load(index.path / "heldout.npz") as data:
            sample = data["rows"]
            queries = [data[f"queries_{e}"] for e in range(len(index.tables))]
    except (OSError, KeyError):
        return []
    kinds, article_of = index.row_kind, index.row_article
    is_example = ((kinds == KINDS.index("title")) | (kinds == KINDS.index("question"))) & (article_of >= 0)
    example_rows = np.flatnonzero(is_example)
    parts = np.diff(index.part_start)
    picked = [i for i, r in enumerate(sample.tolist()) if article_of[r] >= 0 and parts[article_of[r]] > 1]
    if len(picked) > MAX_PROBES:
        picked = sorted(random.Random(0).sample(picked, MAX_PROBES))
    if not picked:
        return []
    sums = [_example_sums(table, example_rows, article_of) for table in index.tables]
    fold_of, models = _fold_models(index, example_rows)
    out = []
    for i in picked:
        row = int(sample[i])
        article = int(article_of[row])
        rest = [_unit_or_none(s[article] - table[row]) for s, table in zip(sums, index.tables)]
        lang = index.langs[int(index.row_lang[row])]
        if detector is not None and kinds[row] == KINDS.index("question"):
            lang = detector.detect(index.passage_text(index.ids[article], lang, int(index.row_part[row]))).lang
        ranked = index.search(
            [q[i] for q in queries], k=3, lang=lang, exclude_rows={row}, classifier=models[fold_of[row]], prototypes={article: rest}
        )
        out.append(_Scored(ranked, index.ids[article], lang))
    return out


def _example_sums(table: np.ndarray, example_rows: np.ndarray, article_of: np.ndarray) -> dict[int, np.ndarray]:
    sums: dict[int, np.ndarray] = {}
    for r in example_rows.tolist():
        a = int(article_of[r])
        sums[a] = sums.get(a, 0) + table[r]
    return sums


def _unit_or_none(vector: np.ndarray) -> np.ndarray | None:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 1e-6 else None


def _fold_models(index: SearchIndex, example_rows: np.ndarray) -> tuple[dict[int, int], list[Classifier | None]]:
    """Classifiers each trained without one fold of the examples (none if the KB has none)."""
    shuffled = [int(r) for r in example_rows]
    random.Random(0).shuffle(shuffled)
    fold_of = {row: i % FOLDS for i, row in enumerate(shuffled)}
    if index.classifier is None:
        return fold_of, [None] * FOLDS
    features = np.hstack([table[example_rows] for table in index.tables])
    models = []
    for fold in range(FOLDS):
        keep = np.array([fold_of[int(r)] != fold for r in example_rows])
        # Kept beside the snapshots: an edit to an article's body leaves these inputs as they were.
        models.append(train_classifier(features[keep], index.row_article[example_rows[keep]], index.path.parent, fold=True))
    return fold_of, models


def _choose(covered: list[_Scored], uncovered: list[_Scored], source: str, handoff_recall: float) -> Calibration:
    covered_top = np.array([s.ranked[0].score if s.ranked else 0.0 for s in covered])
    right = np.array([bool(s.ranked) and s.ranked[0].article_id == s.expected for s in covered])
    uncovered_top = np.array([s.ranked[0].score if s.ranked else 0.0 for s in uncovered])
    handoff = _handoff_threshold(covered_top[right] if right.any() else covered_top, uncovered_top, handoff_recall)
    answer, margin = handoff, 0.0
    if right.any() and (~right).any():
        answer = max(handoff, _answer_threshold(covered_top, right))
        margin = _clarify_margin(covered, right)
    thresholds = Thresholds(answer=round(answer, 4), handoff=round(handoff, 4), margin=round(margin, 4))
    return Calibration(
        thresholds=thresholds,
        source=source,
        covered=len(covered),
        uncovered=len(uncovered),
        per_language=_per_language(covered, uncovered, thresholds),
        handoff_recall=round(float((uncovered_top < handoff).mean()) if len(uncovered_top) else 0.0, 4),
    )


def _handoff_threshold(covered: np.ndarray, uncovered: np.ndarray, recall: float) -> float:
    """Where covered and uncovered questions part.

    Well separated (almost every uncovered score below almost every covered one): the middle
    of the gap. Overlapping: the score that hands off `recall` of the uncovered, lowered if
    that would give up more than 1 - MIN_COVERAGE of the covered.
    """
    if not len(uncovered):
        return float(np.quantile(covered, 1 - MIN_COVERAGE)) if len(covered) else 0.5
    wanted = float(np.quantile(uncovered, recall))
    if not len(covered):
        return wanted
    floor = float(np.quantile(covered, 1 - MIN_COVERAGE))
    top_uncovered, bottom_covered = float(np.quantile(uncovered, SEPARATION)), float(np.quantile(covered, 1 - SEPARATION))
    if top_uncovered < bottom_covered:
        return (top_uncovered + bottom_covered) / 2
    return min(wanted, floor)


def _answer_threshold(top: np.ndarray, right: np.ndarray) -> float:
    """The score below which the best article is more often wrong than right.

    Measured on a sliding window of neighbouring scores (local, not cumulative, precision),
    so the many easy questions at the top do not hide a band of unreliable ones below.
    """
    order = np.argsort(-top)
    unreliable = np.flatnonzero(_local_rate(right[order]) < ANSWER_PRECISION)
    return float(top[order][unreliable[0]]) if len(unreliable) else float(top.min())


def _clarify_margin(covered: list[_Scored], right: np.ndarray) -> float:
    """The gap between the two best articles under which the best one is usually wrong."""
    gaps = np.array([s.ranked[0].score - s.ranked[1].score if len(s.ranked) > 1 else 1.0 for s in covered])
    order = np.argsort(gaps)
    reliable = np.flatnonzero(_local_rate(~right[order]) < CLARIFY_WRONG_RATE)
    if not len(reliable) or reliable[0] == 0:
        return 0.0
    return float(min(MAX_MARGIN, gaps[order][reliable[0]]))


def _local_rate(flags: np.ndarray) -> np.ndarray:
    """The share of True among each item's neighbours (a window of 10% of the items)."""
    half = max(2, len(flags) // 20)
    sums = np.concatenate([[0.0], np.cumsum(flags.astype(float))])
    positions = np.arange(len(flags))
    starts, ends = np.maximum(positions - half, 0), np.minimum(positions + half + 1, len(flags))
    return (sums[ends] - sums[starts]) / (ends - starts)


def _score_of(ranked: list[ArticleScore], article_id: str | None) -> float:
    return next((r.score for r in ranked if r.article_id == article_id), 0.0)


def _per_language(covered: list[_Scored], uncovered: list[_Scored], thresholds: Thresholds) -> dict[str, dict[str, float]]:
    """Estimated coverage and precision of answers per language, and handoff recall of uncovered ones."""
    out: dict[str, dict[str, float]] = {}
    for lang in sorted({s.lang for s in covered} | {s.lang for s in uncovered}):
        mine = [s for s in covered if s.lang == lang]
        decisions = [decide(s.ranked, thresholds) for s in mine]
        answered = [(d, s) for d, s in zip(decisions, mine) if d.action == ANSWER]
        row = {
            "covered_questions": float(len(mine)),
            "coverage": round(sum(d.action != HANDOFF for d in decisions) / len(mine), 3) if mine else 0.0,
            "answered": round(len(answered) / len(mine), 3) if mine else 0.0,
            "precision": round(sum(d.article_id == s.expected for d, s in answered) / len(answered), 3) if answered else 0.0,
        }
        theirs = [s for s in uncovered if s.lang == lang]
        if theirs:
            row["handoff_recall"] = round(sum(decide(s.ranked, thresholds).action == HANDOFF for s in theirs) / len(theirs), 3)
        out[lang] = row
    return out
