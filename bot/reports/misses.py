"""Near-misses: questions handed off as not covered although the right article existed.

A bot message keeps its decision's evidence (bot/desk/desk.py `_evidence`): the three best
candidates with their scores. A question the bot handed off as `not_covered` (H, its reply)
is a **near-miss to article A** when either

  later    the conversation soon got A, one of H's candidates, after all (the first that holds):
             agent      an agent's message after H links A (`/articles/<lang>/A`),
             picked     the customer picked A from the bot's choices,
             rephrased  the bot answered A to the customer's next message (the rephrasing);
           looked for from H up to the first bot answer after it (inclusive) or the next
           question handed off as not covered (exclusive), whichever comes first, and an
           answer the customer rated "no" does not count;
  close    A is H's top candidate and scored at least the handoff threshold minus
           NEAR_MISS_BAND (0.3 standard deviations of the KB's unrelated similarities,
           index/scoring.py SCALE), the threshold being the served index's (bot/reports/served.py);
           unless the question means the same as more true gaps than near-misses
           (`bot.reports.gaps.settle_close_calls`): a theme the KB lacks, one of whose questions
           happened to score close to some article.

`later` wins over `close` when both hold: the conversation shows which article was right.
Everything else handed off as not covered is a true gap: nothing in the KB came close.
`bot.reports.gaps` groups near-misses by their article: the fix is example questions on it.

Why 0.03: on the test KB (tests/conftest.py SMALL_KB, e5+USE, calibrated handoff 0.209), the
paraphrases of its articles that were handed off scored 0.002, 0.009 and 0.017 under the
threshold when their article came first, or 0.10 and more (no score tells those from a gap:
only the conversation can); the questions of three themes it lacks (gift cards, student
discounts, instalments, in en/tr/ar) scored 0.066 under it or lower. A handoff threshold set
below the calibrated one (ANSWERDESK_HANDOFF_THRESHOLD) brings true gaps into the band; the
meaning check catches those whose theme has other questions.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from bot.actions import Action
from bot.store.model import Message
from index.scoring import SCALE

NEAR_MISS_BAND = 0.3 * SCALE  # score units: 0.3 standard deviations of unrelated similarities
CLOSE, AGENT, PICKED, REPHRASED = "close", "agent", "picked", "rephrased"
HOW = {  # said after a count: "3 scored just under the threshold"
    CLOSE: "scored just under the threshold",
    AGENT: "linked by an agent",
    PICKED: "picked later by the customer",
    REPHRASED: "answered when rephrased",
}
_LINK = re.compile(r"/articles/[^/\s]+/([^/\s?#|<>()\[\]\"']+)")


@dataclass(frozen=True)
class NearMiss:
    article_id: str  # the article that existed
    score: float | None  # its score for the question, from the handoff's evidence
    how: str  # close | agent | picked | rephrased


def top_candidate(decision: Mapping[str, Any] | None) -> tuple[str, float | None] | None:
    """The best candidate of a bot message's evidence: (article id, score), None without one."""
    candidates = (decision or {}).get("candidates") or []
    if not candidates or not candidates[0].get("id"):
        return None
    score = candidates[0].get("score")
    return str(candidates[0]["id"]), float(score) if isinstance(score, (int, float)) else None


def linked_articles(text: str) -> list[str]:
    """Article ids an agent's message links to (help-center pages, `/articles/<lang>/<id>`)."""
    return [unquote(m.group(1)) for m in _LINK.finditer(text)]


def near_miss(ordered: Sequence[Message], index: int, handoff: float | None, rated_no: Collection[int]) -> NearMiss | None:
    """Whether the not-covered handoff `ordered[index]` was a near-miss (the module docstring's rule).

    `handoff`: the threshold the close rule measures from (None: that rule is off);
    `rated_no`: ids of bot answers the customer rated "no"."""
    decision = ordered[index].decision or {}
    scores = {str(c["id"]): c.get("score") for c in decision.get("candidates") or [] if c.get("id")}
    later = _got_later(ordered, index, scores, rated_no)
    if later is not None:
        return later
    top = top_candidate(decision)
    if handoff is not None and top is not None and top[1] is not None and top[1] >= handoff - NEAR_MISS_BAND:
        return NearMiss(top[0], top[1], CLOSE)
    return None


def _got_later(ordered: Sequence[Message], index: int, scores: Mapping[str, Any], rated_no: Collection[int]) -> NearMiss | None:
    asked = 0  # customer messages since the handoff (a pick is stored as one too)
    for m in ordered[index + 1 :]:
        if m.author == "customer" and m.action != Action.NOTE:
            asked += 1
        elif m.author == "agent":
            linked = next((a for a in linked_articles(m.text) if a in scores), None)
            if linked is not None:
                return _found(linked, scores, AGENT)
        elif m.author == "bot" and m.action == Action.HANDOFF and (m.decision or {}).get("reason") == "not_covered":
            return None  # a new question the KB missed: that one is looked at on its own
        elif m.author == "bot" and m.action == Action.ANSWER:
            picked = (m.decision or {}).get("reason") == "chosen"
            if m.article_id in scores and m.id not in rated_no and (picked or asked == 1):
                return _found(m.article_id, scores, PICKED if picked else REPHRASED)
            return None
    return None


def _found(article_id: str, scores: Mapping[str, Any], how: str) -> NearMiss:
    score = scores.get(article_id)
    return NearMiss(article_id, float(score) if isinstance(score, (int, float)) else None, how)
