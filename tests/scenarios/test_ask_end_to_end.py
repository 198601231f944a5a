"""A KB written by the test, indexed with the real encoder, asked in three languages."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings
from bot.answer.engine import Engine, Inbound
from bot.reindex.run import reindex
from index.search import LiveIndex


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, real_encoders) -> Engine:
    from tests.conftest import SMALL_KB, write_article

    root = tmp_path_factory.mktemp("e2e")
    for lang, article_id, title, body, questions in SMALL_KB:
        write_article(root / "kb", lang, article_id, title, body, questions)
    settings = Settings(kb_dir=str(root / "kb"), index_dir=str(root / "index"))
    reindex(settings, encoder=real_encoders)
    engine = Engine(settings, real_encoders, LiveIndex(settings.index_dir))
    engine.warm_up()
    return engine


def test_english_question_gets_the_english_article(engine: Engine) -> None:
    outcome = engine.respond(Inbound("I can't remember my password, what do I do?"))
    assert outcome.lang.lang == "en"
    assert outcome.decision.action == "answer" and outcome.decision.article_id == "reset-password"
    assert outcome.replies[0].article_lang == "en" and "Settings" in outcome.replies[0].text


def test_turkish_question_gets_the_turkish_version(engine: Engine) -> None:
    outcome = engine.respond(Inbound("Şifremi unuttum, nasıl sıfırlayabilirim?"))
    assert outcome.lang.lang == "tr"
    assert outcome.decision.article_id == "reset-password"
    assert outcome.replies[0].article_lang == "tr" and "Güvenlik" in outcome.replies[0].text


def test_arabic_question_without_arabic_version_says_so(engine: Engine) -> None:
    outcome = engine.respond(Inbound("متى سيصل طلبي؟ كم تستغرق مدة الشحن؟"))
    assert outcome.lang.lang == "ar"
    assert outcome.decision.article_id == "shipping"
    reply = outcome.replies[0]
    assert reply.article_lang == "en"
    first_line = reply.text.splitlines()[0]
    assert any("\u0600" <= ch <= "\u06ff" for ch in first_line)  # the note is in Arabic
    assert "Orders ship" in reply.text


def test_arabic_refund_question_gets_arabic_version(engine: Engine) -> None:
    outcome = engine.respond(Inbound("كيف يمكنني استرجاع أموالي؟"))
    assert outcome.decision.article_id == "refund" and outcome.replies[0].article_lang == "ar"


@pytest.mark.parametrize("text", ["How do I bake sourdough bread at home?", "Yarın İstanbul'da hava nasıl olacak?", "¿Cuántos años tiene el universo?"])
def test_uncovered_questions_are_handed_off(engine: Engine, text: str) -> None:
    outcome = engine.respond(Inbound(text))
    assert outcome.decision.action == "handoff" and outcome.decision.reason == "not_covered"


@pytest.mark.parametrize("text,lang", [("I want to talk to a human", "en"), ("temsilciye bağla", "tr"), ("أريد التحدث مع موظف", "ar")])
def test_asking_for_a_person_hands_off_in_their_language(engine: Engine, text: str, lang: str) -> None:
    outcome = engine.respond(Inbound(text))
    assert outcome.decision.reason == "asked_for_person" and outcome.lang.lang == lang
    assert outcome.replies[0].action == "handoff"


def test_greeting_gets_a_greeting(engine: Engine) -> None:
    outcome = engine.respond(Inbound("Merhaba"))
    assert outcome.decision.action == "smalltalk" and outcome.lang.lang == "tr"


def test_batch_prints_one_json_line_per_row(engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    cases = tmp_path / "cases.jsonl"
    rows = [{"text": "how much is delivery"}, {"text": "Şifremi unuttum", "lang": "tr-TR", "extra": 1}, {"text": "Who painted the Mona Lisa?"}]
    cases.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    monkeypatch.setenv("ANSWERDESK_INDEX", engine.settings.index_dir)
    assert main(["ask", "--batch", str(cases)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["action"] for line in lines] == ["answer", "answer", "handoff"]
    assert lines[0]["article_id"] == "shipping" and lines[1]["lang"] == "tr"
    assert set(lines[0]) == {"text", "lang", "action", "article_id", "reply", "candidates"}
    assert set(lines[0]["candidates"][0]) == {"id", "score"}


def test_batch_bad_line_names_file_and_line(engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"text": "hi"}\nnot json\n', encoding="utf-8")
    monkeypatch.setenv("ANSWERDESK_INDEX", engine.settings.index_dir)
    assert main(["ask", "--batch", str(cases)]) == 1
    assert f"{cases}:2" in capsys.readouterr().err


def test_reindex_check_reports_errors_and_exits_nonzero(tmp_path: Path) -> None:
    (tmp_path / "kb" / "en").mkdir(parents=True)
    (tmp_path / "kb" / "en" / "a.md").write_text("---\nid: a\nlang: tr\ntitle: T\n---\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "reindex", "--check", "--kb", str(tmp_path / "kb")],
        capture_output=True, text=True, cwd=Path(__file__).parents[2], check=False,
    )
    assert result.returncode == 1
    assert "a.md:3 [lang]" in result.stderr


def test_a_message_on_a_new_thread_searches_with_one_faiss_thread(engine: Engine) -> None:
    # ANSWERDESK_THREADS goes to e5; a second OpenMP pool of that size beside it only contends.
    import threading

    import faiss

    seen: list[int] = []

    def answer() -> None:  # as a request thread of the server does
        engine.respond(Inbound("I forgot my password"))
        seen.append(faiss.omp_get_max_threads())

    worker = threading.Thread(target=answer)
    worker.start()
    worker.join()
    assert seen == [1]
