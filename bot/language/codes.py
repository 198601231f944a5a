"""Language codes as channels and settings give them: aliases, locale tags, Accept-Language."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

# One written language for our purposes: Serbian (Latin), Croatian and Bosnian differ in a few
# words, Bokmål and Nynorsk are both Norwegian. When only one member is allowed, the others
# count as that member; when several are allowed, each stands for itself.
SAME_LANGUAGE: tuple[tuple[str, ...], ...] = (
    ("hr", "sr", "bs"),
    ("no", "nb", "nn"),
)
# Languages the backends mix up in short text although each has a model of its own. In the open
# set, these and each SAME_LANGUAGE group share one probability and the common words pick the
# member; when no word does, the first listed: Croatian, the backends' Latin reading of
# Serbo-Croatian, and Indonesian, which far more people write than Malay.
POOLED: tuple[tuple[str, ...], ...] = (*SAME_LANGUAGE, ("id", "ms"))

# Close relatives that n-gram detectors confuse in short text. When a message's common words
# point at one of them, the others are weighed too: a Catalan sentence shares Spanish articles.
RELATED: tuple[tuple[str, ...], ...] = (
    ("en", "de", "nl", "af"),
    ("da", "no", "nb", "nn", "sv", "is"),
    ("es", "pt", "it", "fr", "ca", "ro", "la", "eo"),
    ("pl", "cs", "sk", "sl", "hr", "bs", "sr"),
    ("tr", "az"),
    ("id", "ms"),
    ("ru", "uk", "be", "bg", "mk", "sr", "kk", "mn"),
)


def relatives(lang: str) -> frozenset[str]:
    """The language and its close relatives (RELATED, POOLED)."""
    return frozenset({lang}).union(*(group for group in (*RELATED, *POOLED) if lang in group))


# Retired or three-letter codes that channels still send.
CODE_ALIASES: Mapping[str, str] = {
    "iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro", "sh": "sr", "fil": "tl",
}
_TAG = re.compile(r"([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*")


def to_allowed(code: str, allowed: Collection[str]) -> str | None:
    """Map one primary language code onto the allowed set, or None."""
    code = code.lower()
    if code in allowed:
        return code
    code = CODE_ALIASES.get(code, code)
    if code in allowed:
        return code
    for group in SAME_LANGUAGE:
        if code in group:
            members = [member for member in group if member in allowed]
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
    ranked = preferred_languages(raw, allowed)
    return ranked[0] if ranked else None


def preferred_languages(raw: str | None, allowed: Collection[str]) -> list[str]:
    """The allowed codes a header or locale names ("ar,en;q=0.8", "tr_TR.UTF-8"), most wanted first."""
    if not raw:
        return []
    ranked: list[tuple[float, int, str]] = []
    for index, entry in enumerate(raw.split(",")):
        tag, _, params = entry.partition(";")
        # POSIX locales carry an encoding and a modifier: "tr_TR.UTF-8", "sr_RS@latin".
        tag = tag.split(".")[0].split("@")[0].strip()
        match = _TAG.fullmatch(tag)
        weight = _quality(params)
        if match and weight > 0:
            ranked.append((-weight, index, match.group(1)))
    found: list[str] = []
    for _, _, code in sorted(ranked):
        allowed_code = to_allowed(code, allowed)
        if allowed_code and allowed_code not in found:
            found.append(allowed_code)
    return found


def canonical(code: str, setting: str = "language code") -> str:
    """Normalise a configured language code ("pt-BR" -> "pt"), naming the setting and the bad code."""
    match = _TAG.fullmatch(code.strip())
    if not match:
        raise ValueError(f"{setting}: language code {code!r} is not an ISO 639-1 code such as 'en' or 'pt-BR'")
    primary = match.group(1).lower()
    return CODE_ALIASES.get(primary, primary)
