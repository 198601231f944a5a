"""The statistical detectors behind the language decision, restricted to our languages."""

from __future__ import annotations

import os
from collections.abc import Collection
from typing import Protocol

from bot.language_codes import SAME_LANGUAGE


class Backend(Protocol):
    def probabilities(self, text: str) -> dict[str, float]: ...


def _stand_ins(langs: Collection[str], available: Collection[str]) -> dict[str, str]:
    """Backend codes that stand in for an allowed language the backend reads as another one."""
    mapping: dict[str, str] = {}
    for group in SAME_LANGUAGE:
        members = [m for m in group if m in langs]
        if len(members) == 1:
            for other in sorted(group):
                if other in available:
                    mapping.setdefault(other, members[0])
    return mapping


class LangdetectBackend:
    """langdetect restricted to our languages, seeded so the same text gets the same answer."""

    def __init__(self, langs: Collection[str]) -> None:
        from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
        from langdetect.lang_detect_exception import LangDetectException

        self._no_features = LangDetectException

        available = set(os.listdir(PROFILES_DIRECTORY))
        names: dict[str, str] = _stand_ins(langs, available)
        for lang in langs:
            for name in ("zh-cn", "zh-tw") if lang == "zh" else (lang,):
                if name in available:
                    names[name] = lang
        self._codes = names
        self._factory = None
        if len(names) >= 2:  # langdetect refuses fewer than two profiles
            factory = DetectorFactory()
            factory.set_seed(0)
            profiles = []
            for name in sorted(names):
                with open(os.path.join(PROFILES_DIRECTORY, name), encoding="utf-8") as f:
                    profiles.append(f.read())
            factory.load_json_profile(profiles)
            self._factory = factory

    def probabilities(self, text: str) -> dict[str, float]:
        if self._factory is None:
            return {}
        detector = self._factory.create()
        detector.append(text)
        try:
            detector.get_probabilities()
        except self._no_features:  # no letters it has n-grams for
            return {}
        result: dict[str, float] = {}
        for name, p in zip(detector.langlist, detector.langprob):
            code = self._codes[name]
            result[code] = result.get(code, 0.0) + p
        return result


class LinguaBackend:
    """lingua restricted to our languages, high-accuracy mode, models loaded on first use."""

    def __init__(self, langs: Collection[str]) -> None:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

        available = {lang.iso_code_639_1.name.lower() for lang in Language.all()}
        names: dict[str, str] = _stand_ins(langs, available)
        names.update({lang: lang for lang in langs if lang in available})
        self._codes = names
        self._detector = None
        if len(names) >= 2:
            isos = [IsoCode639_1.from_str(name) for name in sorted(names)]
            self._detector = LanguageDetectorBuilder.from_iso_codes_639_1(*isos).build()

    def probabilities(self, text: str) -> dict[str, float]:
        if self._detector is None:
            return {}
        result: dict[str, float] = {}
        for value in self._detector.compute_language_confidence_values(text):
            code = self._codes[value.language.iso_code_639_1.name.lower()]
            result[code] = result.get(code, 0.0) + value.value
        return result if sum(result.values()) > 0 else {}
