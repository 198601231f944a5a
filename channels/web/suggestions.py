"""The console's "Improve the help center": what the desk's traffic suggests for the KB, decided by an agent.

The suggestions (bot/suggestions/review.py) are worked out again from the last
ANSWERDESK_SUGGESTION_DAYS days of conversations whenever this page is listed, so nothing else in
the console lists them: the nav's count is the number this worker found when the page was last
listed, less the decisions taken here since. An accepted question is written into its article's
`questions:`, an accepted draft becomes a new file with `draft: true`; both as the signed-in agent
(name and e-mail from the agent record), one git commit each when the KB is a checkout. The accept
form carries the hash of the file as listed, so a file saved meanwhile is refused (409) and
nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState

from bot.answer.articles import find_version
from bot.answer.phrases import language_name
from bot.desk.turns import NotFound
from bot.store.sql_suggestions import ACCEPTED, Decision
from bot.suggestions.command import SOURCE_TEXT, per_article
from bot.suggestions.model import DRAFT, NOTE, Suggestion
from bot.suggestions.proof import said, verdict
from bot.suggestions.review import AlreadyDecided, Listing, Review
from channels.web.auth import current_agent, login_required
from channels.web.context import web
from index.errors import KBEditError, KBError, KBErrors
from index.kb_edit import Author

bp = Blueprint("suggestions", __name__, url_prefix="/agent/suggestions")

COUNT = "answerdesk.suggestions"  # app.extensions key of this worker's OpenCount
EVIDENCE_SHOWN = 5  # the most recent askings listed under a suggestion


@dataclass
class OpenCount:
    """How many suggestions were open when this worker last listed them (None: not listed yet)."""

    value: int | None = None
    at: datetime | None = None


@bp.record_once
def _keep_a_count(state: BlueprintSetupState) -> None:
    state.app.extensions[COUNT] = OpenCount()


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.app_context_processor
def _nav_count() -> dict[str, Callable[[], int | None]]:
    """`open_suggestion_count()` for the console's nav: remembered, never worked out here."""
    return {"open_suggestion_count": lambda: _count().value}


@bp.get("")
@login_required
def listing() -> str:
    return _page()


@bp.post("/<suggestion_id>/accept")
@login_required
def accept(suggestion_id: str) -> Response | tuple[str, int]:
    form = request.form
    text = form.get("text")
    questions = [q for q in form.get("questions", "").splitlines() if q.strip()] if "questions" in form else None
    try:
        decision = _review().accept(suggestion_id, _reviewer(), text=text, questions=questions, seen_hash=form.get("seen_hash") or None)
    except KBEditError as e:
        return _refused(f"{_named(suggestion_id)} was not accepted and nothing was written: {e}", 409)
    except (AlreadyDecided, NotFound, KBErrors, ValueError) as e:
        return _refused(f"{_named(suggestion_id)} was not accepted: {e}", 404 if isinstance(e, NotFound) else 409)
    _decided()
    flash(_accepted_text(decision), "info")
    return redirect(url_for("suggestions.listing", lang=form.get("lang") or None))


@bp.post("/accept-all")
@login_required
def accept_all() -> Response | tuple[str, int]:
    """An article's whole group of questions as suggested: one write of its file (one commit)."""
    form = request.form
    ids = form.getlist("ids")
    if not ids:
        return _refused("Nothing was accepted: the form named no suggestions.", 400)
    try:
        results = _review().accept_many(ids, _reviewer(), seen_hash=form.get("seen_hash") or None)
    except (KBErrors, ValueError) as e:
        return _refused(f"Nothing was accepted: {e}", 409)
    decided = [d for d in results if isinstance(d, Decision)]
    _decided(len(decided))
    if decided:
        files = sorted({d.file for d in decided if d.file})
        commits = sorted({d.revision[:10] for d in decided if d.revision})
        flash(f"Accepted {len(decided)} question{'s' if len(decided) != 1 else ''}"
              + (f": added to {', '.join(files)}" if files else "") + (f" (commit {', '.join(commits)})" if commits else "")
              + ". Reindex to serve them; the reindex asks each again and this page shows the result.", "info")
    failed = [(i, e) for i, e in zip(ids, results) if not isinstance(e, Decision)]
    if failed:
        return _refused(" ".join(f"Suggestion {i} was not accepted: {e}" for i, e in failed), 409)
    return redirect(url_for("suggestions.listing", lang=form.get("lang") or None))


@bp.post("/<suggestion_id>/reject")
@login_required
def reject(suggestion_id: str) -> Response | tuple[str, int]:
    try:
        decision = _review().reject(suggestion_id, _reviewer())
    except (AlreadyDecided, NotFound, KBErrors, ValueError) as e:
        return _refused(f"{_named(suggestion_id)} was not rejected: {e}", 404 if isinstance(e, NotFound) else 409)
    _decided()
    flash(f'Rejected "{decision.text}" ({decision.lang}/{decision.article_id or "new article"}): it will not be offered again.', "info")
    return redirect(url_for("suggestions.listing", lang=request.form.get("lang") or None))


# -- the page -------------------------------------------------------------------------------
def _page(status: int = 200) -> Any:
    context = web()
    lang = request.values.get("lang") or None
    try:
        found = _review().listing()
    except (KBError, KBErrors) as e:  # the KB folder does not load: say which file, list nothing
        flash(f"The suggestions cannot be worked out: {e}", "error")
        found = Listing((), (), (), {})
    _count().value, _count().at = len(found.open), context.clock()
    shown = [s for s in found.open if lang is None or s.lang == lang]
    snapshot = context.snapshot_or_none()

    def title(article_id: str | None, in_lang: str) -> str:
        version = find_version(snapshot, article_id, in_lang) if snapshot is not None and article_id else None
        return version.title if version is not None else (article_id or "")

    page = render_template(
        "suggestions.html",
        agent=current_agent(),
        lang=lang,
        languages=sorted({s.lang for s in found.open} | {m[1] for m in found.missing}),
        groups=per_article(shown),
        drafts=[s for s in shown if s.kind == DRAFT],
        missing=[m for m in found.missing if lang is None or m[1] == lang],
        decided=[d for d in found.decided if lang is None or d.lang == lang],
        hashes=found.hashes,
        days=context.settings.suggestion_days,
        kb_dir=context.settings.kb_dir,
        title=title,
        language=lambda code: language_name(code, "en"),
        source_text=lambda source: SOURCE_TEXT.get(source, source),
        evidence=_evidence,
        proof=_proof,
        NOTE=NOTE,
    )
    return (page, status) if status != 200 else page


def _evidence(s: Suggestion) -> list[dict[str, Any]]:
    """The most recent askings behind a suggestion, each with its conversation's console page."""
    latest = sorted(s.evidence, key=lambda e: e.at, reverse=True)[:EVIDENCE_SHOWN]
    return [{"at": e.at, "channel": e.channel, "url": url_for("console.conversation", conversation_id=e.conversation_id)} for e in latest]


def _proof(d: Decision) -> tuple[str, str] | None:
    """What the bot did with an accepted question before it was written, and after the last reindex."""
    if d.status != ACCEPTED or d.kind == NOTE:
        return None
    before = said(d.before_action, d.before_article, d.article_id)
    if d.after_action is None:
        return before, "not asked yet: reindex to serve it"
    return before, verdict(d.after_action, d.after_article, d.article_id)


def _accepted_text(d: Decision) -> str:
    commit = f" (commit {d.revision[:10]})" if d.revision else ""
    if d.kind == NOTE:
        return f'Noted: {d.lang}/{d.article_id} did not help for "{d.text}". Nothing is written; edit the article if it should.'
    if d.kind == DRAFT:
        return (f"The draft is written to {d.file}{commit}. It is not served until someone writes its answer and removes "
                "the line `draft: true`, then reindexes.")
    if d.file is None:
        return f'The article {d.lang}/{d.article_id} already had the question "{d.text}": nothing was written.'
    return f"Accepted: the question is added to {d.file}{commit}. Reindex to serve it; the reindex asks it again and this page shows the result."


# -- pieces ---------------------------------------------------------------------------------
def _review() -> Review:
    """The desk's suggestions; its engine asks an accepted question before it is written."""
    context = web()
    return Review(context.settings, context.desk.store, engine=context.desk.engine, clock=context.clock)


def _reviewer() -> Author:
    """The signed-in agent, as the commit's author (ValueError for a name git cannot carry)."""
    agent = current_agent()
    return Author(agent.name, agent.email)


def _named(suggestion_id: str) -> str:
    """A suggestion as an error names it: its text as the form showed it, and its id."""
    shown = " ".join(request.form.get("shown", "").split())[:200]
    return f'Suggestion "{shown}" ({suggestion_id})' if shown else f"Suggestion {suggestion_id}"


def _refused(message: str, status: int) -> tuple[str, int]:
    flash(message, "error")
    return _page(status)


def _count() -> OpenCount:
    holder: OpenCount = current_app.extensions[COUNT]
    return holder


def _decided(n: int = 1) -> None:
    if _count().value:
        _count().value = max(0, (_count().value or 0) - n)
