"""The console's Translations page: translations older than their source, and "mark as checked".

A reindex marks a translation stale in the snapshot it builds (articles.json, `stale`) when its
source changed since it was written or checked and it did not (`bot/reindex/run.py`). An agent
who finds it still right marks it checked: the store records the source as the live snapshot has
it, and who checked (`bot/store/sql_translations.py`). This page and the console's nav count drop
it at once; the bot stops noting it under answers at the next reindex, which reads that record.

Sign-in, CSRF and presence come from `auth.py`'s hooks, like the rest of the console.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask.blueprints import BlueprintSetupState

from bot.answer.phrases import language_name
from bot.store.sql_translations import SQLTranslationChecks, open_translation_checks
from channels.web.auth import current_agent, login_required
from channels.web.context import EXTENSION, web
from index.search import SearchIndex
from index.translations import Translation

bp = Blueprint("translations", __name__, url_prefix="/agent/translations")


@dataclass(frozen=True)
class StaleTranslation:
    """A translation the live snapshot marks stale and nobody has checked since."""

    translation: Translation
    title: str
    recorded_at: datetime | None  # when it was last written or checked
    checked_by: str | None  # the agent id, when an agent checked it


@bp.record_once
def _record_in_the_desks_store(state: BlueprintSetupState) -> None:
    """The console's reindex keeps translation checks where this page reads them: the desk's store."""
    context = state.app.extensions[EXTENSION]
    if context.reindex.store is None:
        context.reindex.store = context.desk.store


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.app_context_processor
def _nav_count() -> dict[str, Callable[[], int]]:
    """`stale_translation_count()` for the console's nav; computed only where a template calls it."""

    def count() -> int:
        snapshot = web().snapshot_or_none()
        return len(stale_translations(snapshot, _checks())) if snapshot is not None else 0

    return {"stale_translation_count": count}


@bp.get("")
@login_required
def stale() -> str:
    context = web()
    rows = stale_translations(context.snapshot_or_none(), _checks())
    names = {a: _agent_name(a) for a in {r.checked_by for r in rows if r.checked_by}}
    return render_template(
        "translations.html", agent=current_agent(), rows=rows, names=names, language=lambda code: language_name(code, "en"),
    )


@bp.post("/<article_id>/<lang>/checked")
@login_required
def mark_checked(article_id: str, lang: str) -> Response:
    snapshot = web().snapshot()
    translation = _translation(snapshot, article_id, lang)
    if translation is None:
        abort(404, description=f"The live index has no translation {lang}/{article_id}; reindex if you just added it.")
    _checks().record([translation], checked_by=current_agent().id)
    flash(
        f"{translation.path} is marked checked against {translation.source_path}. "
        "The bot stops noting it under answers after the next reindex.",
        "info",
    )
    return redirect(url_for("translations.stale"))


# -- pieces ---------------------------------------------------------------------------------
def stale_translations(snapshot: SearchIndex | None, checks: SQLTranslationChecks) -> list[StaleTranslation]:
    """The translations `snapshot` marks stale, but for those checked since it was built."""
    if snapshot is None:
        return []
    flagged = [
        (article_id, lang, data) for article_id, versions in sorted(snapshot.versions.items())
        for lang, data in sorted(versions.items()) if data.get("stale")
    ]
    if not flagged:
        return []  # the usual case, on every console page: no query
    records = checks.all()
    rows = []
    for article_id, lang, data in flagged:
        translation = _translation(snapshot, article_id, lang)
        record = records.get((article_id, lang))
        if translation is None:
            continue
        if record and (record.translation_hash, record.source_lang, record.source_hash) == (translation.hash, translation.source_lang, translation.source_hash):
            continue  # checked against this very source since the reindex
        rows.append(StaleTranslation(
            translation, str(data.get("title") or article_id), record.recorded_at if record else None, record.checked_by if record else None,
        ))
    return rows


def _translation(snapshot: SearchIndex, article_id: str, lang: str) -> Translation | None:
    data: dict[str, Any] = snapshot.article(article_id, lang) or {}
    if not data.get("source") or not data.get("source_hash"):
        return None
    return Translation(
        article_id, lang, str(data.get("path") or ""), str(data.get("hash") or ""), str(data["source"]),
        str(data.get("source_path") or ""), str(data["source_hash"]), str(data.get("source_updated") or ""),
    )


def _checks() -> SQLTranslationChecks:
    context = web()
    return open_translation_checks(context.desk.store, context.clock)


def _agent_name(agent_id: str) -> str:
    agent = web().desk.store.get_agent(agent_id)
    return agent.name if agent else agent_id
