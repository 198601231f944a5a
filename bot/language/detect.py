"""Decide which language a customer message is in; built for chat-length text.

The answer is the language the customer wrote in, whether or not the KB has it: German into an
English-only KB is "de" (`LanguageDetector.serves` tells the engine whether it is served). The
served languages are preferences: they settle ambiguous chat words ("salam", "no") and are
always weighed. ANSWERDESK_LANGUAGES turns that off and restricts the answer to its languages.

The decision, cheapest evidence first: the script (bot/language/script.py), the chat-word
lexicon for one- to four-word messages (bot/language/words.py), then a statistical detector
(bot/language/backends.py) over a shortlist of the languages still possible, with the channel's
hint and the conversation's history as priors.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from bot.language.backends import Backend, LangdetectBackend, LinguaBackend
from bot.language.codes import POOLED, SAME_LANGUAGE, canonical, parse_language_hint, relatives
from bot.language.script import NOT_LATIN, SCRIPT_LANGS, dominant_script, script_candidates, script_counts
from bot.language.words import NOISE, WORD, fold_text, lexicon, lexicon_hits, mask_names, turkish_suffixes

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
# With this many languages or fewer still possible the precise model reads them all at once.
_SHORTLIST_MAX = 6
# The screen's best this many join the shortlist when the common words do not settle it.
_SCREEN_TOP = 3
# The screen's best language counts as foreign only this many times likelier than every served one.
_FOREIGN_RATIO = 2.0
# From this length lingua's precise model reads trigrams only, as its screen does.
_PRECISE_MAX_CHARS = 120
_POOLED = frozenset().union(*POOLED)


class LanguageDetector:
    """The language decision: script, then chat lexicon, then a statistical detector with priors.

    By default every language the backend knows (and every language a script alone tells) can be
    the answer, and `served` (the KB's and the bot's languages), `extra` and `default` are
    preferred. With `restrict=True` (ANSWERDESK_LANGUAGES is set) the answer is always one of them,
    as before the open set. Models load on first use; `detect` is safe from many threads.
    """

    def __init__(
        self,
        served: Sequence[str],
        extra: Sequence[str] = (),
        backend: str = "langdetect",
        default: str = "en",
        *,
        restrict: bool = False,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(
                f"{BACKEND_SETTING}={backend!r} is not a language backend; use one of: "
                + ", ".join(BACKENDS)
            )
        codes = [
            canonical(default, "ANSWERDESK_DEFAULT_LANGUAGE"),
            *(canonical(code, "ANSWERDESK_LANGUAGES (or a KB language folder)") for code in served),
            *(canonical(code, "ANSWERDESK_EXTRA_LANGUAGES") for code in extra),
        ]
        self.default = codes[0]
        self.served: tuple[str, ...] = tuple(dict.fromkeys(codes[1 : 1 + len(served)]))
        self.preferred: tuple[str, ...] = tuple(dict.fromkeys(codes[1:] + codes[:1]))
        self.restricted = restrict
        self.backend = backend
        kind = LangdetectBackend if backend == "langdetect" else LinguaBackend
        # Close relatives of the served languages: kept loaded beside them (see LinguaBackend).
        self.family: tuple[str, ...] = tuple(sorted({r for lang in self.preferred for r in relatives(lang)} - set(self.preferred)))
        self._backend: Backend = kind(self.preferred, everything=not restrict, family=self.family)
        self.allowed: tuple[str, ...] = self.preferred if restrict else open_languages(self.preferred, self._backend.languages)
        self._latin = tuple(lang for lang in self.allowed if lang not in NOT_LATIN)
        # Filled as texts come; racing threads write the same value, so no lock is needed.
        self._known_counts: dict[tuple[str, ...], int] = {}

    def serves(self, lang: str) -> bool:
        """Whether `lang` ("de", "pt-BR") is a served language: the KB's or the bot's own phrases'."""
        return parse_language_hint(lang, self.served) is not None

    def load(self) -> None:
        """Load the models most messages need now rather than on first use.

        For a server that forks workers: loaded before the fork, they are shared by all of them.
        Precise models of other languages still load when a message first needs them.
        """
        self._backend.load(self.preferred + (self.family if not self.restricted else ()))

    def detect(self, text: str, hint: str | None = None, history: Sequence[str] = ()) -> LanguageDecision:
        """Decide the language of one customer message."""
        recent = [lang for lang in history if lang in self.allowed]
        priors = _Priors(
            parse_language_hint(hint, self.allowed),
            recent[-1] if recent else None,
            frozenset(()) if self.restricted else frozenset(self.preferred),
        )
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
        words = fold_text(masked).split()
        hits = lexicon_hits(words, candidates)
        if "tr" in hits:
            hits["tr"] += turkish_suffixes(text)
        if self.restricted:
            probs = self._probabilities(masked, candidates)
        else:
            probs = grouped(self._open_probabilities(masked, candidates, hits, len(words), priors))
        # Only languages with some evidence or prior can win; the rest share one score.
        favoured = priors.favoured
        live = [lang for lang in candidates if probs.get(lang) or hits[lang] or lang in favoured]
        if not live or not probs and not any(hits.values()):
            return priors.pick(candidates)
        # Short texts give the n-gram detector little to go on: temper it towards the priors.
        temper = min(1.0, letters / _FULL_EVIDENCE_LETTERS)
        evidence = {
            lang: temper * math.log(probs.get(lang, 0.0) + _PROBABILITY_FLOOR) + _WORD_WEIGHT * hits[lang]
            for lang in live
        }
        scores = {lang: evidence[lang] + math.log(priors.weight(lang)) for lang in live}
        top = max(scores.values())  # the rest score temper * log(floor), never more than a live one
        total = sum(math.exp(score - top) for score in scores.values())
        total += (len(candidates) - len(live)) * math.exp(temper * math.log(_PROBABILITY_FLOOR) - top)
        best = max(live, key=lambda lang: scores[lang])
        by_text = max(live, key=lambda lang: evidence[lang])
        source = "detector" if best == by_text else priors.source_of(best)
        return LanguageDecision(best, round(min(0.99, 1.0 / total), 3), source)

    def _open_probabilities(
        self, text: str, candidates: tuple[str, ...], hits: Mapping[str, int], words: int, priors: _Priors
    ) -> dict[str, float]:
        """Probabilities over the languages the text may plausibly be in, read precisely.

        Precise models are slow and large (lingua: about 17 MB a language), so only a shortlist
        gets them: the served languages and the priors, plus the relatives of the language the
        common words point at, or else the cheap screen's best few and the languages of the
        text's common words.
        """
        if self._known(candidates) <= _SHORTLIST_MAX:
            return self._probabilities(text, candidates)
        shortlist = {lang for lang in priors.favoured if lang in candidates}
        pointed = _pointed_by_words(hits, words)
        if pointed in shortlist:
            pass  # a served language's own words: only the served languages need weighing
        elif pointed:
            shortlist |= relatives(pointed) & set(candidates)
        elif not self._backend.screens:
            return self._probabilities(text, candidates)
        else:
            screen = self._backend.screen(text)
            if len(text) >= _PRECISE_MAX_CHARS:  # the precise model reads long text as the screen does
                return _restricted(screen, candidates)
            ranked = sorted((lang for lang in candidates if screen.get(lang)), key=lambda lang: -screen[lang])
            served_best = max((screen.get(lang, 0.0) for lang in shortlist), default=0.0)
            if not ranked or ranked[0] in shortlist or screen[ranked[0]] < _FOREIGN_RATIO * served_best:
                # It may well be a served language: weigh those (and the relatives of the screen's
                # best), and load no precise model of a language nobody may be writing in. The
                # cheap screen is unsure on chat-length text; only a clear lead counts as foreign.
                if ranked and ranked[0] in shortlist:
                    shortlist |= relatives(ranked[0]) & set(candidates)
                return self._probabilities(text, tuple(lang for lang in candidates if lang in shortlist))
            shortlist.update(ranked[:_SCREEN_TOP])
            most = max(hits.values(), default=0)
            if most:
                for lang in candidates:
                    if hits[lang] == most:
                        shortlist |= relatives(lang) & set(candidates) if lang in _POOLED else {lang}
        return self._probabilities(text, tuple(lang for lang in candidates if lang in shortlist))

    def _known(self, candidates: tuple[str, ...]) -> int:
        """How many of the candidates the backend has a model for."""
        count = self._known_counts.get(candidates)
        if count is None:
            count = self._known_counts[candidates] = sum(lang in self._backend.languages for lang in candidates)
        return count

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
        common = frozenset.intersection(*specific)
        langs = [lang for lang in candidates if lang in common]
        if not langs:
            return None
        # "salam" is Arabic, Persian, Azerbaijani, Malay and Indonesian: a served one of them wins.
        langs = [lang for lang in langs if lang in priors.preferred] or langs
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
        # Restricted, the backend weighs every allowed language, as it always has.
        return _restricted(self._backend.probabilities(text, self.allowed if self.restricted else candidates), candidates)


def _restricted(raw: Mapping[str, float], candidates: Sequence[str]) -> dict[str, float]:
    """The probabilities of the candidates, summing to 1, or {} without evidence."""
    # langdetect can underflow to NaN on odd input; that is no evidence, not an error.
    probs = {lang: p if math.isfinite(p := raw.get(lang, 0.0)) and p > 0 else 0.0 for lang in candidates}
    total = sum(probs.values())
    return {lang: p / total for lang, p in probs.items()} if total > 0 else {}


def _pointed_by_words(hits: Mapping[str, int], words: int) -> str | None:
    """The language the common words clearly point at, or None.

    Clearly: half the words or more are its common words and no language outside its family
    has nearly as many (in a two-word message, "sluk alarm", one word and no rival is enough).
    Then the text is that language or a close relative of it.
    """
    best = max(hits, key=lambda lang: hits[lang], default=None)
    needed = 1 if words <= 2 else 2
    if best is None or hits[best] < needed or 2 * hits[best] < words:
        return None
    family = relatives(best)
    others = max((n for lang, n in hits.items() if lang not in family), default=0)
    return best if hits[best] >= others + needed else None


def open_languages(preferred: Sequence[str], known: Collection[str]) -> tuple[str, ...]:
    """Every language the decision may answer when not restricted, the preferred ones first."""
    langs = set(known) | {lang for langs in SCRIPT_LANGS.values() for lang in langs}
    for group in SAME_LANGUAGE:
        if len(set(group) & set(preferred)) == 1:  # the preferred member stands for the others
            langs -= set(group)
    return tuple(dict.fromkeys([*preferred, *sorted(langs)]))


def grouped(probs: Mapping[str, float]) -> dict[str, float]:
    """Give each member of a POOLED group the group's probability; words tell them apart.

    Neither backend models Latin Serbian (lingua's Serbian is Cyrillic) and both mix up Malay
    and Indonesian, so the n-grams say which group and the common words say which member.
    """
    result = dict(probs)
    for group in POOLED:
        members = [lang for lang in group if lang in probs]
        if len(members) >= 2:
            total = sum(probs[lang] for lang in members)
            for rank, lang in enumerate(members):
                # A hair less for each later member: the first listed wins when no word decides.
                result[lang] = total * (1.0 - 0.001 * rank)
    return result


@dataclass(frozen=True)
class _Priors:
    """What we knew before reading the text: the channel's hint, the conversation so far, and
    the languages we serve."""

    hint: str | None
    history: str | None
    preferred: frozenset[str] = frozenset()

    @property
    def favoured(self) -> frozenset[str]:
        """The languages any prior speaks for."""
        return self.preferred | {lang for lang in (self.hint, self.history) if lang}

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

