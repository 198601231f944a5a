"""The bot's own sentences, kept as data in bot/phrases/<lang>.toml, English as the fallback."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable

FALLBACK_LANGUAGE = "en"
_LANGUAGE_FILE = re.compile(r"([a-z]{2})\.toml")


@dataclass(frozen=True)
class PhraseBook:
    """One language file: its sentences and its names for languages."""

    phrases: Mapping[str, str]
    language_names: Mapping[str, str]


def _directory() -> Traversable:
    return resources.files("bot").joinpath("phrases")


@lru_cache(maxsize=1)
def phrase_languages() -> frozenset[str]:
    """The languages the bot has its own sentences in."""
    return frozenset(
        match.group(1) for entry in _directory().iterdir() if (match := _LANGUAGE_FILE.fullmatch(entry.name))
    )


@lru_cache(maxsize=None)
def _book(lang: str) -> PhraseBook | None:
    """Load bot/phrases/<lang>.toml once; None when the bot does not speak that language."""
    if lang not in phrase_languages():
        return None
    path = f"bot/phrases/{lang}.toml"
    try:
        data = tomllib.loads(_directory().joinpath(f"{lang}.toml").read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path}: {e}; fix the TOML syntax") from e
    for table in ("phrases", "language_names"):
        if not isinstance(data.get(table), dict):
            raise ValueError(f"{path}: missing the [{table}] table; copy it from bot/phrases/en.toml")
    return PhraseBook(phrases=data["phrases"], language_names=data["language_names"])


def _primary(lang: str) -> str:
    """"pt-BR" and "pt_br" are "pt" to us."""
    return lang.strip().lower().replace("_", "-").split("-")[0]


def phrase(key: str, lang: str, **fields: str) -> str:
    """The sentence `key` in `lang` (English when missing there), with {fields} filled in."""
    book = _book(_primary(lang))
    template = book.phrases.get(key) if book else None
    if template is None:
        english = _book(FALLBACK_LANGUAGE)
        template = english.phrases.get(key) if english else None
    if template is None:
        raise KeyError(
            f"no phrase {key!r} in bot/phrases/{FALLBACK_LANGUAGE}.toml; "
            "add it there and to every language file"
        )
    try:
        return template.format(**fields)
    except KeyError as e:
        field = e.args[0]
        raise KeyError(f"phrase {key!r} needs the field {field!r}; pass {field}=... to phrase()") from e


def language_name(code: str, in_lang: str) -> str:
    """The name of language `code` written in `in_lang`: language_name("tr", "en") == "Turkish"."""
    code = _primary(code)
    for lang in (_primary(in_lang), FALLBACK_LANGUAGE):
        book = _book(lang)
        if book and code in book.language_names:
            return book.language_names[code]
    return code  # a language we have no name for is still better shown than an error
