"""Deciding what to do with a retrieved question: answer, offer choices, or hand off."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from bot.actions import Action
from index.search import ArticleScore

ANSWER, CLARIFY, HANDOFF, SMALLTALK = Action.ANSWER, Action.CLARIFY, Action.HANDOFF, Action.SMALLTALK
MAX_CHOICES = 3


@dataclass(frozen=True)
class Thresholds:
    answer: float  # at or above: answer outright (unless a rival is within `margin`)
    handoff: float  # below: the KB does not cover it
    margin: float  # rivals closer than this to the best are offered as choices


@dataclass(frozen=True)
class Decision:
    action: Action
    article_id: str | None
    candidates: tuple[ArticleScore, ...]
    reason: str  # confident | close_candidates | low_confidence | not_covered | asked_for_person | greeting | thanks
    read_with: str | None = None  # the earlier question a follow-up was read with

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(c.article_id for c in self.candidates) if self.action == CLARIFY else ()


def decide(candidates: Sequence[ArticleScore], thresholds: Thresholds) -> Decision:
    """Answer when one article is clearly best, clarify among close ones, hand off when none fits."""
    ranked = tuple(candidates)
    if not ranked or ranked[0].score < thresholds.handoff:
        return Decision(HANDOFF, None, ranked[:MAX_CHOICES], "not_covered")
    best = ranked[0]
    rivals = tuple(c for c in ranked[1:MAX_CHOICES] if c.score >= thresholds.handoff and best.score - c.score < thresholds.margin)
    if rivals:
        return Decision(CLARIFY, None, (best, *rivals), "close_candidates")
    if best.score >= thresholds.answer:
        return Decision(ANSWER, best.article_id, ranked[:MAX_CHOICES], "confident")
    return Decision(CLARIFY, None, (best,), "low_confidence")


def hand_off_requested(candidates: Sequence[ArticleScore]) -> Decision:
    """The customer asked for a person: keep what retrieval found as evidence for the agent."""
    return Decision(HANDOFF, None, tuple(candidates)[:MAX_CHOICES], "asked_for_person")


def small_talk_decision(kind: str) -> Decision:
    """A greeting or thanks: reply in kind, search nothing."""
    return Decision(SMALLTALK, None, (), kind)


_RANK = {ANSWER: 2, CLARIFY: 1, HANDOFF: 0}


def reads_better(candidate: Decision, current: Decision) -> bool:
    """Whether one reading of a message decides better than another: a surer action, else a
    higher best score for the same action."""
    if _RANK.get(candidate.action, 0) != _RANK.get(current.action, 0):
        return _RANK.get(candidate.action, 0) > _RANK.get(current.action, 0)
    best = candidate.candidates[0].score if candidate.candidates else float("-inf")
    return best > (current.candidates[0].score if current.candidates else float("-inf"))
