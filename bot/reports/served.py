"""What the report reads from the served index: articles' titles and the handoff threshold.

The report works without an index: articles are then named by their id, and near-misses are
found from the conversations alone, unless ANSWERDESK_HANDOFF_THRESHOLD gives the threshold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.answer.articles import FALLBACK_LANGUAGE
from bot.config import Settings
from bot.errors import SearchIndexError


@dataclass(frozen=True)
class ServedKB:
    handoff: float | None  # the threshold a near-miss is measured from; None: no "close" rule
    source: str  # where it came from, said under the near-misses
    titles: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # article id -> language -> title
    indexed: bool = False  # whether the titles come from an index (an article missing from it was removed)

    def title(self, article_id: str, lang: str) -> str | None:
        """The article's title in `lang`, else English, else any language it has; None when unknown."""
        versions = self.titles.get(article_id) or {}
        for candidate in (lang, FALLBACK_LANGUAGE, *sorted(versions)):
            if candidate in versions:
                return versions[candidate]
        return None

    def missing(self, article_id: str) -> bool:
        """Whether the served index no longer has the article (False when there is no index to tell)."""
        return self.indexed and article_id not in self.titles


def load_served(settings: Settings) -> ServedKB:
    """Titles and the handoff threshold the engine uses now: ANSWERDESK_HANDOFF_THRESHOLD, else the
    served snapshot's calibration, else the engine's default; without an index, only the setting."""
    from index.search import LiveIndex

    override = settings.handoff_threshold
    try:
        snapshot = LiveIndex(settings.index_dir).current()
    except SearchIndexError as e:
        if override is not None:
            return ServedKB(override, f"ANSWERDESK_HANDOFF_THRESHOLD; articles named by id ({e})")
        return ServedKB(None, f"no handoff threshold ({e}; or set ANSWERDESK_HANDOFF_THRESHOLD)")
    titles = {
        article_id: {lang: str(version.get("title") or article_id) for lang, version in versions.items()}
        for article_id, versions in snapshot.versions.items()
    }
    if override is not None:
        return ServedKB(override, "ANSWERDESK_HANDOFF_THRESHOLD", titles, indexed=True)
    try:
        calibrated = float(snapshot.calibration["thresholds"]["handoff"]) if snapshot.calibration else None
    except (KeyError, TypeError, ValueError):
        calibrated = None
    if calibrated is not None:
        return ServedKB(calibrated, f"calibrated for the served index {snapshot.path.name}", titles, indexed=True)
    from bot.answer.engine import FALLBACK_THRESHOLDS

    return ServedKB(FALLBACK_THRESHOLDS.handoff, "the engine's default (the served index has no calibration)", titles, indexed=True)


NO_INDEX = ServedKB(None, "no handoff threshold: no index was read")
