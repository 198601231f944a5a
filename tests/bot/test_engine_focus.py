"""The engine answers with the focused part of an article: the matched passage's section, else the question's."""

from __future__ import annotations

import pytest

from bot.answer.decision import ANSWER, Decision
from bot.answer.engine import Engine, Inbound
from bot.answer.phrases import phrase
from index.encoders import HashEncoder
from index.search import ArticleScore, LiveIndex
from tests.conftest import MOBILE_APP, small_index, write_article


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    encoder = HashEncoder()
    settings = small_index(tmp_path_factory.mktemp("focus"), encoder, lambda kb: write_article(kb, *MOBILE_APP))
    return Engine(settings, encoder, LiveIndex(settings.index_dir))


def answer(candidate: ArticleScore) -> Decision:
    return Decision(ANSWER, candidate.article_id, (candidate,), "confident")


def test_the_matched_passage_chooses_the_section(engine: Engine) -> None:
    passage = "Using the mobile app: Working offline. The app keeps your last 50 orders and their receipts on the phone"
    reply = engine.render(engine.snapshot(), answer(ArticleScore("mobile-app", 0.9, "passage", "en", passage=passage)), "en", question="hi")
    assert reply.text.startswith("## Working offline\n\nThe app keeps your last 50 orders")
    assert reply.text.endswith("\n\n" + phrase("answer_more", "en")) and reply.cut
    assert len(reply.text) < 700 and "Installing the app" not in reply.text
    assert (reply.title, reply.article_id) == ("Using the mobile app", "mobile-app") and reply.updated


def test_without_a_passage_the_question_chooses(engine: Engine) -> None:
    plain = ArticleScore("mobile-app", 0.9, "question", "en")  # a question matched: no passage
    reply = engine.render(engine.snapshot(), answer(plain), "en", question="Does it work with my Apple Watch?")
    assert reply.text.startswith("## Connecting a smart watch\n\n") and reply.cut
    lead = engine.render(engine.snapshot(), answer(plain), "en")
    assert lead.text.startswith("The Answerdesk mobile app lets you follow your orders")


def test_another_language_keeps_the_note_above_the_excerpt(engine: Engine) -> None:
    passage = "Using the mobile app: Turning on notifications. Open the app, tap your picture, then Settings Notifications."
    reply = engine.render(engine.snapshot(), answer(ArticleScore("mobile-app", 0.9, "passage", "en", passage=passage)), "ar", question="كيف أفعّل الإشعارات؟")
    note, excerpt = reply.text.split("\n\n", 1)
    assert any("\u0600" <= ch <= "\u06ff" for ch in note) and reply.article_lang == "en"
    assert excerpt.startswith("## Turning on notifications\n\n")
    assert reply.text.endswith(phrase("answer_more", "ar"))


def test_a_short_article_is_answered_whole_without_a_more_line(engine: Engine) -> None:
    reply = engine.render(engine.snapshot(), answer(ArticleScore("refund", 0.9, "title", "en")), "en", question="refund?")
    assert reply.text == "You can return any item within 30 days for a full refund. Refunds reach your card in 5 days."
    assert not reply.cut


def test_a_picked_article_shows_its_lead(engine: Engine) -> None:
    reply = engine.answer_article("mobile-app", "en")
    assert reply is not None and reply.text.startswith("The Answerdesk mobile app") and reply.cut


def test_the_question_reaches_render_from_respond(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str | None] = []
    render = engine.render
    monkeypatch.setattr(engine, "render", lambda *a, **k: seen.append(k.get("question")) or render(*a, **k))
    engine.respond(Inbound("the app keeps crashing"))
    assert seen == ["the app keeps crashing"]
