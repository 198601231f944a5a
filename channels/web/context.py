"""What every view needs: the settings, the desk, the clock and the reindex job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from flask import current_app

from bot.config import Settings
from bot.desk.desk import Desk
from bot.errors import SearchIndexError
from bot.reindex.job import ReindexJob
from index.search import SearchIndex

EXTENSION = "answerdesk"


@dataclass
class WebContext:
    settings: Settings
    desk: Desk
    clock: Callable[[], datetime]
    reindex: ReindexJob

    def snapshot(self) -> SearchIndex:
        """The live index; SearchIndexError when there is none (shown as 503)."""
        return self.desk.engine.snapshot()

    def snapshot_or_none(self) -> SearchIndex | None:
        """The live index, or None where a page can do without article titles and links."""
        try:
            return self.desk.engine.snapshot()
        except SearchIndexError:
            return None


def web() -> WebContext:
    """The context of the app handling this request."""
    return current_app.extensions[EXTENSION]
