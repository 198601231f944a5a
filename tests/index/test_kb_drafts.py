"""Drafts: written by `write_draft`, validated by the loader, never indexed or treated as translations."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from index.build import build_snapshot
from index.encoders import HashEncoder
from index.errors import KBEditError, KBErrors
from index.kb import load_kb
from index.kb_edit import DRAFT_BODY, slug, write_draft
from index.translations import translations
from tests.conftest import write_article


@pytest.fixture(autouse=True)
def _no_git_around(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))


def errors(root: Path) -> list[str]:
    with pytest.raises(KBErrors) as info:
        load_kb(root)
    return [str(e) for e in info.value.errors]


def test_a_written_draft_loads_as_a_draft(small_kb: Path) -> None:
    saved = write_draft(small_kb, "en", "Can I pay: by card?", ["Do you take Visa?", "do you take  VISA?", "# cards"])
    assert saved.path == small_kb / "en" / "can-i-pay-by-card.md" and saved.commit is None and saved.backup is None
    draft = load_kb(small_kb).get("can-i-pay-by-card", "en")
    assert draft is not None and draft.draft and draft.title == "Can I pay: by card?"
    assert draft.questions == ("Do you take Visa?", "# cards") and draft.body == DRAFT_BODY
    assert not load_kb(small_kb).get("refund", "en").draft


def test_draft_ids_are_ascii_and_new_in_every_language(small_kb: Path) -> None:
    assert slug("Şifre sıfırlama: Çözüm!") == "sifre-sifirlama-cozum" and slug("كيف أرجع منتجًا") == "" and slug("Ünïcödé ß") == "unicode-ss"
    assert write_draft(small_kb, "tr", "Refund", ["q"]).path.name == "refund-2.md"  # `refund` is taken in en and ar
    assert write_draft(small_kb, "de", "Refund", ["q"]).path.name == "refund-3.md"
    arabic = write_draft(small_kb, "ar", "كيف أرجع منتجًا؟", ["سؤال"]).path.name
    assert re.fullmatch(r"draft-[0-9a-f]{8}\.md", arabic)
    assert {a.id for a in load_kb(small_kb).articles} >= {"refund-2", "refund-3", arabic[:-3]}


def test_a_draft_never_overwrites_and_never_takes_a_used_id(small_kb: Path) -> None:
    before = (small_kb / "en" / "refund.md").read_bytes()
    with pytest.raises(KBEditError, match="'refund' is used already by .*refund.md"):
        write_draft(small_kb, "tr", "Whatever", ["q"], article_id="refund")
    (small_kb / "en" / "odd-name.md").write_text("not an article", encoding="utf-8")  # its name is taken all the same
    with pytest.raises(KBEditError, match="odd-name"):
        write_draft(small_kb, "en", "Odd name", ["q"], article_id="odd-name")
    assert (small_kb / "en" / "refund.md").read_bytes() == before


def test_drafts_are_left_out_of_the_index(small_kb: Path, tmp_path: Path) -> None:
    write_draft(small_kb, "en", "Gift cards", ["do you sell gift cards"])
    write_article(small_kb, "tr", "gift-cards", "", raw_front="---\nid: gift-cards\nlang: tr\ntitle: Hediye kartı\nsource: en\ndraft: true\n---\nYazılacak.\n")
    kb = load_kb(small_kb)
    assert len(kb.articles) == 9 and len(kb.served().articles) == 7
    snapshot, report = build_snapshot(kb, HashEncoder(), tmp_path / "var" / "index")
    ids = json.loads((snapshot / "articles.json").read_text(encoding="utf-8"))["ids"]
    assert "gift-cards" not in ids and len(ids) == 5 and (report.articles, report.versions) == (5, 7)
    dates = {a.path: "2026-01-01" for a in kb.articles}
    assert all(t.article_id != "gift-cards" for t in translations(kb, dates, "en"))


def test_draft_must_be_a_yaml_boolean(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    path = write_article(root, "en", "a", "", raw_front="---\nid: a\nlang: en\ntitle: A\ndraft: 'yes'\n---\nBody\n")
    other = write_article(root, "en", "b", "", raw_front="---\nid: b\nlang: en\ntitle: B\ndraft: yes\n---\nBody\n")  # YAML 1.2: a word
    write_article(root, "en", "c", "", raw_front="---\nid: c\nlang: en\ntitle: C\ndraft: true\n---\nBody\n")
    found = errors(root)
    assert len(found) == 2
    for written, error in zip((path, other), sorted(found)):
        assert f"{written}:5 [draft]" in error and "true or false" in error


def test_a_draft_may_not_share_an_id_with_a_published_article(small_kb: Path) -> None:
    path = write_article(small_kb, "de", "refund", "", raw_front="---\nid: refund\nlang: de\ntitle: Erstattung\ndraft: true\n---\nBody\n")
    [error] = errors(small_kb)
    assert error.startswith(f"{path} [id]: draft 'refund' has the id of the published article ") and os.path.join("ar", "refund.md") in error


def test_a_kb_of_drafts_alone_builds_no_index(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    (root / "en").mkdir(parents=True)
    write_draft(root, "en", "Only a draft", ["q"])
    with pytest.raises(Exception, match="every article .* is a draft"):
        build_snapshot(load_kb(root), HashEncoder(), tmp_path / "index")
