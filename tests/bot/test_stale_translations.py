"""A translation whose source changed after it was written is stale: the reindex says so, the bot
notes it under answers, and editing the translation or marking it checked clears it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.answer.decision import ANSWER, Decision
from bot.answer.engine import Engine, Inbound
from bot.answer.phrases import phrase
from bot.config import Settings
from bot.errors import KBErrors
from bot.reindex.job import ReindexJob
from bot.reindex.run import ReindexReport, reindex
from bot.store.connect import open_store
from bot.store.model import Store
from bot.store.sql_translations import open_translation_checks
from index.encoders import HashEncoder
from index.search import ArticleScore, LiveIndex
from tests.conftest import write_article

ENCODER = HashEncoder()
EN_BODY = "Open Settings, choose Security and press Reset password. We e-mail you a link."
TR_BODY = "Ayarlar'ı açın, Güvenlik'i seçin ve Şifreyi sıfırla'ya basın."
OLDER_TR = phrase("translation_older", "tr", source_lang_name="İngilizce", date="2026-03-12")


def version(kb: Path, lang: str, title: str, body: str, updated: str, extra: str = "", article_id: str = "reset-password") -> Path:
    front = f"---\nid: {article_id}\nlang: {lang}\ntitle: {title}\nupdated: {updated}\n{extra}---\n{body}\n"
    return write_article(kb, lang, article_id, "", raw_front=front)


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    version(root, "en", "How to reset your password", EN_BODY, "2026-01-05")
    version(root, "tr", "Şifrenizi nasıl sıfırlarsınız", TR_BODY, "2026-01-20")
    version(root, "en", "Refunds and returns", "Return any item within 30 days for a full refund.", "2026-01-05", article_id="refund")
    version(root, "en", "Shipping times", "Orders ship in 2 business days.", "2026-01-05", article_id="shipping")
    return root


@pytest.fixture
def settings(kb: Path, tmp_path: Path) -> Settings:
    return Settings(kb_dir=str(kb), index_dir=str(tmp_path / "index"), encoder="hash", db=str(tmp_path / "answerdesk.db"), lang_backend="langdetect")


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    opened = open_store(settings.db)
    yield opened
    opened.close()


def run(settings: Settings, store: Store | None) -> tuple[ReindexReport, str]:
    out = io.StringIO()
    report = reindex(settings, encoder=ENCODER, store=store, out=out)
    return report, out.getvalue()


def turkish_answer(engine: Engine) -> str:
    reply = engine.answer_article("reset-password", "tr")
    assert reply is not None and reply.article_lang == "tr"
    return reply.text


def edit_english(kb: Path) -> None:
    version(kb, "en", "How to reset your password", EN_BODY + " The link is valid for one hour.", "2026-03-12")


def test_an_edited_source_makes_its_translation_stale_until_the_translation_is_edited(settings: Settings, store: Store, kb: Path) -> None:
    report, printed = run(settings, store)
    assert report.translations is not None and report.translations.written == 1 and not report.translations.stale and printed == ""
    engine = Engine(settings, ENCODER, LiveIndex(settings.index_dir))
    assert OLDER_TR not in turkish_answer(engine)

    edit_english(kb)  # now the newest version, and still the source: the records remember it
    report, printed = run(settings, store)
    [stale] = report.translations.stale
    assert (stale.lang, stale.source_lang, stale.source_updated) == ("tr", "en", "2026-03-12")
    assert f"{kb / 'tr' / 'reset-password.md'} [tr]: its source {kb / 'en' / 'reset-password.md'} [en] (updated 2026-03-12) changed" in printed
    assert "update the translation and reindex" in printed and "mark it checked" in printed
    assert turkish_answer(engine).endswith("\n\n" + OLDER_TR)
    assert "older" not in engine.answer_article("reset-password", "en").text  # the source itself is not stale

    version(kb, "tr", "Şifrenizi nasıl sıfırlarsınız", TR_BODY + " Bağlantı bir saat geçerlidir.", "2026-03-13")
    report, printed = run(settings, store)
    assert not report.translations.stale and report.translations.written == 1 and printed == ""
    assert OLDER_TR not in turkish_answer(engine)


def test_the_answer_to_a_turkish_question_carries_the_line(settings: Settings, store: Store, kb: Path) -> None:
    run(settings, store)
    edit_english(kb)
    run(settings, store)
    engine = Engine(settings, ENCODER, LiveIndex(settings.index_dir))
    outcome = engine.respond(Inbound("Şifrenizi nasıl sıfırlarsınız", lang_hint="tr"))
    assert (outcome.lang.lang, outcome.decision.action, outcome.decision.article_id) == ("tr", ANSWER, "reset-password")
    assert outcome.replies[0].text.endswith("\n\n" + OLDER_TR)
    spanish = engine.render(engine.snapshot(), Decision(ANSWER, "reset-password", (ArticleScore("reset-password", 0.9, "title", "tr"),), "confident"), "es")
    assert spanish.article_lang == "en" and "2026-03-12" not in spanish.text  # Spanish gets the English source: not stale


def test_a_translation_marked_checked_is_no_longer_stale_at_the_next_reindex(settings: Settings, store: Store, kb: Path) -> None:
    run(settings, store)
    edit_english(kb)
    [stale] = run(settings, store)[0].translations.stale
    checks = open_translation_checks(store)
    checks.record([stale], checked_by="agent-1")
    report, printed = run(settings, store)
    assert not report.translations.stale and report.translations.written == 0 and printed == ""
    kept = checks.get("reset-password", "tr")
    assert kept is not None and kept.checked_by == "agent-1" and kept.source_hash == stale.source_hash
    assert OLDER_TR not in turkish_answer(Engine(settings, ENCODER, LiveIndex(settings.index_dir)))


def test_a_new_source_line_rebaselines_and_a_removed_version_is_forgotten(settings: Settings, store: Store, kb: Path) -> None:
    version(kb, "es", "Cómo restablecer su contraseña", "Abra Ajustes.", "2026-01-25")
    run(settings, store)
    checks = open_translation_checks(store)
    assert set(checks.all()) == {("reset-password", "tr"), ("reset-password", "es")}
    version(kb, "es", "Cómo restablecer su contraseña", "Abra Ajustes.", "2026-01-25", extra="source: tr\n")
    edit_english(kb)
    report, _ = run(settings, store)
    assert [t.lang for t in report.translations.stale] == ["tr"]  # es follows tr now: recorded afresh, not stale
    assert checks.get("reset-password", "es").source_lang == "tr"
    (kb / "es" / "reset-password.md").unlink()
    run(settings, store)
    assert set(checks.all()) == {("reset-password", "tr")}


def test_the_reindex_uses_the_configured_store_only_once_it_exists(settings: Settings, kb: Path) -> None:
    report, printed = run(settings, None)
    assert "translations not checked" in printed and settings.db in printed and not Path(settings.db).exists()
    assert report.translations is not None and report.translations.unchecked
    open_store(settings.db).close()  # what `answerdesk serve` does first
    report, printed = run(settings, None)
    assert report.translations.written == 1 and printed == ""  # the first check records: nothing to compare with yet
    edit_english(kb)
    report, printed = run(settings, None)
    assert [t.lang for t in report.translations.stale] == ["tr"] and "reset-password.md" in printed


def test_the_consoles_job_records_in_its_store_and_sums_up_the_stale(settings: Settings, store: Store, kb: Path) -> None:
    job = ReindexJob(settings, lambda: datetime.now(timezone.utc), store=store)
    assert job.start() and job.wait(60).state == "done"
    edit_english(kb)
    assert job.start()
    done = job.wait(60)
    assert done.state == "done" and "1 translation(s) older than their source" in done.message


def test_a_bad_source_stops_the_reindex_naming_file_line_and_field(settings: Settings, kb: Path) -> None:
    path = version(kb, "tr", "Şifrenizi nasıl sıfırlarsınız", TR_BODY, "2026-01-20", extra="source: de\n")
    with pytest.raises(KBErrors) as info:
        reindex(settings, check=True)
    assert f"{path}:6 [source]" in str(info.value) and "no 'de' version" in str(info.value)
