"""Language versions of one article, tied together: which version each was translated from, and
whether the translation still matches its source.

A version's source is the language its front matter names (`source: en`). A version without
`source:` is a translation of the article's original: the original it had before (remembered
by whoever keeps the records, `bot/store/sql_translations.py`), else the *oldest* version
without `source:`: the earliest "updated" date (`index/updated.py`: front matter, else git,
else the file's time), ties broken by the KB's default language, then alphabetically. The
original is remembered because editing it makes it the newest version.

`judge` compares a translation with what was recorded of it: its own hash changed (or nothing
was recorded, or it names another source now) means it was written now; else, if its source's
hash changed since, it is stale. Nothing here reads or writes the records.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from index.kb import Article, KnowledgeBase

WRITTEN = "written"  # new, edited, or now translated from another language: record the source as it is
CURRENT = "current"  # the source has not changed since the translation was recorded
STALE = "stale"  # the source changed, the translation did not


@dataclass(frozen=True)
class Translation:
    """One language version that was translated from another version of the same article."""

    article_id: str
    lang: str
    path: str
    hash: str
    source_lang: str
    source_path: str
    source_hash: str
    source_updated: str  # the source's "updated" date, "" when unknown


@dataclass(frozen=True)
class Recorded:
    """What was recorded when a translation was written or confirmed."""

    translation_hash: str
    source_lang: str
    source_hash: str


def text_hash(article: Article) -> str:
    """Hash of what a translator translates: title, example questions and body."""
    text = "\x1f".join((article.title, article.body, *article.questions))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def oldest(versions: list[Article], updated: Mapping[str, str], default_lang: str) -> Article:
    """The version updated first; ties (or no dates) go to `default_lang`, then alphabetically."""
    return min(versions, key=lambda a: (updated.get(a.path) or a.updated or "9999-99-99", a.lang != default_lang, a.lang))


def original_lang(versions: list[Article], updated: Mapping[str, str], default_lang: str, remembered: str | None = None) -> str:
    """The language the versions without `source:` are translated from."""
    roots = [a for a in versions if not a.source] or versions  # load_kb refuses circles, so there is one
    if remembered and any(a.lang == remembered for a in roots):
        return remembered
    return oldest(roots, updated, default_lang).lang


def translations(
    kb: KnowledgeBase, updated: Mapping[str, str], default_lang: str, remembered: Mapping[str, str] | None = None
) -> list[Translation]:
    """Every translation in the KB with its source, by article and language.

    `updated` maps article paths to their dates (`index.updated.last_updated`); `remembered`
    maps article ids to the original language recorded before (`remembered_originals`)."""
    found: list[Translation] = []
    for article_id in kb.article_ids:
        versions = sorted((a for a in kb.versions(article_id) if not a.draft), key=lambda a: a.lang)  # drafts are not served
        if len(versions) < 2:
            continue
        original = original_lang(versions, updated, default_lang, (remembered or {}).get(article_id))
        by_lang = {a.lang: a for a in versions}
        for version in versions:
            source = by_lang.get(version.source or original)
            if source is None or source.lang == version.lang:
                continue
            found.append(Translation(
                article_id, version.lang, version.path, text_hash(version),
                source.lang, source.path, text_hash(source), updated.get(source.path) or source.updated,
            ))
    return found


def judge(translation: Translation, recorded: Recorded | None) -> str:
    """WRITTEN, CURRENT or STALE: the translation against what was recorded of it."""
    if recorded is None or recorded.translation_hash != translation.hash or recorded.source_lang != translation.source_lang:
        return WRITTEN
    return CURRENT if recorded.source_hash == translation.source_hash else STALE


def remembered_originals(recorded: Mapping[tuple[str, str], Recorded]) -> dict[str, str]:
    """Each article's original as the records show it: the one source that is no translation itself."""
    sources: dict[str, set[str]] = {}
    translated: dict[str, set[str]] = {}
    for (article_id, lang), record in recorded.items():
        sources.setdefault(article_id, set()).add(record.source_lang)
        translated.setdefault(article_id, set()).add(lang)
    originals = {}
    for article_id, langs in sources.items():
        roots = langs - translated[article_id]
        if len(roots) == 1:
            originals[article_id] = roots.pop()
    return originals


def snapshot_fields(translation: Translation, state: str) -> dict[str, object]:
    """What a snapshot's articles.json keeps of a translation, beside its title and body."""
    return {
        "hash": translation.hash,
        "source": translation.source_lang,
        "source_path": translation.source_path,
        "source_hash": translation.source_hash,
        "source_updated": translation.source_updated,
        "stale": state == STALE,
    }
