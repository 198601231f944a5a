"""Which script a message is written in, and which languages that script leaves possible."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping
from functools import lru_cache

# Scripts as the first word of a letter's Unicode name ("CYRILLIC SMALL LETTER A").
_SCRIPT_NAMES: Mapping[str, str] = {
    **{name: name.title() for name in (
        "LATIN CYRILLIC ARABIC GREEK HEBREW ARMENIAN GEORGIAN DEVANAGARI BENGALI GURMUKHI GUJARATI "
        "TAMIL TELUGU KANNADA MALAYALAM SINHALA THAI LAO MYANMAR ETHIOPIC KHMER HANGUL"
    ).split()},
    "HIRAGANA": "Kana", "KATAKANA": "Kana", "KATAKANA-HIRAGANA": "Kana", "CJK": "Han",
}

# Languages per script, most widely used first (that order breaks ties).
SCRIPT_LANGS: Mapping[str, tuple[str, ...]] = {
    "Arabic": ("ar", "fa", "ur", "ps", "ug", "ku", "sd"),
    "Cyrillic": ("ru", "uk", "bg", "sr", "kk", "be", "mk", "ky", "mn", "tg", "tt", "ba"),
    "Greek": ("el",), "Armenian": ("hy",), "Hebrew": ("he", "yi"),
    "Devanagari": ("hi", "mr", "ne", "sa"), "Bengali": ("bn", "as"), "Gurmukhi": ("pa",),
    "Gujarati": ("gu",), "Tamil": ("ta",), "Telugu": ("te",), "Kannada": ("kn",),
    "Malayalam": ("ml",), "Sinhala": ("si",), "Thai": ("th",), "Lao": ("lo",),
    "Myanmar": ("my",), "Georgian": ("ka",), "Hangul": ("ko",), "Ethiopic": ("am", "ti"),
    "Khmer": ("km",), "Kana": ("ja",), "Han": ("zh", "ja"),
}
# Serbian and Kurdish are written in Latin letters too; xSID's Serbian is Latin.
_ALSO_LATIN = frozenset({"sr", "ku"})
NOT_LATIN = frozenset(lang for langs in SCRIPT_LANGS.values() for lang in langs) - _ALSO_LATIN
# A script's usual language once its marker letters have ruled the others out: Persian, Urdu
# and Pashto text nearly always contains one of their own letters; Han without kana is Chinese.
_SCRIPT_DEFAULT: Mapping[str, str] = {"Arabic": "ar", "Han": "zh", "Hebrew": "he"}
# Letters that only some languages of a script use, with those languages; each narrows.
_MARKERS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "Arabic": (
        ("ٹڈڑںےۓ", "ur sd"), ("ټډړږښګڼۍ", "ps"), ("ۆۇۈۋڭەې", "ug ku"), ("پچژگکی", "fa ur ps ug ku sd"),
    ),
    "Cyrillic": (
        ("әғқұһ", "kk tt ba"), ("ңөү", "kk ky mn tt ba"), ("ђћ", "sr"), ("ѓќѕ", "mk"), ("јљњџ", "sr mk"),
        ("їєґ", "uk"), ("ў", "be"), ("ӣӯҳҷ", "tg"), ("і", "uk be kk"),
    ),
}
# Letters a language never uses: their presence rules it out ("ы" is not Serbian).
_ABSENT: Mapping[str, str] = {
    "sr": "йщъьыэюяёіїєґўәғқңөұүһ", "mk": "йщъьыэюяёіїєґўәғқңөұүһ",
    "bg": "ыэёіїєґўәғқңөұүһђћѓќѕјљњџ", "uk": "ыэёъәғқңөұүһђћѓќѕјљњџ",
    "be": "ищъїєґәғқңөұүһђћѓќѕјљњџ", "ru": "іїєґўәғқңөұүһђћѓќѕјљњџ",
}
# Han, kana and hangul carry about a word per character, so they outweigh Latin brand names.
_DENSE_SCRIPTS = frozenset({"Han", "Kana", "Hangul"})
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


@lru_cache(maxsize=4096)
def script_of(ch: str) -> str | None:
    """The script of one letter, or None for letters of scripts we do not tell apart."""
    words = unicodedata.name(ch, "").split()
    if words and words[0] in ("FULLWIDTH", "HALFWIDTH"):
        words = words[1:]
    return _SCRIPT_NAMES.get(words[0]) if words else None


def script_counts(text: str) -> dict[str, int]:
    """Letters per script."""
    if text.isascii():  # the usual chat message: no need to look letters up one by one
        letters = sum(ch.isalpha() for ch in text)
        return {"Latin": letters} if letters else {}
    counts: dict[str, int] = {}
    for ch in text:
        if ch.isalpha():
            script = script_of(ch)
            if script:
                counts[script] = counts.get(script, 0) + 1
    return counts


def dominant_script(text: str, counts: Mapping[str, int]) -> str:
    """Pick the script the message is written in; foreign brand names are usually Latin."""
    counts = dict(counts)
    for script in ("Kana", "Hangul"):  # Japanese and Korean mix in Han characters
        if counts.get(script) and "Han" in counts:
            counts[script] += counts.pop("Han")
    weighted = {s: n * (3 if s in _DENSE_SCRIPTS else 1) for s, n in counts.items() if s != "Latin"}
    if not weighted:
        return "Latin"
    script = max(weighted, key=lambda s: weighted[s])
    if weighted[script] * 2 >= counts.get("Latin", 0):
        return script
    # Two words of Arabic around an English song title are an Arabic sentence.
    words = sum(1 for word in _WORD.findall(text) if script_of(word[0]) == script)
    return script if words >= 2 or script in _DENSE_SCRIPTS and weighted[script] >= 6 else "Latin"


def script_candidates(script: str, text: str, allowed: Collection[str]) -> tuple[str, ...]:
    """The allowed languages written in `script` that the text's letters leave possible."""
    candidates = tuple(lang for lang in SCRIPT_LANGS[script] if lang in allowed)
    narrowed = False
    for letters, langs in _MARKERS.get(script, ()):
        if any(ch in text for ch in letters):
            subset = tuple(lang for lang in candidates if lang in langs.split())
            if subset:
                candidates, narrowed = subset, True
    present = [lang for lang in candidates if not any(ch in text for ch in _ABSENT.get(lang, ""))]
    candidates = tuple(present) or candidates
    usual = _SCRIPT_DEFAULT.get(script)
    if usual and not narrowed and usual in candidates:
        return (usual,)
    return candidates
