"""How an article is scored for a question: each encoder's evidence, then one fused score.

For each encoder of the ensemble:
- every part of an article (title, example question, body passage) is compared with the
  question; a part that resembles every question (a "hub": a broad "What is X?" passage)
  is damped by its own typical similarity to other articles' questions, so a broad article
  does not beat the specific one that answers;
- the article's best part and its prototype (the mean of its title and example questions)
  are blended when it has example questions;
- the result is put on a common scale: standard deviations above the similarity of
  unrelated questions in this KB (each encoder's spread differs: e5's cosines sit in a
  narrow band, USE's spread wide).
The encoders' scaled scores are averaged with weights that depend on the question's
language (an encoder counts only in the languages it knows), a classifier trained on the
KB's own examples sharpens the ranking, and an article written in the customer's language
gets a small lead over a close rival written in another.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

# Chosen in bench/retrieval.py on the tuning halves of the dev sets (even rows), never on the
# rows reported for them: see docs/retrieval.md.
HUB_WEIGHT = 0.5  # how much of a part's typical similarity to other articles' questions is taken off
PROTO_SHARE = 0.5  # the prototype's share of an article's score when it has example questions
KIND_WEIGHTS = {"proto": 1.0, "title": 1.0, "question": 1.0, "passage": 1.0}
SCALE = 0.1  # standard deviations to score units: a good match scores about 0.6-0.9
CLASSIFIER_WEIGHT = 0.02  # score units per unit of log-probability
SAME_LANGUAGE_BONUS = 0.02  # score units: decides between close articles, never a clear winner
OTHER_LANGUAGE_PENALTY = 0.5
SECOND_SHARE = 0.3  # weight of the second-best part beside the best, for an article without example questions
TITLE_ONLY_SHARE = 0.4  # an encoder that reads no passages, for an article without example questions
PASSAGE = 3  # KINDS.index("passage")  # spreads off a part in another language when the article has the question's
SECONDARY_WEIGHT = 0.4  # a second encoder's share in the languages it knows


@dataclass(frozen=True)
class Fusion:
    """The fixed parameters of one snapshot's scoring, stored in its manifest."""

    background: tuple[tuple[float, float], ...]  # per encoder: mean and spread of unrelated similarities
    weights: tuple[float, ...]  # per encoder, where it knows the language
    languages: tuple[tuple[str, ...] | None, ...]  # per encoder: the languages it knows (None: all)
    hub_weight: float = HUB_WEIGHT
    proto_share: float = PROTO_SHARE
    classifier_weight: float = CLASSIFIER_WEIGHT
    same_language_bonus: float = SAME_LANGUAGE_BONUS
    other_language_penalty: float = OTHER_LANGUAGE_PENALTY
    second_share: float = SECOND_SHARE
    title_only_share: float = TITLE_ONLY_SHARE
    passages: tuple[bool, ...] = ()  # per encoder: whether it scores body passages (empty: all do)
    kind_weights: dict[str, float] = field(default_factory=lambda: dict(KIND_WEIGHTS))

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict) -> "Fusion":
        return Fusion(
            background=tuple(tuple(b) for b in data["background"]),  # type: ignore[misc]
            weights=tuple(data["weights"]),
            languages=tuple(tuple(l) if l is not None else None for l in data["languages"]),
            hub_weight=data.get("hub_weight", HUB_WEIGHT),
            proto_share=data.get("proto_share", PROTO_SHARE),
            classifier_weight=data.get("classifier_weight", CLASSIFIER_WEIGHT),
            same_language_bonus=data.get("same_language_bonus", SAME_LANGUAGE_BONUS),
            other_language_penalty=data.get("other_language_penalty", OTHER_LANGUAGE_PENALTY),
            second_share=data.get("second_share", SECOND_SHARE),
            title_only_share=data.get("title_only_share", TITLE_ONLY_SHARE),
            passages=tuple(data.get("passages", ())),
            kind_weights=dict(data.get("kind_weights", KIND_WEIGHTS)),
        )

    def reads_passages(self, encoder: int) -> bool:
        return not self.passages or self.passages[encoder]

    def encoder_weights(self, lang: str | None) -> np.ndarray:
        """Each encoder's share for a question in `lang` (every encoder when the language is unknown)."""
        w = np.array(
            [wt if lang is None or langs is None or lang in langs else 0.0 for wt, langs in zip(self.weights, self.languages)],
            dtype=np.float64,
        )
        if w.sum() <= 0:  # no encoder claims the language: trust them all
            w = np.array(self.weights, dtype=np.float64)
        return w / w.sum()


def default_weights(count: int) -> tuple[float, ...]:
    """The primary encoder leads; the others share SECONDARY_WEIGHT."""
    if count == 1:
        return (1.0,)
    return (1.0 - SECONDARY_WEIGHT, *([SECONDARY_WEIGHT / (count - 1)] * (count - 1)))


def hub_scores(parts: np.ndarray, questions: np.ndarray, part_article: np.ndarray, question_article: np.ndarray, k: int = 10, chunk: int = 4096) -> np.ndarray:
    """Each part's mean similarity to the `k` most similar questions of other articles."""
    out = np.zeros(len(parts), dtype=np.float32)
    if not len(questions) or not len(parts):
        return out
    k = max(1, min(k, len(questions) - 1))
    for start in range(0, len(parts), chunk):
        sims = parts[start : start + chunk] @ questions.T
        sims[part_article[start : start + chunk, None] == question_article[None, :]] = -1.0
        top = np.partition(sims, -k, axis=1)[:, -k:] if k < sims.shape[1] else sims
        out[start : start + chunk] = top.mean(axis=1)
    return out


def background(parts: np.ndarray, damping: np.ndarray, questions: np.ndarray, part_article: np.ndarray, question_article: np.ndarray, sample: int = 4096) -> tuple[float, float]:
    """Mean and spread of the (hub-damped) similarity between questions and other articles' parts."""
    if not len(questions) or not len(parts):
        return (0.0, 1.0)
    picked = np.random.default_rng(0).choice(len(parts), size=min(sample, len(parts)), replace=False)
    sims = parts[picked] @ questions.T - damping[picked, None]
    unrelated = sims[part_article[picked, None] != question_article[None, :]]
    if unrelated.size < 2:
        return (float(sims.mean()), float(sims.std()) or 1.0)
    return (float(unrelated.mean()), float(unrelated.std()) or 1.0)


def article_scores(
    sims: np.ndarray,
    kinds: np.ndarray,
    hub: np.ndarray,
    lengths: np.ndarray,
    proto: np.ndarray,
    has_examples: np.ndarray,
    fusion: Fusion,
    reads_passages: bool = True,
) -> np.ndarray:
    """One encoder's raw score per article from the similarities of its parts.

    `sims`, `kinds`, `hub`: the parts of the candidate articles, grouped by article, `lengths`
    parts each; `proto`: each article's prototype similarity (nan: none). An encoder that does
    not read passages well (`reads_passages`) is heard on titles and example questions only.
    An article with no part left scores its prototype, or nan when this encoder has nothing of
    it to go by (calibration holding out the title of an article it reads only the title of).
    """
    kind_weight = np.array([fusion.kind_weights[k] for k in ("proto", "title", "question", "passage")], dtype=np.float32)
    damped = (sims - fusion.hub_weight * hub) * kind_weight[kinds]
    if not reads_passages:
        damped = np.where(kinds == PASSAGE, -np.inf, damped)
    segment = np.repeat(np.arange(len(lengths)), lengths)
    order = np.lexsort((-damped, segment))
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    filled = lengths > 0
    best = np.full(len(lengths), -np.inf)
    second = np.full(len(lengths), -np.inf)
    best[filled] = damped[order[starts[filled]]]
    two = lengths > 1
    second[two] = damped[order[starts[two] + 1]]
    second = np.where(np.isfinite(second), second, best)
    # A body's answer runs over neighbouring passages, so an article that is all title and body
    # also counts its second-best part; example questions are alternatives: the best one speaks.
    share = np.where(has_examples, 0.0, fusion.second_share)
    best = (best + share * second) / (1.0 + share)
    blend = np.where(has_examples & ~np.isnan(proto), fusion.proto_share, 0.0)
    blended = (1.0 - blend) * best + blend * np.nan_to_num(proto)
    return np.where(np.isfinite(best), blended, proto)


def damp(sim: float, hub: float, fusion: Fusion) -> float:
    """A prototype's similarity with its hub score taken off."""
    return sim - fusion.hub_weight * hub


def fuse(per_encoder: Sequence[np.ndarray], fusion: Fusion, lang: str | None, has_examples: np.ndarray) -> np.ndarray:
    """The encoders' article scores on one scale, averaged with the language's weights.

    An encoder that reads titles and example questions only counts less for an article that has
    no example questions: its title is all it can go by. An encoder with nothing to go by for an
    article (nan) is not heard on it; an article no encoder can read scores -1.
    """
    base = fusion.encoder_weights(lang)
    weights = np.array([
        np.full(len(has_examples), w) if fusion.reads_passages(e) else np.where(has_examples, w, w * fusion.title_only_share)
        for e, w in enumerate(base)
    ])
    heard = np.array([~np.isnan(scores) for scores in per_encoder])
    weights = np.where(heard, weights, 0.0)
    weights /= np.maximum(weights.sum(axis=0), 1e-12)
    total = np.zeros(len(has_examples), dtype=np.float64)
    for w, scores, (mean, spread) in zip(weights, per_encoder, fusion.background):
        total += w * (np.nan_to_num(scores) - mean) / spread
    return np.where(heard.any(axis=0), SCALE * total, -1.0)
