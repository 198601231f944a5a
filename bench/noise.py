"""Seeded noisy variants of customer questions, typed as customers type them.

Each variant applies, in order: lower case; letters without their diacritics (Turkish ş→s ı→i
ğ→g ç→c ö→o ü→u, German ü→u or ue, any other accent dropped); punctuation dropped; one typo
(a letter swapped with its neighbour, dropped, doubled or replaced by a keyboard neighbour) in
one word of four letters or more; and for one question in three, its function words dropped, as in "store youtube video disk"
(the language's most frequent words in wordfreq, Zipf 5.5 and up). The same seed gives the same variants, so noisy and clean rows compare one to one.
"""

from __future__ import annotations

import random
import re
import unicodedata
from functools import lru_cache

_TURKISH = str.maketrans({"ş": "s", "ı": "i", "ğ": "g", "ç": "c", "ö": "o", "ü": "u", "Ş": "s", "İ": "i", "Ğ": "g", "Ç": "c", "Ö": "o", "Ü": "u"})
_GERMAN_DIGRAPHS = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"}
_KEYBOARD = "qwertyuiop asdfghjkl zxcvbnm".split()
_PUNCTUATION = re.compile(r"[^\w\s]+")
FUNCTION_WORD_ZIPF = 5.5


def strip_diacritics(text: str, lang: str, rng: random.Random) -> str:
    """The letters a customer on a keyboard without them would type."""
    if lang == "tr":
        text = text.translate(_TURKISH)
    elif lang == "de" and rng.random() < 0.5:
        text = "".join(_GERMAN_DIGRAPHS.get(ch, ch) for ch in text)
    decomposed = unicodedata.normalize("NFKD", text)
    # Only Latin letters lose their marks: Arabic vowel signs and kana voicing marks are letters there.
    out = [ch for ch in decomposed if not (unicodedata.combining(ch) and _latin_before(decomposed, ch))]
    return unicodedata.normalize("NFC", "".join(out))


def _latin_before(text: str, mark: str) -> bool:
    index = text.index(mark)
    base = text[index - 1] if index else ""
    return base.isascii()


def typo(word: str, rng: random.Random) -> str:
    """One slip of the finger inside a word."""
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("swap", "drop", "double", "neighbour"))
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    row = next((r for r in _KEYBOARD if word[i] in r), None)
    if row is None:
        return word[:i] + word[i + 1 :]
    j = row.index(word[i])
    neighbour = row[j - 1] if j and (j == len(row) - 1 or rng.random() < 0.5) else row[min(j + 1, len(row) - 1)]
    return word[:i] + neighbour + word[i + 1 :]


def noisy(text: str, lang: str, rng: random.Random) -> str:
    """One noisy variant of a question written in `lang`."""
    text = strip_diacritics(text.lower(), lang, rng)
    words = _PUNCTUATION.sub(" ", text).split()
    long_words = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if long_words:
        i = rng.choice(long_words)
        words[i] = typo(words[i], rng)
    if rng.random() < 1 / 3:
        content = [w for w in words if not _function_word(w, lang)]
        words = content if len(content) >= 2 else words
    return " ".join(words)


def _function_word(word: str, lang: str) -> bool:
    return word in _function_words(lang)


@lru_cache(maxsize=None)
def _function_words(lang: str) -> frozenset[str]:
    import wordfreq

    code = {"sr": "sh"}.get(lang, lang)
    if code not in wordfreq.available_languages():
        return frozenset()
    floor = 10 ** (FUNCTION_WORD_ZIPF - 9)  # Zipf is log10 of frequency per billion words
    return frozenset(w for w, f in wordfreq.get_frequency_dict(code).items() if f >= floor)


def noisy_all(texts: list[str], langs: list[str], seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [noisy(t, lang, rng) for t, lang in zip(texts, langs)]
