"""Decide which language a customer message is in; built for chat-length text."""

from __future__ import annotations

import math
import re
import tomllib
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from bot.language_backends import SAME_LANGUAGE, Backend, LangdetectBackend, LinguaBackend

BACKENDS: tuple[str, ...] = ("langdetect", "lingua")
BACKEND_SETTING = "ANSWERDESK_LANG_BACKEND"


@dataclass(frozen=True)
class LanguageDecision:
    """The language chosen for one message, how sure we are, and what decided it."""

    lang: str  # ISO 639-1, lowercase
    confidence: float  # 0..1
    source: str  # "script" | "lexicon" | "detector" | "hint" | "history" | "default"


# Retired or three-letter codes that channels still send.
_CODE_ALIASES: Mapping[str, str] = {
    "iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro", "sh": "sr", "fil": "tl",
}
_TAG = re.compile(r"([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*")


def _to_allowed(code: str, allowed: Collection[str]) -> str | None:
    """Map one primary language code onto the allowed set, or None."""
    code = code.lower()
    if code in allowed:
        return code
    code = _CODE_ALIASES.get(code, code)
    if code in allowed:
        return code
    for group in SAME_LANGUAGE:
        if code in group:
            members = [member for member in sorted(group) if member in allowed]
            if len(members) == 1:
                return members[0]
    return None


def _quality(params: str) -> float:
    """Read the q= weight of one Accept-Language entry; a malformed weight counts as 0."""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def parse_language_hint(raw: str | None, allowed: Collection[str]) -> str | None:
    """Turn "tr-TR", "pt_BR", "ar,en;q=0.8" or "sr_RS@latin" into the best allowed code."""
    if not raw:
        return None
    ranked: list[tuple[float, int, str]] = []
    for index, entry in enumerate(raw.split(",")):
        tag, _, params = entry.partition(";")
        # POSIX locales carry an encoding and a modifier: "tr_TR.UTF-8", "sr_RS@latin".
        tag = tag.split(".")[0].split("@")[0].strip()
        match = _TAG.fullmatch(tag)
        weight = _quality(params)
        if match and weight > 0:
            ranked.append((-weight, index, match.group(1)))
    for _, _, code in sorted(ranked):
        found = _to_allowed(code, allowed)
        if found:
            return found
    return None


# Scripts as the first word of a letter's Unicode name ("CYRILLIC SMALL LETTER A").
_SCRIPT_NAMES: Mapping[str, str] = {
    **{name: name.title() for name in (
        "LATIN CYRILLIC ARABIC GREEK HEBREW ARMENIAN GEORGIAN DEVANAGARI BENGALI GURMUKHI GUJARATI "
        "TAMIL TELUGU KANNADA MALAYALAM SINHALA THAI LAO MYANMAR ETHIOPIC KHMER HANGUL"
    ).split()},
    "HIRAGANA": "Kana", "KATAKANA": "Kana", "KATAKANA-HIRAGANA": "Kana", "CJK": "Han",
}

# Languages per script, most widely used first (that order breaks ties).
_SCRIPT_LANGS: Mapping[str, tuple[str, ...]] = {
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
_NOT_LATIN = frozenset(lang for langs in _SCRIPT_LANGS.values() for lang in langs) - _ALSO_LATIN
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

_NOISE = re.compile(
    r"https?://\S+|www\.\S+|\S+@\S+\.\w+"  # links and e-mail addresses
    r"|<[@#!][^>]*>|(?<!\S)[@#/]\w+"  # Slack mentions, @handles, #tags, /commands
    r"|:[a-z0-9_+-]+:"  # emoji shortcodes
)
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_TITLE_SMALL_WORDS = frozenset("of the a an and in on at to for by with from".split())
_APOSTROPHE = re.compile(r"['’]")
_SENTENCE_END = re.compile(r"[.!?…。！？\n]")
_ARABIC_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ـ": None})


def fold_text(text: str) -> str:
    """Casefold and strip accents, tatweel and Arabic letter variants, for matching words."""
    # "İ".casefold() leaves a combining dot and Turkish "ı" has no decomposition: fold both to i.
    text = text.replace("İ", "i").replace("I", "i").replace("ı", "i").casefold()
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return text.translate(_ARABIC_FOLD)


@lru_cache(maxsize=4096)
def _script_of(ch: str) -> str | None:
    words = unicodedata.name(ch, "").split()
    if words and words[0] in ("FULLWIDTH", "HALFWIDTH"):
        words = words[1:]
    return _SCRIPT_NAMES.get(words[0]) if words else None


def _script_counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ch in text:
        if ch.isalpha():
            script = _script_of(ch)
            if script:
                counts[script] = counts.get(script, 0) + 1
    return counts


def _dominant_script(text: str, counts: Mapping[str, int]) -> str:
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
    words = sum(1 for word in _WORD.findall(text) if _script_of(word[0]) == script)
    return script if words >= 2 or script in _DENSE_SCRIPTS and weighted[script] >= 6 else "Latin"


def _mask_names(text: str) -> str:
    """Drop names and titles inside sentences: they are often in another language."""
    words = [match.group() for match in _WORD.finditer(text)]
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
    for index, match in enumerate(_WORD.finditer(text)):
        if index == 0 or _SENTENCE_END.search(text[previous_end:match.start()]):
            starts.add(index)
        previous_end = match.end()
    return starts


@lru_cache(maxsize=1)
def _lexicon() -> tuple[Mapping[str, frozenset[str]], frozenset[str]]:
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


def _lexicon_hits(words: Sequence[str], candidates: Sequence[str]) -> dict[str, int]:
    """Count, per candidate language, the words of the text that are common words of it."""
    index, _ = _lexicon()
    hits = dict.fromkeys(candidates, 0)
    for word in words:
        for lang in index.get(word, ()):
            if lang in hits:
                hits[lang] += 1
    return hits


_LEXICON_MAX_WORDS = 4
# The first couple of thousand characters tell the language; pasted logs need not be read whole.
_MAX_CHARS = 2000
# A text word that is a common word of a language multiplies its odds by e.
_WORD_WEIGHT = 1.0
_PROBABILITY_FLOOR = 1e-4
# Letters after which the detector's own probabilities count in full against the priors.
_FULL_EVIDENCE_LETTERS = 30
_HINT_WEIGHT = 3.0
_HISTORY_WEIGHT = 4.0


class LanguageDetector:
    """The language decision: script, then chat lexicon, then a restricted detector with priors."""

    def __init__(
        self,
        served: Sequence[str],
        extra: Sequence[str] = (),
        backend: str = "langdetect",
        default: str = "en",
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(
                f"{BACKEND_SETTING}={backend!r} is not a language backend; use one of: "
                + ", ".join(BACKENDS)
            )
        codes = [_canonical(code) for code in (default, *served, *extra)]
        self.default = codes[0]
        self.allowed: tuple[str, ...] = tuple(dict.fromkeys(codes[1:] + codes[:1]))
        self.backend = backend
        self._backend: Backend = (
            LangdetectBackend(self.allowed) if backend == "langdetect" else LinguaBackend(self.allowed)
        )
        self._latin = tuple(lang for lang in self.allowed if lang not in _NOT_LATIN)

    def detect(self, text: str, hint: str | None = None, history: Sequence[str] = ()) -> LanguageDecision:
        """Decide the language of one customer message."""
        recent = [lang for lang in history if lang in self.allowed]
        priors = _Priors(parse_language_hint(hint, self.allowed), recent[-1] if recent else None)
        clean = _NOISE.sub(" ", text[:_MAX_CHARS])
        counts = _script_counts(clean)
        if not counts:  # emoji, numbers, links: nothing to read
            return priors.fallback(self.default)
        script = _dominant_script(clean, counts)
        if script == "Latin":
            # Latin chat words may stand for any allowed language: "salam" is Arabic typed in Latin.
            candidates, lexicon_langs = self._latin, self.allowed
        else:
            candidates = lexicon_langs = self._script_candidates(script, clean)
            if len(candidates) == 1:
                return LanguageDecision(candidates[0], 0.95, "script")
        words = fold_text(" ".join(_WORD.findall(clean))).split()
        if words and len(words) <= _LEXICON_MAX_WORDS:
            decision = self._decide_by_lexicon(clean, words, lexicon_langs, priors)
            if decision:
                return decision
        if not candidates:  # a script none of our languages is written in
            return priors.fallback(self.default)
        return self._decide_by_detector(clean, candidates, priors, sum(counts.values()))

    def _script_candidates(self, script: str, text: str) -> tuple[str, ...]:
        candidates = tuple(lang for lang in _SCRIPT_LANGS[script] if lang in self.allowed)
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

    def _decide_by_detector(
        self, text: str, candidates: tuple[str, ...], priors: _Priors, letters: int
    ) -> LanguageDecision:
        masked = _mask_names(text)
        probs = self._probabilities(masked, candidates)
        hits = _lexicon_hits(fold_text(masked).split(), candidates)
        if not probs and not any(hits.values()):
            return priors.pick(candidates)
        # Short texts give the n-gram detector little to go on: temper it towards the priors.
        temper = min(1.0, letters / _FULL_EVIDENCE_LETTERS)
        evidence = {
            lang: temper * math.log(probs.get(lang, 0.0) + _PROBABILITY_FLOOR) + _WORD_WEIGHT * hits[lang]
            for lang in candidates
        }
        scores = {lang: evidence[lang] + math.log(priors.weight(lang)) for lang in candidates}
        top = max(scores.values())
        total = sum(math.exp(score - top) for score in scores.values())
        best = max(candidates, key=lambda lang: scores[lang])
        by_text = max(candidates, key=lambda lang: evidence[lang])
        source = "detector" if best == by_text else priors.source_of(best)
        return LanguageDecision(best, round(min(0.99, 1.0 / total), 3), source)

    def _decide_by_lexicon(
        self, text: str, words: list[str], candidates: tuple[str, ...], priors: _Priors
    ) -> LanguageDecision | None:
        index, international = _lexicon()
        if any(word not in index and word not in international for word in words):
            return None
        specific = [index[word] for word in words if word not in international]
        if not specific:
            if priors.lang:
                return priors.decision(0.7)
            if "en" in candidates:
                return LanguageDecision("en", 0.6, "lexicon")
            return None
        langs = [lang for lang in candidates if all(lang in s for s in specific)]
        if not langs:
            return None
        # A lone "gracias" inside an English conversation is politeness, not a switch.
        if priors.history and priors.history not in langs and len(words) == 1:
            return priors.decision(0.6)
        if len(langs) == 1:
            return LanguageDecision(langs[0], 0.85, "lexicon")
        if priors.lang in langs:
            return priors.decision(0.75)
        if self.default in langs:  # "no" is English, Spanish and Italian: answer as we usually do
            return LanguageDecision(self.default, round(0.85 / len(langs), 3), "lexicon")
        probs = self._probabilities(text.lower(), tuple(langs))
        best = max(langs, key=lambda lang: probs.get(lang, 0.0)) if probs else langs[0]
        return LanguageDecision(best, round(0.85 / len(langs), 3), "lexicon")

    def _probabilities(self, text: str, candidates: tuple[str, ...]) -> dict[str, float]:
        """Backend probabilities over the candidates only, summing to 1, or {} without evidence."""
        raw = self._backend.probabilities(text)
        # langdetect can underflow to NaN on odd input; that is no evidence, not an error.
        probs = {lang: p if math.isfinite(p := raw.get(lang, 0.0)) and p > 0 else 0.0 for lang in candidates}
        total = sum(probs.values())
        return {lang: p / total for lang, p in probs.items()} if total > 0 else {}


@dataclass(frozen=True)
class _Priors:
    """What we knew before reading the text: the channel's hint and the conversation so far."""

    hint: str | None
    history: str | None

    @property
    def lang(self) -> str | None:
        # The conversation's own language says more than the app's interface language.
        return self.history or self.hint

    def weight(self, lang: str) -> float:
        return 1.0 + _HINT_WEIGHT * (lang == self.hint) + _HISTORY_WEIGHT * (lang == self.history)

    def source_of(self, lang: str) -> str:
        return "history" if lang == self.history else "hint" if lang == self.hint else "detector"

    def decision(self, confidence: float) -> LanguageDecision:
        lang = self.lang
        assert lang is not None
        return LanguageDecision(lang, confidence, self.source_of(lang))

    def pick(self, candidates: Sequence[str]) -> LanguageDecision:
        """Choose among candidates the text could not separate: the prior, else the first."""
        for lang in (self.history, self.hint):
            if lang in candidates:
                return LanguageDecision(lang, 0.5, self.source_of(lang))
        return LanguageDecision(candidates[0], round(1 / len(candidates), 3), "default")

    def fallback(self, default: str) -> LanguageDecision:
        if self.lang:
            return self.decision(0.6)
        return LanguageDecision(default, 0.3, "default")


def _canonical(code: str) -> str:
    """Normalise a configured language code ("pt-BR" -> "pt"), naming the bad one on error."""
    match = _TAG.fullmatch(code.strip())
    if not match:
        raise ValueError(f"language code {code!r} is not an ISO 639-1 code such as 'en' or 'pt-BR'")
    primary = match.group(1).lower()
    return _CODE_ALIASES.get(primary, primary)
