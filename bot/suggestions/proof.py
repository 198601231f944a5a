"""Proof that an accepted suggestion helped: its question, asked again offline of the index being
served (no conversation is stored, nobody is answered), and what the bot does with it now.

Asked when a suggestion is accepted (what the bot did "before") and after every reindex ("now"):
"now answered with X" when the bot answers with the article the question was written into,
"answered with Y" when it answers with another one, else "still not answered" (it asks which
article was meant, or hands off).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.actions import Action
from bot.answer.engine import Engine, Inbound
from bot.config import Settings
from bot.errors import SearchIndexError
from bot.store.model import Store, utc_now
from bot.store.sql_suggestions import ACCEPTED, Decision, SQLSuggestionDecisions, open_suggestion_decisions
from index.search import LiveIndex

if TYPE_CHECKING:
    from index.encoders import Encoder, Encoders


@dataclass(frozen=True)
class Asked:
    action: str  # answer | clarify | handoff | smalltalk | none (no index to ask)
    article_id: str | None  # the article answered with


@dataclass(frozen=True)
class Proof:
    decision: Decision
    now: Asked

    @property
    def answered(self) -> bool:
        """The bot now answers the question with the article it was written into."""
        return self.now.action == Action.ANSWER and self.now.article_id == self.decision.article_id


def ask(engine: Engine, question: str, lang: str) -> Asked:
    """What the bot does with `question` (its language hinted), storing nothing."""
    try:
        outcome = engine.respond(Inbound(question, lang_hint=lang))
    except SearchIndexError:
        return Asked("none", None)
    decision = outcome.decision
    return Asked(str(decision.action), decision.article_id if decision.action == Action.ANSWER else None)


def said(asked_action: str | None, asked_article: str | None, target: str | None) -> str:
    """A short line for a person: "answered with X", "clarify", "handoff", "not asked yet"."""
    if asked_action is None:
        return "not asked yet"
    if asked_action == Action.ANSWER:
        return f"answered with {asked_article}" + ("" if asked_article == target else f" (not {target})")
    return {"clarify": "asked which article was meant", "handoff": "handed to a person", "none": "no index to ask"}.get(
        asked_action, asked_action
    )


def verdict(action: str, article_id: str | None, target: str | None) -> str:
    """What a re-asked question came to: "now answered with X" or "still not answered (...)"."""
    if action == Action.ANSWER and article_id == target:
        return f"now answered with {target}"
    return f"still not answered ({said(action, article_id, target)})"


def reask(engine: Engine, decisions: SQLSuggestionDecisions, only: Sequence[Decision] | None = None) -> list[Proof]:
    """Ask every accepted question (and draft title) again of the served index; record and return
    what the bot does with each now."""
    accepted = [d for d in (only if only is not None else decisions.all(ACCEPTED)) if d.status == ACCEPTED and d.kind != "note"]
    proofs = [Proof(d, ask(engine, d.text, d.lang)) for d in accepted]
    decisions.record_results((p.decision.id, p.now.action, p.now.article_id) for p in proofs)
    return proofs


def after_reindex(settings: Settings, encoder: "Encoder | Encoders", store: Store, clock: Callable[[], datetime] = utc_now) -> list[Proof]:
    """`reask` over the index `settings` serve, with the encoders that built it; nothing to do (and
    no engine made) when no suggestion was accepted."""
    decisions = open_suggestion_decisions(store, clock)
    accepted = decisions.all(ACCEPTED)
    if not any(d.kind != "note" for d in accepted):
        return []
    return reask(Engine(settings, encoder, LiveIndex(settings.index_dir)), decisions, accepted)


def describe_proofs(proofs: Sequence[Proof]) -> list[str]:
    """The reindex summary's lines: one per accepted suggestion."""
    answered = sum(p.answered for p in proofs)
    lines = [f"accepted suggestions asked again: {answered} of {len(proofs)} now answered with their article"]
    for p in proofs:
        d = p.decision
        where = f"{d.lang}/{d.article_id}" if d.article_id else d.lang
        lines.append(f'  "{d.text}" -> {where}: {verdict(p.now.action, p.now.article_id, d.article_id)}')
    return lines
