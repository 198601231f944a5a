"""Follow-ups: "and on Saturday?" after "when are you open?" is read with the question before it.

A message that starts like a continuation (bot/phrases/follow_ups.toml) or is short may lean on
the conversation's last question. The engine then also searches the two read together and
keeps that reading only when it answers better than the message alone, so a new topic is
never glued to the old one.
"""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from importlib import resources

from bot.language.detect import fold_text

SHORT_WORDS = 4  # up to this many words, a message may be elliptical without a cue
_NOT_WORD = re.compile(r"[^\w]+")


@lru_cache(maxsize=1)
def _cues() -> dict[str, tuple[str, ...]]:
    source = resources.files("bot").joinpath("phrases", "follow_ups.toml")
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"bot/phrases/follow_ups.toml: {e}; fix the TOML syntax") from e
    return {lang: tuple(_words(cue) for cue in table.get("cues", ())) for lang, table in data.items()}


def _words(text: str) -> str:
    return " ".join(_NOT_WORD.sub(" ", fold_text(text)).split())


def starts_with_cue(text: str, lang: str | None) -> bool:
    """Whether the message opens like a continuation ("and ...", "what about ...", "peki ...")."""
    words = _words(text)
    cues = _cues()
    langs = [lang] if lang in cues else list(cues)
    for code in langs:
        for cue in cues[code]:
            # Arabic writes "and" joined to the next word ("وماذا", "والسبت").
            if words == cue or words.startswith(cue + " ") or (code == "ar" and cue == "و" and words.startswith(cue) and len(words) > 2):
                return True
    return False


def may_follow_up(text: str, lang: str | None) -> bool:
    """Whether the message could lean on the question before it: a cue, or few words."""
    return starts_with_cue(text, lang) or len(_words(text).split()) <= SHORT_WORDS


def joined(previous: str, text: str) -> str:
    """The last question and the follow-up, read as one."""
    return f"{previous.strip()} {text.strip()}"
