from pathlib import Path

import pytest

from bot.errors import KBErrors
from index.kb import load_kb


def _errors(root: Path) -> list[str]:
    with pytest.raises(KBErrors) as info:
        load_kb(root)
    return [str(e) for e in info.value.errors]


def test_loads_articles_with_questions_and_body(small_kb: Path) -> None:
    kb = load_kb(small_kb)
    assert kb.languages == ("ar", "en", "tr")
    assert len(kb.article_ids) == 5
    article = kb.get("reset-password", "tr")
    assert article is not None and article.questions[0] == "Şifremi unuttum"
    assert "Güvenlik" in article.body


def test_article_may_have_no_body(article_writer) -> None:
    path = article_writer("en", "x", "Only a title", questions=["q one"])
    kb = load_kb(path.parent.parent)
    assert kb.get("x", "en").body == ""


def test_missing_front_matter_names_file_and_line(article_writer) -> None:
    path = article_writer("en", "a", "", raw_front="Just text\n")
    [error] = _errors(path.parent.parent)
    assert f"{path}:1" in error and "front matter" in error


def test_unclosed_front_matter(article_writer) -> None:
    path = article_writer("en", "a", "", raw_front="---\nid: a\nlang: en\n")
    assert "not closed" in _errors(path.parent.parent)[0]


def test_malformed_yaml_names_line(article_writer) -> None:
    path = article_writer("en", "a", "", raw_front="---\nid: a\nlang: en\ntitle: [unclosed\n---\nbody\n")
    [error] = _errors(path.parent.parent)
    assert "malformed front matter" in error and f"{path}:" in error


def test_missing_required_field_names_field(article_writer) -> None:
    path = article_writer("en", "a", "", raw_front="---\nid: a\nlang: en\n---\nbody\n")
    [error] = _errors(path.parent.parent)
    assert "[title]" in error and "required field 'title'" in error


def test_lang_must_match_folder(article_writer) -> None:
    path = article_writer("en", "a", "", raw_front="---\nid: a\nlang: tr\ntitle: T\n---\n")
    [error] = _errors(path.parent.parent)
    assert f"{path}:3 [lang]" in error and "folder 'en'" in error


def test_duplicate_id_and_lang(article_writer) -> None:
    article_writer("en", "a", "First")
    path = article_writer("en", "b", "", raw_front="---\nid: a\nlang: en\ntitle: Second\n---\n")
    [error] = _errors(path.parent.parent)
    assert "duplicate article id 'a'" in error and "a.md" in error


def test_invalid_utf8_names_line(tmp_path: Path) -> None:
    folder = tmp_path / "kb" / "en"
    folder.mkdir(parents=True)
    (folder / "a.md").write_bytes(b"---\nid: a\nlang: en\ntitle: caf\xe9\n---\n")
    [error] = _errors(tmp_path / "kb")
    assert "a.md:4" in error and "UTF-8" in error


def test_empty_kb(tmp_path: Path) -> None:
    (tmp_path / "kb").mkdir()
    assert "empty" in _errors(tmp_path / "kb")[0]


def test_all_problems_reported_together(article_writer) -> None:
    article_writer("en", "a", "", raw_front="no front matter\n")
    path = article_writer("tr", "b", "", raw_front="---\nid: b\nlang: en\ntitle: T\n---\n")
    assert len(_errors(path.parent.parent)) == 2


def test_questions_must_be_a_list(article_writer) -> None:
    path = article_writer("en", "a", "", raw_front="---\nid: a\nlang: en\ntitle: T\nquestions:\n  x: 1\n---\n")
    [error] = _errors(path.parent.parent)
    assert "[questions]" in error


def test_demo_kb_loads() -> None:
    kb = load_kb(Path(__file__).parents[2] / "kb_source")
    assert {"en", "ar", "tr"} <= set(kb.languages)
    assert kb.get("opening-hours", "en") is not None


def test_parsed_articles_are_reused_until_the_file_changes(small_kb: Path) -> None:
    parsed: dict = {}
    first = load_kb(small_kb, parsed)
    second = load_kb(small_kb, parsed)
    assert first.get("refund", "en") is second.get("refund", "en")
    path = small_kb / "en" / "refund.md"
    path.write_text(path.read_text(encoding="utf-8").replace("30 days", "60 days"), encoding="utf-8")
    third = load_kb(small_kb, parsed)
    assert "60 days" in third.get("refund", "en").body


def test_yes_no_and_on_are_words_not_booleans(article_writer) -> None:
    # YAML 1.1 read these as True/False: CLINC's intents "yes" and "no" became articles "True" and "False".
    path = article_writer("en", "yes", "", raw_front="---\nid: yes\nlang: en\ntitle: No\nquestions:\n  - on\n  - off\n---\nBody.\n")
    kb = load_kb(path.parent.parent)
    assert kb.article_ids == ("yes",)
    article = kb.get("yes", "en")
    assert article.title == "No" and article.questions == ("on", "off")
