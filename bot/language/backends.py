"""The statistical detectors behind the language decision.

Each backend answers two questions: `probabilities(text, among)`, its best reading of the text
restricted to some languages, and `screen(text)`, a cheaper reading over every language it
knows. Models load on first use, under a lock, never at import or construction.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any, Protocol

from bot.language.codes import SAME_LANGUAGE


class Backend(Protocol):
    languages: frozenset[str]  # our codes it has a model for
    screens: bool  # whether screen() is cheaper than probabilities() over every language

    def probabilities(self, text: str, among: Collection[str]) -> dict[str, float]: ...

    def screen(self, text: str) -> dict[str, float]: ...

    def load(self, langs: Collection[str]) -> None: ...


def code_map(langs: Collection[str], available: Collection[str], everything: bool) -> dict[str, str]:
    """Backend code -> our code: `langs`, or all it knows when `everything`; stand-ins included.

    When one member of a SAME_LANGUAGE group is in `langs`, the backend's other members stand in
    for it ("hr" read as "sr"): Latin Serbian has no model of its own in either backend.
    """
    mapping: dict[str, str] = {}
    for group in SAME_LANGUAGE:
        members = [m for m in group if m in langs]
        if len(members) == 1:
            for other in group:
                if other in available:
                    mapping.setdefault(other, members[0])
    for name in sorted(available):
        code = name.split("-")[0]  # langdetect's zh-cn and zh-tw are both zh
        if name not in mapping and (everything or code in langs):
            mapping[name] = code
    return mapping


def _sum_by_code(pairs: Iterable[tuple[str, float]], codes: Mapping[str, str]) -> dict[str, float]:
    result: dict[str, float] = {}
    for name, p in pairs:
        code = codes.get(name)
        if code is not None:
            result[code] = result.get(code, 0.0) + p
    return result if sum(result.values()) > 0 else {}


# lingua's values sum to 1 and come largest first; below this one they weigh nothing next to the
# decision's probability floor (1e-4), so the rest need not be read.
_NEGLIGIBLE = 1e-5


def _lingua_values(values: Iterable[Any]) -> Iterator[tuple[str, float]]:
    """lingua's confidence values, largest first, down to the negligible ones."""
    for value in values:
        if value.value < _NEGLIGIBLE:
            break
        yield value.language.iso_code_639_1.name.lower(), value.value


class LangdetectBackend:
    """langdetect, seeded so the same text gets the same answer; one pass over its profiles."""

    screens = False  # its cost hardly depends on how many profiles it weighs

    def __init__(self, langs: Collection[str], everything: bool = False, family: Collection[str] = ()) -> None:
        from langdetect.detector_factory import PROFILES_DIRECTORY

        self._directory = PROFILES_DIRECTORY
        self._codes = code_map(langs, os.listdir(PROFILES_DIRECTORY), everything)
        self.languages = frozenset(self._codes.values())
        self._factory: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._factory is None and len(self._codes) >= 2:  # langdetect refuses fewer than two
                from langdetect.detector_factory import DetectorFactory

                factory = DetectorFactory()
                factory.set_seed(0)
                profiles = []
                for name in sorted(self._codes):
                    with open(os.path.join(self._directory, name), encoding="utf-8") as f:
                        profiles.append(f.read())
                factory.load_json_profile(profiles)
                self._factory = factory
            return self._factory

    def probabilities(self, text: str, among: Collection[str]) -> dict[str, float]:
        probs = self.screen(text)
        return {code: p for code, p in probs.items() if code in among}

    def load(self, langs: Collection[str]) -> None:
        self._load()

    def screen(self, text: str) -> dict[str, float]:
        from langdetect.lang_detect_exception import LangDetectException

        factory = self._factory or self._load()
        if factory is None:
            return {}
        detector = factory.create()
        detector.append(text)
        try:
            detector.get_probabilities()
        except LangDetectException:  # no letters it has n-grams for
            return {}
        return _sum_by_code(zip(detector.langlist, detector.langprob), self._codes)


# Restricted detectors kept: each is a few hundred bytes (the models are shared), but the sets
# asked for depend on the text, so keep the recent ones rather than all.
_KEPT_DETECTORS = 1024


# Precise models of languages outside the served ones kept loaded at once. Traffic in 11 foreign
# languages (xSID's, mixed) touches ~40 through the screen's shortlists: with 8 kept, a model was
# reloaded for most messages, 151 ms a message; with 32, 6.3 ms, for ~195 MiB more peak memory
# (bench/language_churn.py).
_MAX_FOREIGN_MODELS = 32


class LinguaBackend:
    """lingua: high accuracy over the languages asked for, low accuracy to screen them all.

    High-accuracy models take about 17 MB a language and low-accuracy ones about 1 MB, so the
    screen may read every language while precise models load only for the languages the
    decision asks about (served ones and the screen's best few).
    """

    screens = True

    def __init__(self, langs: Collection[str], everything: bool = False, family: Collection[str] = ()) -> None:
        from lingua import Language

        available = {lang.iso_code_639_1.name.lower(): lang for lang in Language.all()}
        self._codes = code_map(langs, available, everything)
        self._languages = {name: available[name] for name in self._codes}
        self.languages = frozenset(self._codes.values())
        self._lock = threading.Lock()
        self._detectors: OrderedDict[frozenset[str], Any] = OrderedDict()
        self._screen: Any = None
        # Precise models of languages nobody was expected to write in, most recently used last:
        # past _MAX_FOREIGN_MODELS the oldest is unloaded, so memory stays bounded (each is
        # 15-35 MB) however many languages customers bring.
        # Kept loaded: the served languages and their close relatives (`family`), which a served
        # language's shortlists bring up all the time (Spanish: Catalan, Portuguese, Italian, ...).
        # Evicting those thrashed: one message in three loaded a 17 MB model again, 150-800 ms.
        self._kept = frozenset(name for name, code in self._codes.items() if code in langs or code in family)
        self._foreign: OrderedDict[str, None] = OrderedDict()

    def _detector(self, names: frozenset[str]) -> Any:
        with self._lock:
            self._note_foreign(names)
            detector = self._detectors.get(names)
            if detector is None:
                from lingua import LanguageDetectorBuilder

                languages = [self._languages[name] for name in sorted(names)]
                detector = LanguageDetectorBuilder.from_languages(*languages).build()
                self._detectors[names] = detector
                if len(self._detectors) > _KEPT_DETECTORS:
                    self._detectors.popitem(last=False)
            else:
                self._detectors.move_to_end(names)
            return detector

    def _note_foreign(self, names: frozenset[str]) -> None:
        """Mark the foreign languages of a shortlist as used; unload the least recently used past the cap."""
        for name in sorted(names - self._kept):
            self._foreign[name] = None
            self._foreign.move_to_end(name)
        while len(self._foreign) > _MAX_FOREIGN_MODELS:
            oldest, _ = self._foreign.popitem(last=False)
            from lingua import LanguageDetectorBuilder

            # lingua builds detectors of two languages or more, and unloading drops the models of
            # all of them: pair the one to drop with a language no shortlist is using.
            idle = next(n for n in sorted(self._languages) if n != oldest and n not in self._kept and n not in self._foreign)
            LanguageDetectorBuilder.from_languages(self._languages[oldest], self._languages[idle]).build().unload_language_models()
            for key in [k for k in self._detectors if oldest in k]:
                del self._detectors[key]

    def _screener(self, preload: bool = False) -> Any:
        with self._lock:
            if self._screen is None:
                from lingua import LanguageDetectorBuilder

                languages = [self._languages[name] for name in sorted(self._codes)]
                builder = LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode()
                self._screen = (builder.with_preloaded_language_models() if preload else builder).build()
            return self._screen

    def load(self, langs: Collection[str]) -> None:
        from lingua import LanguageDetectorBuilder

        names = sorted(name for name, code in self._codes.items() if code in langs)
        if names:
            languages = [self._languages[name] for name in names]
            LanguageDetectorBuilder.from_languages(*languages).with_preloaded_language_models().build()
        if len(self._codes) > len(names):
            self._screener(preload=True)

    def probabilities(self, text: str, among: Collection[str]) -> dict[str, float]:
        names = frozenset(name for name, code in self._codes.items() if code in among)
        if len(names) < 2:
            return {}
        return _sum_by_code(_lingua_values(self._detector(names).compute_language_confidence_values(text)), self._codes)

    def screen(self, text: str) -> dict[str, float]:
        if len(self._codes) < 2:
            return {}
        return _sum_by_code(_lingua_values((self._screen or self._screener()).compute_language_confidence_values(text)), self._codes)
