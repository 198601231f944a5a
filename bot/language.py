"""Decide which language a customer message is in; built for chat-length text.

The decision, cheapest evidence first: the script (bot/language_script.py), the chat-word
lexicon for one- to four-word messages (bot/language_words.py), then a statistical detector
restricted to the languages still possible (bot/language_backends.py), with the channel's hint
and the conversation's history as priors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bot.language_backends import Backend, LangdetectBackend, LinguaBackend
from bot.language_codes import canonical, parse_language_hint
from bot.language_script import NOT_LATIN, dominant_script, script_candidates, script_counts
from bot.language_words import NOISE, WORD, fold_text, lexicon, lexicon_hits, mask_names

__all__ = ["BACKENDS", "LanguageDecision", "LanguageDetector", "fold_text", "parse_language_hint"]

BACKENDS: tuple[str, ...] = ("langdetect", "lingua")
BACKEND_SETTING = "ANSWERDESK_LANG_BACKEND"


@dataclass(frozen=True)
class LanguageDecision:
    """The language chosen for one message, how sure we are, and what decided it."""

    lang: str  # ISO 639-1, lowercase
    confidence: float  # 0..1
    source: str  # "script" | "lexicon" | "detector" | "hint" | "history" | "default"


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
        codes = [canonical(code) for code in (default, *served, *extra)]
        self.default = codes[0]
        self.allowed: tuple[str, ...] = tuple(dict.fromkeys(codes[1:] + codes[:1]))
        self.backend = backend
        self._backend: Backend = (
            LangdetectBackend(self.allowed) if backend == "langdetect" else LinguaBackend(self.allowed)
        )
        self._latin = tuple(lang for lang in self.allowed if lang not in NOT_LATIN)

    def detect(self, text: str, hint: str | None = None, history: Sequence[str] = ()) -> LanguageDecision:
        """Decide the language of one customer message."""
        recent = [lang for lang in history if lang in self.allowed]
        priors = _Priors(parse_language_hint(hint, self.allowed), recent[-1] if recent else None)
        clean = NOISE.sub(" ", text[:_MAX_CHARS])
        counts = script_counts(clean)
        if not counts:  # emoji, numbers, links: nothing to read
            return priors.fallback(self.default)
        script = dominant_script(clean, counts)
        if script == "Latin":
            # Latin chat words may stand for any allowed language: "salam" is Arabic typed in Latin.
            candidates, lexicon_langs = self._latin, self.allowed
        else:
            candidates = lexicon_langs = script_candidates(script, clean, self.allowed)
            if len(candidates) == 1:
                return LanguageDecision(candidates[0], 0.95, "script")
        words = fold_text(" ".join(WORD.findall(clean))).split()
        if words and len(words) <= _LEXICON_MAX_WORDS:
            decision = self._decide_by_lexicon(clean, words, lexicon_langs, priors)
            if decision:
                return decision
        if not candidates:  # a script none of our languages is written in
            return priors.fallback(self.default)
        return self._decide_by_detector(clean, candidates, priors, sum(counts.values()))

    def _decide_by_detector(
        self, text: str, candidates: tuple[str, ...], priors: _Priors, letters: int
    ) -> LanguageDecision:
        masked = mask_names(text)
        probs = self._probabilities(masked, candidates)
        hits = lexicon_hits(fold_text(masked).split(), candidates)
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
        index, international = lexicon()
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

