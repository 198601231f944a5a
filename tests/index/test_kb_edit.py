import difflib
import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from index.errors import KBEditError
from index.kb import load_kb, parse_article
from index.kb_edit import Author, add_questions, file_hash, insert_questions, write_draft

ARTICLE = """---
# Written by the support team; keep the questions short.
id: reset-password
lang: en
title: "How to reset: your password"
questions:
    - 'I forgot my password'   # the most asked
    - "how do I change my password"
    - can't log in
tags: [account, security]
updated: 2026-11-20
---
Open Settings and press **Reset password**.

---

A line of dashes above is part of the body.
"""

TRICKY = ["what about: colons?", "# not a comment", 'he said "reset"', "it's 'quoted'", "- a leading dash",
          "كيف أغير كلمة المرور؟", "Şifremi nasıl değiştiririm, ığüşöç İ?", "yes", "123", "a, b [c] {d}", "ends with:", "@at *star &amp !bang %pct |bar >gt"]


@pytest.fixture(autouse=True)
def _no_git_around(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Git looks for a checkout no higher than tmp_path, and reads no configuration of this machine."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "EMAIL"):
        monkeypatch.delenv(name, raising=False)


def article(tmp_path: Path, text: str = ARTICLE, name: str = "reset-password", newline: str = "\n") -> Path:
    path = tmp_path / "kb" / "en" / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


def inserted(old: str, new: str) -> list[str]:
    """The lines `new` adds to `old`; fails if anything else changed."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    assert all(op in ("equal", "insert") for op, *_ in ops), "".join(difflib.unified_diff(a, b))
    return [line for op, _, _, j1, j2 in ops if op == "insert" for line in b[j1:j2]]


def test_adds_after_the_last_item_keeping_every_other_byte(tmp_path: Path) -> None:
    path = article(tmp_path)
    before = parse_article(path)
    added = add_questions(path, ["reset link never arrived", "  I FORGOT   my password "])
    assert added.questions == ["reset link never arrived"] and added.saved is not None
    assert inserted(ARTICLE, path.read_text(encoding="utf-8")) == ["    - reset link never arrived\n"]
    after = parse_article(path)
    assert after.questions == (*before.questions, "reset link never arrived")
    assert (after.title, after.tags, after.updated, after.body) == (before.title, before.tags, before.updated, before.body)


def test_items_at_column_zero_and_a_crlf_file(tmp_path: Path) -> None:
    text = "---\nid: a\nlang: en\ntitle: A\nquestions:\n- one\n-   two  # spaced\nsource:\n---\nBody\n"
    path = article(tmp_path, text, "a", newline="\r\n")
    add_questions(path, ["three"])
    new = path.read_bytes().decode("utf-8")
    assert inserted(text.replace("\n", "\r\n"), new) == ["-   three\r\n"]
    assert new.count("\n") == new.count("\r\n")
    assert parse_article(path).questions == ("one", "two", "three")


def test_any_text_stays_one_plain_string_through_the_loader(tmp_path: Path) -> None:
    path = article(tmp_path)
    old = parse_article(path).questions
    added = add_questions(path, [*TRICKY, "line\nbreak\tand tab"])
    assert added.questions == [*TRICKY, "line break and tab"]
    assert len(inserted(ARTICLE, path.read_text(encoding="utf-8"))) == len(TRICKY) + 1
    assert load_kb(tmp_path / "kb").get("reset-password", "en").questions == (*old, *added.questions)


def test_an_article_without_questions_gets_the_key_at_the_end_of_its_front_matter(tmp_path: Path) -> None:
    text = "---\nid: a\nlang: en\ntitle: A\ntags:\n  - x\n---\nBody\n"
    path = article(tmp_path, text, "a")
    add_questions(path, ["first: one", "second"])
    assert inserted(text, path.read_text(encoding="utf-8")) == ["questions:\n", "  - 'first: one'\n", "  - second\n"]
    assert parse_article(path).tags == ("x",)


def test_an_empty_questions_key_gets_items_under_it(tmp_path: Path) -> None:
    text = "---\nid: a\nlang: en\nquestions:\ntitle: A\n---\nBody\n"
    path = article(tmp_path, text, "a")
    add_questions(path, ["one"])
    assert inserted(text, path.read_text(encoding="utf-8")) == ["  - one\n"]
    assert parse_article(path).title == "A"


@pytest.mark.parametrize("flow, expected", [("[a, 'b']", "[a, 'b', 'x, y', '# z']"), ("[]", "['x, y', '# z']"), ("[a,]", "[a, 'x, y', '# z',]")])
def test_a_flow_list_gets_the_items_inside_its_brackets(tmp_path: Path, flow: str, expected: str) -> None:
    text = f"---\nid: a\nlang: en\ntitle: A\nquestions: {flow}  # kept\ntags: [t]\n---\nBody\n"
    path = article(tmp_path, text, "a")
    add_questions(path, ["x, y", "# z"])
    assert path.read_text(encoding="utf-8") == text.replace(flow, expected)
    assert parse_article(path).questions[-2:] == ("x, y", "# z")


def test_questions_already_there_are_skipped_and_nothing_is_written(tmp_path: Path) -> None:
    path = article(tmp_path)
    stamp = path.stat().st_mtime_ns
    result = add_questions(path, ["i forgot MY   password", "Can't log in"])
    assert result.questions == [] and result.saved is None
    assert path.read_text(encoding="utf-8") == ARTICLE and path.stat().st_mtime_ns == stamp
    assert insert_questions(ARTICLE, ["new", "NEW", " new "], path) [1] == ["new"]


def test_a_file_changed_since_it_was_read_is_refused(tmp_path: Path) -> None:
    path = article(tmp_path)
    seen = file_hash(path)
    assert seen == hashlib.sha256(ARTICLE.encode()).hexdigest()
    path.write_text(ARTICLE + "Edited meanwhile.\n", encoding="utf-8")
    with pytest.raises(KBEditError) as info:
        add_questions(path, ["new question"], expected_hash=seen)
    assert str(path) in str(info.value) and "changed since it was read" in str(info.value) and "reload" in str(info.value)
    assert path.read_text(encoding="utf-8") == ARTICLE + "Edited meanwhile.\n"


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(KBEditError, match="gone.md.*not found"):
        add_questions(tmp_path / "kb" / "en" / "gone.md", ["q"])


@pytest.mark.parametrize("front, line, words", [
    ("questions:\n  a: b\n", 5, "must be a list"),
    ("questions: just one\n", 5, "must be a list"),
    ("questions: [a\n", None, "front matter"),
    ("questions: &q\n  - a\nalso: *q\n", None, "another field would change"),
])
def test_what_cannot_be_edited_safely_is_refused_and_left_alone(tmp_path: Path, front: str, line: int | None, words: str) -> None:
    text = f"---\nid: a\nlang: en\ntitle: A\n{front}---\nBody\n"
    path = article(tmp_path, text, "a")
    with pytest.raises(KBEditError) as info:
        add_questions(path, ["new"])
    assert str(path) in str(info.value) and words in str(info.value)
    if line:
        assert info.value.line == line and f"{path}:{line}" in str(info.value)
    assert path.read_text(encoding="utf-8") == text


# -- saving outside git: atomic, with a backup the loader ignores -----------------------------


def test_outside_git_the_previous_version_is_kept_where_the_loader_does_not_look(tmp_path: Path) -> None:
    path = article(tmp_path)
    article(tmp_path, "---\nid: b\nlang: en\ntitle: B\n---\nBody\n", "b")
    before = load_kb(tmp_path / "kb")
    saved = add_questions(path, ["one more"]).saved
    assert saved is not None and saved.commit is None and saved.backup is not None
    assert saved.backup.read_text(encoding="utf-8") == ARTICLE and saved.backup.parent == path.parent / ".backup"
    add_questions(path, ["and another"])
    after = load_kb(tmp_path / "kb")  # no error for the backups
    assert sorted((a.id, a.lang) for a in after.articles) == sorted((a.id, a.lang) for a in before.articles)
    assert after.get("reset-password", "en").questions[-2:] == ("one more", "and another")
    assert sorted(p.name for p in path.parent.iterdir()) == [".backup", "b.md", "reset-password.md"]  # no temporary file left
    assert len(list((path.parent / ".backup").iterdir())) == 2


# -- saving in a git checkout: one commit per save, that file only ----------------------------


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.name", "Maintainer")
    git(tmp_path, "config", "user.email", "maintainer@example.com")
    article(tmp_path)
    (tmp_path / "notes.txt").write_text("notes\n", encoding="utf-8")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "start")
    return tmp_path


ANA = Author("Ana Lima", "ana@example.com")


def test_in_git_each_save_is_one_commit_of_that_file_with_the_message_and_author_given(repo: Path) -> None:
    path = repo / "kb" / "en" / "reset-password.md"
    (repo / "notes.txt").write_text("staged by someone else\n", encoding="utf-8")
    git(repo, "add", "notes.txt")
    message = "KB: add 1 question to en/reset-password (accepted by Ana Lima)"
    saved = add_questions(path, ["reset link expired"], message=message, author=ANA).saved
    assert saved is not None and saved.backup is None
    assert git(repo, "rev-parse", "HEAD").strip() == saved.commit
    assert git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%s").strip() == f"Ana Lima <ana@example.com>|Maintainer <maintainer@example.com>|{message}"
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["kb/en/reset-password.md"]
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "2"
    assert git(repo, "status", "--porcelain").splitlines() == ["M  notes.txt"]  # still staged, not committed
    assert not (path.parent / ".backup").exists()


def test_without_a_git_identity_answerdesk_commits(repo: Path) -> None:
    git(repo, "config", "--unset", "user.name")
    git(repo, "config", "--unset", "user.email")
    add_questions(repo / "kb" / "en" / "reset-password.md", ["one"], message="KB: add", author=ANA)
    assert git(repo, "log", "-1", "--format=%an|%cn <%ce>").strip() == "Ana Lima|Answerdesk <answerdesk@localhost>"


def test_in_git_a_file_with_uncommitted_changes_is_refused(repo: Path) -> None:
    path = repo / "kb" / "en" / "reset-password.md"
    path.write_text(ARTICLE + "Being written.\n", encoding="utf-8")
    with pytest.raises(KBEditError) as info:
        add_questions(path, ["one"], message="KB: add", author=ANA)
    assert str(path) in str(info.value) and "not committed" in str(info.value)
    assert path.read_text(encoding="utf-8") == ARTICLE + "Being written.\n"
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"


def test_a_commit_that_fails_leaves_the_file_as_it_was(repo: Path) -> None:
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'no commits today' >&2\nexit 1\n", encoding="utf-8")
    hook.chmod(0o755)
    path = repo / "kb" / "en" / "reset-password.md"
    with pytest.raises(KBEditError, match="no commits today"):
        add_questions(path, ["one"], message="KB: add", author=ANA)
    assert path.read_text(encoding="utf-8") == ARTICLE
    assert git(repo, "status", "--porcelain").strip() == ""


def test_in_git_a_draft_is_one_commit_adding_that_file(repo: Path) -> None:
    (repo / "notes.txt").write_text("staged by someone else\n", encoding="utf-8")
    git(repo, "add", "notes.txt")
    saved = write_draft(repo / "kb", "tr", "Hediye kartı", ["hediye kartı var mı?"], message="KB: new draft tr/hediye-karti", author=ANA)
    assert saved.path == repo / "kb" / "tr" / "hediye-karti.md" and saved.commit == git(repo, "rev-parse", "HEAD").strip()
    assert git(repo, "show", "--name-status", "--format=%an|%s", "HEAD").split() == ["Ana", "Lima|KB:", "new", "draft", "tr/hediye-karti", "A", "kb/tr/hediye-karti.md"]
    assert git(repo, "status", "--porcelain").splitlines() == ["M  notes.txt"]
    assert load_kb(repo / "kb").get("hediye-karti", "tr").draft
