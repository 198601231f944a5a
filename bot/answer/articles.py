"""Articles as published in the live index, one version per language, for pages and links.

The version chosen for a language follows the engine's rule: that language, else English,
else any language the article has.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

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


@dataclass(frozen=True)
class ArticleLink:
    """The full article under an answer: what to call it and where it is."""

    title: str
    updated: str  # ISO date, "" when unknown
    url: str  # "" when there is no address to give (no public URL for a chat platform)


def article_path(root: str, lang: str, article_id: str) -> str:
    """The help-center page of one article version, under `root` (a path or an absolute URL)."""
    return f"{root.rstrip('/')}/articles/{quote(lang, safe='')}/{quote(article_id, safe='')}"


def article_link(snapshot: SearchIndex, article_id: str, lang: str, root: str | None) -> ArticleLink | None:
    """The link to the version of an article that `lang` gets; no URL when `root` is None."""
    version = find_version(snapshot, article_id, lang)
    if version is None:
        return None
    url = "" if root is None else article_path(root, version.lang, version.article_id)
    return ArticleLink(version.title, version.updated, url)


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
