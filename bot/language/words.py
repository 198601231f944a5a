"""The words of a customer message: folding, names to ignore, and the chat-word lexicon."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from functools import lru_cache
from importlib import resources

NOISE = re.compile(
    r"https?://\S+|www\.\S+|\S+@\S+\.\w+"  # links and e-mail addresses
    r"|<[@#!][^>]*>|(?<!\S)[@#/]\w+"  # Slack mentions, @handles, #tags, /commands
    r"|:[a-z0-9_+-]+:"  # emoji shortcodes
)
WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_TITLE_SMALL_WORDS = frozenset("of the a an and in on at to for by with from".split())
_APOSTROPHE = re.compile(r"['’]")
_SENTENCE_END = re.compile(r"[.!?…。！？\n]")
# Turkish writes a suffix after an apostrophe on names and numbers ("Deezer'da", "1995'ten",
# "Ali'nin"): each such suffix counts as one Turkish common word.
_TURKISH_SUFFIX = re.compile(
    r"(?<=[^\W_])['’](?:y?[aeıiuüoö]|n?[ıiuü]n|[dt][ae]n?|l[ae]|yl[ae]|[dt][ıiuü]r|s[ıiuü]|k[ıi]|n[ae]|[dt][ae]ki)(?![^\W\d_])"
)
_ARABIC_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ـ": None})


def fold_text(text: str) -> str:
    """Casefold and strip accents, tatweel and Arabic letter variants, for matching words."""
    # "İ".casefold() leaves a combining dot and Turkish "ı" has no decomposition: fold both to i.
    text = text.replace("İ", "i").replace("I", "i").replace("ı", "i").casefold()
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return text.translate(_ARABIC_FOLD)


def mask_names(text: str) -> str:
    """Drop names and titles inside sentences: they are often in another language."""
    words = [match.group() for match in WORD.finditer(text)]
    starts = _sentence_starts(text)
    heads = [_APOSTROPHE.split(word)[0] for word in words]
    capital = [head[:1].isupper() for head in heads]
    named = [
        capital[i] and (i not in starts or (i + 1 < len(words) and capital[i + 1] and i + 1 not in starts))
        or (len(heads[i]) > 1 and heads[i].isupper())
        for i in range(len(words))
    ]
    # English titles keep their small words lower case: "Tarzan of the Apes".
    for i in range(1, len(words) - 1):
        if named[i - 1] and words[i] in _TITLE_SMALL_WORDS:
            after = [j for j in range(i + 1, len(words)) if words[j] not in _TITLE_SMALL_WORDS]
            if after and named[after[0]]:
                named[i] = True
    kept: list[str] = []
    for word, is_name in zip(words, named):
        if is_name:
            # Turkish suffixes a name after an apostrophe ("Deezer'da"): keep the suffix.
            kept.extend(_APOSTROPHE.split(word)[1:])
        else:
            kept.append(word)
    masked = " ".join(kept)
    total = sum(len(word) for word in words)
    # A title-case or shouted message would lose everything; then the whole text is the evidence.
    if len(masked) < max(8, total // 4):
        return text.lower()
    return masked.lower()


def _sentence_starts(text: str) -> set[int]:
    """Indexes of the words that begin a sentence."""
    starts: set[int] = set()
    previous_end = 0
    for index, match in enumerate(WORD.finditer(text)):
        if index == 0 or _SENTENCE_END.search(text[previous_end:match.start()]):
            starts.add(index)
        previous_end = match.end()
    return starts


@lru_cache(maxsize=1)
def lexicon() -> tuple[Mapping[str, frozenset[str]], frozenset[str]]:
    """Map each folded chat word to the languages that use it; also the international words."""
    source = resources.files("bot").joinpath("phrases", "chat_words.toml")
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"bot/phrases/chat_words.toml: {e}; fix the TOML syntax") from e
    index: dict[str, set[str]] = {}
    for lang, words in data["words"].items():
        for word in fold_text(words).split():
            index.setdefault(word, set()).add(lang)
    international = frozenset(fold_text(data["international"]).split())
    return {word: frozenset(langs) for word, langs in index.items()}, international


def lexicon_hits(words: Sequence[str], candidates: Collection[str]) -> dict[str, int]:
    """Count, per candidate language, the words (and word pairs) of the text that are common in it."""
    index, _ = lexicon()
    hits = dict.fromkeys(candidates, 0)
    pairs = [f"{first}_{second}" for first, second in zip(words, words[1:])]
    for word in (*words, *pairs):
        for lang in index.get(word, ()):
            if lang in hits:
                hits[lang] += 1
    return hits


def turkish_suffixes(text: str) -> int:
    """How many suffixes the text writes after an apostrophe, the Turkish way."""
    return len(_TURKISH_SUFFIX.findall(text))
