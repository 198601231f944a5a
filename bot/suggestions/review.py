"""Reviewing suggestions: what is open, and an agent's accept (as suggested or edited) or reject.

The open suggestions are worked out from the last ANSWERDESK_SUGGESTION_DAYS days of
conversations (bot/suggestions/mine.py) against the KB folder as it is now, less those already
decided. Accepting a question writes it into the article's front matter `questions:`; accepting
a draft writes a new article with `draft: true` (not served until an agent removes the flag); a
note is acknowledged (it says an article did not help for a question; nothing is written). Each
write is one git commit naming the article and the agent when the KB is a checkout, else a plain
write with the previous file kept (index/kb_edit.py). The question is asked of the served index
when it is accepted and again after every reindex (bot/suggestions/proof.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.desk.turns import NotFound
from bot.errors import AnswerdeskError, SearchIndexError
from bot.reports.figures import load_period
from bot.reports.served import load_served
from bot.store.model import Store, utc_now
from bot.store.sql_suggestions import ACCEPTED, REJECTED, Decision, SQLSuggestionDecisions, open_suggestion_decisions
from bot.suggestions.mine import KBView, mine, missing_translations
from bot.suggestions.model import DRAFT, NOTE, QUESTION, Suggestion
from bot.suggestions.proof import ask
from bot.suggestions.scrub import scrub
from index.kb import Article, KnowledgeBase, load_kb
from index.kb_edit import Author, Saved, add_questions, file_hash, write_draft

if TYPE_CHECKING:
    from bot.answer.engine import Engine
    from index.encoders import Encoder, Encoders


class AlreadyDecided(AnswerdeskError):
    """The suggestion was accepted or rejected already (by someone else, in another tab)."""


@dataclass(frozen=True)
class Listing:
    open: tuple[Suggestion, ...]  # biggest first
    decided: tuple[Decision, ...]  # newest first
    missing: tuple[tuple[str, str, int], ...]  # (article, language, customers): translations that would have answered most
    hashes: dict[str, str]  # suggestion id -> the hash of the file it would be written into, as listed


class Review:
    """The suggestions of one store and one KB folder."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        engine: "Engine | None" = None,
        encoder: "Encoder | Encoders | None" = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self.store = store
        self.engine = engine  # asks an accepted question of the served index; None: not asked
        self.encoder = encoder or (engine.encoders if engine is not None else None)  # groups gaps into drafts; None: no drafts
        self.clock = clock
        self.decisions: SQLSuggestionDecisions = open_suggestion_decisions(store, clock)

    # -- what is open ---------------------------------------------------------------------
    def listing(self, lang: str | None = None) -> Listing:
        kb = load_kb(self.settings.kb_dir)
        found = self._mine(kb)
        decided = self.decisions.all()
        done = {d.id for d in decided}
        still = tuple(s for s in found if s.id not in done and (lang is None or s.lang == lang))
        hashes = {s.id: file_hash(path) for s in still if (path := self._target(kb, s)) is not None and path.exists()}
        return Listing(still, tuple(decided), tuple(m for m in missing_translations(found) if lang is None or m[1] == lang), hashes)

    def _mine(self, kb: KnowledgeBase, drafts: bool = True) -> list[Suggestion]:
        """The suggestions of the period; `drafts=False` skips grouping the gaps (the costly part)."""
        since = self.clock() - timedelta(days=self.settings.suggestion_days)
        period = load_period(self.store, since, None)
        encoder = self.encoder if drafts else None
        return mine(period.conversations, period.messages, period.feedback, KBView.from_kb(kb), encoder=encoder, handoff=self._handoff())

    def _handoff(self) -> float | None:
        """The threshold the served index hands off under (a question that missed only by score is no gap)."""
        if self.engine is not None:
            try:
                return self.engine.thresholds(self.engine.snapshot()).handoff
            except SearchIndexError:
                return self.settings.handoff_threshold
        return load_served(self.settings).handoff

    def find(self, suggestion_id: str, kb: KnowledgeBase | None = None) -> Suggestion:
        """The open suggestion with this id; AlreadyDecided or NotFound otherwise."""
        decided = self.decisions.get(suggestion_id)
        if decided is not None:
            raise _already(decided)
        kb = kb or load_kb(self.settings.kb_dir)
        for drafts in (False, True):  # a question or note is found without grouping the gaps
            for s in self._mine(kb, drafts=drafts):
                if s.id == suggestion_id:
                    return s
        raise NotFound(f"no open suggestion {suggestion_id!r}: the list changes as conversations age out; list them again")

    # -- deciding -------------------------------------------------------------------------
    def accept(
        self, suggestion_id: str, by: Author, text: str | None = None, questions: Sequence[str] | None = None, seen_hash: str | None = None
    ) -> Decision:
        """Write the suggestion into the KB and keep the decision. `text`: the agent's edit of the
        question (a draft: of its title), `questions`: of a draft's questions; both are stripped of
        personal data again. `seen_hash`: the file's hash when the agent saw it (KBEditError if it
        changed since)."""
        kb = load_kb(self.settings.kb_dir)
        s = self.find(suggestion_id, kb)
        edited = scrub(text).strip() if text and text.strip() else None
        saved: Saved | None = None
        article_id = s.article_id
        if s.kind == QUESTION:
            target = self._version(kb, s)
            message = f"KB: add {_customer_questions(1)} to {target.lang}/{target.id} (accepted by {by.name})"
            saved = add_questions(Path(target.path), [edited or s.text], expected_hash=seen_hash, message=message, author=by).saved
        elif s.kind == DRAFT:
            title = edited or s.text
            asked = [scrub(q).strip() for q in (questions if questions is not None else s.questions)]
            asked = [q for q in asked if q]
            message = f"KB: draft a {s.lang} article from {s.count} customers' questions (accepted by {by.name})"
            saved = write_draft(self.settings.kb_dir, s.lang, title, asked, message=message, author=by)
            article_id = saved.path.stem
        return self._accepted(s, by, article_id, saved, _written(s, edited, questions))

    def accept_many(self, suggestion_ids: Sequence[str], by: Author, seen_hash: str | None = None) -> list[Decision | AnswerdeskError]:
        """Accept several suggestions as suggested, such as an article's whole group: the period is
        read once and each article file written once (one commit naming the article and the agent;
        a draft is its own file, found as `accept` finds it). For each id in order: its decision,
        or the error that kept it out (decided already, no longer open, its file changed or cannot
        be written); the others still go through. `seen_hash`: the hash every target file had when
        the agent saw it."""
        kb = load_kb(self.settings.kb_dir)
        decided = {i: d for i in suggestion_ids if (d := self.decisions.get(i)) is not None}
        open_ = {s.id: s for s in self._mine(kb, drafts=False)}
        out: dict[str, Decision | AnswerdeskError] = {}
        per_file: dict[str, tuple[Article, list[Suggestion]]] = {}
        for i in dict.fromkeys(suggestion_ids):
            s = open_.get(i)
            if i in decided:
                out[i] = _already(decided[i])
            elif s is None:  # a draft, or gone
                try:
                    out[i] = self.accept(i, by)
                except AnswerdeskError as e:
                    out[i] = e
            elif s.kind == NOTE:
                out[i] = self._accepted(s, by, s.article_id, None, None)
            else:
                try:
                    target = self._version(kb, s)
                    per_file.setdefault(target.path, (target, []))[1].append(s)
                except NotFound as e:
                    out[i] = e
        for path, (target, group) in per_file.items():
            message = f"KB: add {_customer_questions(len(group))} to {target.lang}/{target.id} (accepted by {by.name})"
            try:
                saved = add_questions(Path(path), [s.text for s in group], expected_hash=seen_hash, message=message, author=by).saved
            except AnswerdeskError as e:
                out.update({s.id: e for s in group})
                continue
            out.update({s.id: self._accepted(s, by, s.article_id, saved, None) for s in group})
        return [out[i] for i in suggestion_ids]

    def _accepted(self, s: Suggestion, by: Author, article_id: str | None, saved: Saved | None, written: str | None) -> Decision:
        """Keep the decision on an accepted suggestion, with what the served bot does with it now."""
        before = ask(self.engine, s.text, s.lang) if self.engine is not None and s.kind != NOTE else None
        decision = Decision(
            s.id, s.kind, s.source, article_id, s.lang, s.text, ACCEPTED, by.name, self.clock(), s.count,
            written=written, file=_relative(saved.path, self.settings.kb_dir) if saved else None,
            revision=saved.commit if saved else None,
            before_action=before.action if before else None, before_article=before.article_id if before else None,
        )
        return self.decisions.record(decision)

    def reject(self, suggestion_id: str, by: Author) -> Decision:
        s = self.find(suggestion_id)
        return self.decisions.record(Decision(s.id, s.kind, s.source, s.article_id, s.lang, s.text, REJECTED, by.name, self.clock(), s.count))

    # -- where ----------------------------------------------------------------------------
    def _target(self, kb: KnowledgeBase, s: Suggestion) -> Path | None:
        if s.kind != QUESTION or s.article_id is None:
            return None
        try:
            return Path(self._version(kb, s).path)
        except NotFound:
            return None

    @staticmethod
    def _version(kb: KnowledgeBase, s: Suggestion) -> Article:
        """The version a question goes into: the customers' language, else (a language the article
        lacks: the suggestion says so) the version the others are translated from."""
        exact = kb.get(s.article_id or "", s.lang)
        if exact is not None and not exact.draft:
            return exact
        versions = [a for a in kb.versions(s.article_id or "") if not a.draft]
        if not versions:
            raise NotFound(f"article {s.article_id!r} is no longer in the KB folder")
        return min(versions, key=lambda a: (bool(a.source), a.lang != "en", a.lang))


def _written(s: Suggestion, edited: str | None, questions: Sequence[str] | None) -> str | None:
    if s.kind == DRAFT:
        return "\n".join([edited or s.text, *(questions if questions is not None else s.questions)])
    return edited if edited and edited != s.text else None


def _already(d: Decision) -> AlreadyDecided:
    return AlreadyDecided(f"suggestion {d.id} was {d.status} by {d.decided_by} on {d.decided_at:%Y-%m-%d}")


def _customer_questions(n: int) -> str:
    return "a customer question" if n == 1 else f"{n} customer questions"


def _relative(path: Path, kb_dir: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(kb_dir).resolve()))
    except ValueError:
        return str(path)

