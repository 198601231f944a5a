"""Articles as published in the live index, one version per language, for pages and links.

The version chosen for a language follows the engine's rule: that language, else English,
else any language the article has.
"""

from __future__ import annotations

from dataclasses import dataclass

from index.search import SearchIndex

FALLBACK_LANGUAGE = "en"
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur", "ps", "sd", "ug", "yi", "dv", "ku"})


@dataclass(frozen=True)
class ArticleVersion:
    article_id: str
    lang: str
    title: str
    body: str  # Markdown
    updated: str  # ISO date, "" when unknown
    languages: tuple[str, ...]  # every language the article is written in


def find_version(snapshot: SearchIndex, article_id: str, lang: str, fallback: bool = True) -> ArticleVersion | None:
    """The article in `lang` (else English, else any language when `fallback`), or None."""
    versions = snapshot.versions.get(article_id)
    if not versions:
        return None
    order = (lang, FALLBACK_LANGUAGE, *sorted(versions)) if fallback else (lang,)
    for candidate in order:
        if candidate in versions:
            return _version(article_id, candidate, versions)
    return None


def versions_by_language(snapshot: SearchIndex) -> dict[str, list[ArticleVersion]]:
    """Every article version, grouped by language and sorted by title."""
    grouped: dict[str, list[ArticleVersion]] = {}
    for article_id, versions in snapshot.versions.items():
        for lang in versions:
            grouped.setdefault(lang, []).append(_version(article_id, lang, versions))
    return {lang: sorted(items, key=lambda v: v.title.casefold()) for lang, items in sorted(grouped.items())}


def text_direction(lang: str) -> str:
    """"rtl" for languages written right to left, else "ltr"."""
    return "rtl" if lang.split("-")[0].lower() in RTL_LANGUAGES else "ltr"


def _version(article_id: str, lang: str, versions: dict[str, dict]) -> ArticleVersion:
    data = versions[lang]
    return ArticleVersion(
        article_id, lang, str(data.get("title") or article_id), str(data.get("body") or ""),
        str(data.get("updated") or ""), tuple(sorted(versions)),
    )
