"""`answerdesk suggestions`: list (text and JSON, by language), accept and reject by id, errors that say which."""

import json
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
