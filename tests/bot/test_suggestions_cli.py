"""`answerdesk suggestions`: list (text and JSON, by language), accept and reject by id, errors that say which."""

import json
import subprocess
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings
from bot.reindex.run import reindex
from bot.store.connect import open_store
from tests.conftest import SMALL_KB, write_article


def clarified_then_picked(store, question: str, article_id: str, lang: str = "en") -> None:
    """A customer asked `question`, was offered choices, and picked `article_id` (as Desk.choose stores it)."""
    conversation = store.create_conversation("web", f"u-{question}-{article_id}", lang)
    asked = store.add_message(conversation.id, "customer", question).message
    store.add_message(conversation.id, "bot", "Did you mean…", lang=lang, action="clarify",
                      decision={"action": "clarify", "reason": "low_confidence", "candidates": [{"id": article_id, "score": 0.2}], "answers": asked.id})
    store.add_message(conversation.id, "customer", "Refunds and returns", lang=lang)
    store.add_message(conversation.id, "bot", "...", lang=lang, action="answer", article_id=article_id,
                      decision={"action": "answer", "reason": "chosen", "candidates": [{"id": article_id}]})


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for lang, article_id, title, body, questions in SMALL_KB:
        write_article(tmp_path / "kb", lang, article_id, title, body, questions)
    env = {"ANSWERDESK_KB": str(tmp_path / "kb"), "ANSWERDESK_INDEX": str(tmp_path / "index"), "ANSWERDESK_DB": str(tmp_path / "answerdesk.db"),
           "ANSWERDESK_ENCODER": "hash"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    reindex(settings)
    store = open_store(settings.db)
    try:
        for n in range(3):
            clarified_then_picked(store, f"money back please, mail me at buyer{n}@example.com", "refund")
        clarified_then_picked(store, "paramı geri istiyorum", "refund", lang="tr")
    finally:
        store.close()
    return settings


def listed(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict]:
    capsys.readouterr()
    assert main(["suggestions", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_list_accept_and_reject_from_the_command_line(site: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    found = {(s["article_id"], s["lang"]): s for s in listed(capsys)}
    en, tr = found[("refund", "en")], found[("refund", "tr")]
    assert (en["text"], en["customers"], en["source"]) == ("money back please, mail me at [email]", 3, "picked")
    assert tr["missing_language"] is True and len(en["evidence"]) == 3
    assert [s["id"] for s in listed(capsys, "--lang", "tr")] == [tr["id"]]

    capsys.readouterr()
    assert main(["suggestions"]) == 0
    text = capsys.readouterr().out
    assert "en/refund: 3 customers" in text and en["id"] in text and "refund in tr: 1 customers" in text

    assert main(["suggestions", "accept", en["id"], "--by", "Ana Lima <ana@example.com>"]) == 0
    assert f"accepted {en['id']} into en/refund.md" in capsys.readouterr().out
    article = (Path(site.kb_dir) / "en" / "refund.md").read_text()
    assert "- 'money back please, mail me at [email]'" in article or "- money back please, mail me at [email]" in article
    assert any((Path(site.kb_dir) / "en" / ".backup").iterdir())  # not a git checkout: the previous file is kept

    assert main(["suggestions", "reject", tr["id"], "--by", "Ana Lima <ana@example.com>"]) == 0
    assert listed(capsys) == []  # decided, both

    assert main(["suggestions", "accept", en["id"], "--by", "Ana Lima <ana@example.com>"]) == 1
    assert f"{en['id']}: suggestion {en['id']} was accepted by Ana Lima" in capsys.readouterr().err
    assert main(["suggestions", "reject", "0000000000", "--by", "Ana <ana@example.com>"]) == 1
    assert "no open suggestion '0000000000'" in capsys.readouterr().err
    assert main(["suggestions", "accept", "0000000000", "--by", "nobody"]) == 1
    assert '--by \'nobody\': write it as "Name <email>"' in capsys.readouterr().err


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def test_several_ids_are_one_commit_per_article_and_a_failed_one_does_not_stop_the_rest(site: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    kb = Path(site.kb_dir)
    git(kb, "init", "-q")
    git(kb, "config", "user.name", "Maintainer")
    git(kb, "config", "user.email", "maintainer@example.com")
    git(kb, "add", ".")
    git(kb, "commit", "-q", "-m", "start")
    store = open_store(site.db)
    try:
        clarified_then_picked(store, "can I send it back after a month", "refund")
        clarified_then_picked(store, "parcel still not here", "shipping")
    finally:
        store.close()
    found = {(s["article_id"], s["lang"], s["text"]): s["id"] for s in listed(capsys)}
    refund = [i for (a, lang, _), i in found.items() if (a, lang) == ("refund", "en")]
    shipping = found[("shipping", "en", "parcel still not here")]
    turkish = found[("refund", "tr", "paramı geri istiyorum")]
    assert len(refund) == 2
    assert main(["suggestions", "reject", turkish, "--by", "Ana Lima <ana@example.com>"]) == 0
    refund_file = (kb / "en" / "refund.md").read_text(encoding="utf-8")

    # the rejected one fails, named; the other three are written: two into refund.md in one commit
    assert main(["suggestions", "accept", *refund, turkish, shipping, "--by", "Ana Lima <ana@example.com>"]) == 1
    out, err = capsys.readouterr()
    assert f"error: {turkish}: suggestion {turkish} was rejected by Ana Lima" in err
    assert all(f"accepted {i} into en/refund.md (commit " in out for i in refund) and f"accepted {shipping} into en/shipping.md" in out
    log = git(kb, "log", "--format=%an|%s").splitlines()
    assert log == ["Ana Lima|KB: add a customer question to en/shipping (accepted by Ana Lima)",
                   "Ana Lima|KB: add 2 customer questions to en/refund (accepted by Ana Lima)", "Maintainer|start"]
    written = (kb / "en" / "refund.md").read_text(encoding="utf-8")
    added = [line for line in written.splitlines() if line not in refund_file.splitlines()]
    assert len(added) == 2 and any("can I send it back after a month" in line for line in added)
    assert listed(capsys) == []
