"""Greetings and thanks: messages that need a friendly word, not a search of the KB."""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from importlib import resources

from bot.language.detect import fold_text

GREETING, THANKS = "greeting", "thanks"
_PUNCTUATION = re.compile(r"[^\w\s]+")


@lru_cache(maxsize=1)
def _phrases() -> dict[str, str]:
    raw = tomllib.loads(resources.files("bot").joinpath("phrases/smalltalk.toml").read_text(encoding="utf-8"))
    return {_normalise(p): kind for kind in (GREETING, THANKS) for phrases in raw[kind].values() for p in phrases}


def _normalise(text: str) -> str:
    return " ".join(_PUNCTUATION.sub(" ", fold_text(text)).split())


def small_talk(text: str) -> str | None:
    """'greeting' or 'thanks' when that is all the message says, else None."""
    return _phrases().get(_normalise(text))
