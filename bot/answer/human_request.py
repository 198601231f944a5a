"""Tell whether a customer is asking to talk to a person, in any language we have patterns for."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from bot.language.detect import fold_text

_SOURCE = "bot/phrases/human_requests.toml"
# Up to this many words, a strong word alone ("agent please", "canlı destek") is a request.
_SHORT_WORDS = 4
# Rules every message is checked against, whatever its language.
_ANY = "any"
_NOT_WORD = re.compile(r"[^\w/]+")


@dataclass(frozen=True)
class Rules:
    """One language's patterns, compiled against folded text."""

    requests: tuple[re.Pattern[str], ...]
    short: re.Pattern[str] | None
    about: tuple[re.Pattern[str], ...]
    feedback: tuple[re.Pattern[str], ...]
    feedback_topic: str = ""


def normalize(text: str) -> str:
    """Fold the text as the patterns are folded and turn punctuation into single spaces."""
    return _NOT_WORD.sub(" ", fold_text(text)).strip()


def _fold_pattern(pattern: str) -> str:
    """Fold the letters of a regex the way fold_text folds messages, leaving escapes alone."""
    out: list[str] = []
    escaped = False
    for ch in pattern:
        if escaped or not ch.isalpha():
            out.append(ch)
        else:
            out.append(fold_text(ch))
        escaped = ch == "\\" and not escaped
    return "".join(out)


def _compile(lang: str, key: str, pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(_fold_pattern(pattern))
    except re.error as e:
        raise ValueError(f"{_SOURCE} [{lang}] {key}: bad regex {pattern!r}: {e}; fix the pattern") from e


@lru_cache(maxsize=1)
def rules() -> Mapping[str, Rules]:
    """Load and compile the patterns once."""
    try:
        text = resources.files("bot").joinpath("phrases", "human_requests.toml").read_text("utf-8")
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{_SOURCE}: {e}; fix the TOML syntax") from e
    compiled: dict[str, Rules] = {}
    for lang, table in data.items():
        start = r"(?<!\w)" if table.get("whole_words", True) else ""
        terms = "|".join(f"{start}(?:{term})" for term in table.get("short", ()))
        short = _compile(lang, "short", terms) if terms else None
        compiled[lang] = Rules(
            requests=tuple(_compile(lang, "requests", p) for p in table.get("requests", ())),
            short=short,
            about=tuple(_compile(lang, "about", p) for p in table.get("about", ())),
            feedback=tuple(_compile(lang, "feedback", p) for p in table.get("feedback", ())),
            feedback_topic=str(table.get("feedback_topic", "")),
        )
    return compiled


def _chosen(lang: str | None) -> list[Rules]:
    table = rules()
    # English words ("agent", "human") turn up in every language's chats.
    langs = table.keys() if lang not in table else (_ANY, "en", lang)
    return [table[name] for name in dict.fromkeys(langs) if name in table]


def feedback_topic(text: str, lang: str | None = None) -> str:
    """The words for giving feedback when the message names an agent as the one to rate, thank
    or complain about ("how do I rate the agent?"), in the language whose pattern found it; ""
    otherwise. Retrieval adds them: the agent is the object, feedback is the subject."""
    message = normalize(text)
    if not message:
        return ""
    for r in _chosen(lang):
        if r.feedback_topic and any(pattern.search(message) for pattern in r.feedback):
            return r.feedback_topic
    return ""


def asks_for_human(text: str, lang: str | None = None) -> bool:
    """True when the message asks for a person, not when it asks a question about people."""
    message = normalize(text)
    if not message:
        return False
    chosen = _chosen(lang)
    if any(pattern.search(message) for r in chosen for pattern in r.about):
        return False
    words = len(message.split())
    # An agent named as the one to rate, thank or complain about is not the one asked for; the
    # rest of the message still counts ("complain about the agent, let me talk to a manager").
    for pattern in (p for r in chosen for p in r.feedback):
        message = pattern.sub(" ", message)
    if any(pattern.search(message) for r in chosen for pattern in r.requests):
        return True
    if words > _SHORT_WORDS:
        return False
    return any(r.short is not None and r.short.search(message) for r in chosen)
