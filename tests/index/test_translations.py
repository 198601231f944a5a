"""Language versions tied together: `source:` validated, each translation's source, and its state."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import KBErrors
from index.kb import load_kb
from index.translations import (
    CURRENT, STALE, WRITTEN, Recorded, judge, original_lang, remembered_originals, text_hash, translations,
)
from tests.conftest import write_article


def article(root: Path, lang: str, article_id: str = "hours", source: str | None = None, updated: str | None = None, body: str = "Body.") -> Path:
    front = ["---", f"id: {article_id}", f"lang: {lang}", f"title: Title {lang}"]
    if source is not None:
        front.append(f"source: {source}")
    if updated is not None:
        front.append(f"updated: {updated}")
    return write_article(root, lang, article_id, "", raw_front="\n".join([*front, "---", body, ""]))


def errors(root: Path) -> list[str]:
    with pytest.raises(KBErrors) as info:
        load_kb(root)
    return [str(e) for e in info.value.errors]


def by_lang(root: Path, default_lang: str = "en", remembered: dict[str, str] | None = None) -> dict[str, tuple[str, str]]:
    kb = load_kb(root)
    dates = {a.path: a.updated for a in kb.articles}
    return {t.lang: (t.source_lang, t.source_updated) for t in translations(kb, dates, default_lang, remembered)}


# -- source: validated ----------------------------------------------------------------------
def test_source_must_be_a_language_the_article_has(tmp_path: Path) -> None:
    article(tmp_path, "en")
    path = article(tmp_path, "tr", source="de")
    [error] = errors(tmp_path)
    assert f"{path}:5 [source]" in error and "has no 'de' version (it has en, tr)" in error


def test_source_may_not_be_the_version_itself(tmp_path: Path) -> None:
    article(tmp_path, "en")
    path = article(tmp_path, "tr", source="tr")
    [error] = errors(tmp_path)
    assert f"{path}:5 [source]" in error and "own language" in error


def test_source_must_be_a_language_code(tmp_path: Path) -> None:
    article(tmp_path, "en")
    path = article(tmp_path, "tr", source="English")
    [error] = errors(tmp_path)
    assert f"{path}:5 [source]" in error and "ISO 639-1" in error


def test_sources_may_not_go_round_in_a_circle(tmp_path: Path) -> None:
    article(tmp_path, "en")
    tr, es = article(tmp_path, "tr", source="es"), article(tmp_path, "es", source="tr")
    found = errors(tmp_path)
    assert len(found) == 2 and all("circle" in e and "[source]" in e for e in found)
    assert any(f"{tr}:5" in e and "tr -> es -> tr" in e for e in found) and any(f"{es}:5" in e for e in found)


def test_a_single_version_naming_a_source_is_an_error(tmp_path: Path) -> None:
    path = article(tmp_path, "tr", source="en")
    assert f"{path}:5 [source]" in errors(tmp_path)[0]


def test_source_is_read_in_lower_case(tmp_path: Path) -> None:
    article(tmp_path, "en")
    article(tmp_path, "tr", source="EN")
    assert load_kb(tmp_path).get("hours", "tr").source == "en"


# -- which version is the source ------------------------------------------------------------
def test_the_oldest_version_is_the_source_by_default(tmp_path: Path) -> None:
    article(tmp_path, "en", updated="2026-03-01")
    article(tmp_path, "tr", updated="2026-01-10")
    article(tmp_path, "es", updated="2026-02-01")
    assert by_lang(tmp_path) == {"en": ("tr", "2026-01-10"), "es": ("tr", "2026-01-10")}


def test_a_tie_goes_to_the_default_language_then_alphabetically(tmp_path: Path) -> None:
    for lang in ("tr", "es", "en"):
        article(tmp_path, lang, updated="2026-01-10")
    assert {lang: s for lang, (s, _) in by_lang(tmp_path).items()} == {"tr": "en", "es": "en"}
    assert {lang: s for lang, (s, _) in by_lang(tmp_path, default_lang="tr").items()} == {"en": "tr", "es": "tr"}
    assert {lang: s for lang, (s, _) in by_lang(tmp_path, default_lang="ar").items()} == {"tr": "en", "es": "en"}  # alphabetically


def test_the_remembered_original_stays_the_source_after_it_is_edited(tmp_path: Path) -> None:
    article(tmp_path, "en", updated="2026-03-12")  # the original, edited: now the newest
    article(tmp_path, "tr", updated="2026-02-01")
    assert by_lang(tmp_path) == {"en": ("tr", "2026-02-01")}  # nothing remembered: the oldest
    assert by_lang(tmp_path, remembered={"hours": "en"}) == {"tr": ("en", "2026-03-12")}


def test_a_named_source_wins_and_may_be_a_translation_itself(tmp_path: Path) -> None:
    article(tmp_path, "en", updated="2026-01-01")
    article(tmp_path, "tr", updated="2026-01-02")
    article(tmp_path, "az", source="tr", updated="2026-01-03")
    assert by_lang(tmp_path) == {"tr": ("en", "2026-01-01"), "az": ("tr", "2026-01-02")}


def test_the_original_is_never_a_version_naming_a_source(tmp_path: Path) -> None:
    article(tmp_path, "en", source="tr", updated="2026-01-01")  # oldest, but says it is a translation
    article(tmp_path, "tr", updated="2026-05-01")
    kb = load_kb(tmp_path)
    assert original_lang(kb.versions("hours"), {}, "en") == "tr"
    assert by_lang(tmp_path) == {"en": ("tr", "2026-05-01")}


def test_single_language_articles_have_no_translations(tmp_path: Path) -> None:
    article(tmp_path, "en")
    article(tmp_path, "tr", article_id="other")
    assert by_lang(tmp_path) == {}


# -- the state of a translation -------------------------------------------------------------
def test_judge_written_current_stale(tmp_path: Path) -> None:
    article(tmp_path, "en", updated="2026-01-01")
    article(tmp_path, "tr", updated="2026-01-02")
    [t] = translations(load_kb(tmp_path), {}, "en")
    assert judge(t, None) == WRITTEN  # never recorded
    assert judge(t, Recorded(t.hash, "en", t.source_hash)) == CURRENT
    assert judge(t, Recorded(t.hash, "en", "old source")) == STALE
    assert judge(t, Recorded("old translation", "en", "old source")) == WRITTEN  # both changed: written since
    assert judge(t, Recorded(t.hash, "es", t.source_hash)) == WRITTEN  # another source now


def test_the_hash_is_what_a_translator_translates(tmp_path: Path) -> None:
    path = article(tmp_path, "en", updated="2026-01-01")
    before = text_hash(load_kb(tmp_path).get("hours", "en"))
    path.write_text(path.read_text().replace("updated: 2026-01-01", "updated: 2026-02-02\ntags: [x]"))
    assert text_hash(load_kb(tmp_path).get("hours", "en")) == before
    path.write_text(path.read_text().replace("Body.", "Body, edited."))
    assert text_hash(load_kb(tmp_path).get("hours", "en")) != before


def test_remembered_originals_are_the_sources_that_are_no_translation() -> None:
    records = {
        ("a", "tr"): Recorded("x", "en", "y"), ("a", "az"): Recorded("x", "tr", "y"),
        ("b", "en"): Recorded("x", "es", "y"),
        ("c", "tr"): Recorded("x", "en", "y"), ("c", "en"): Recorded("x", "tr", "y"),  # no root: nothing remembered
    }
    assert remembered_originals(records) == {"a": "en", "b": "es"}
