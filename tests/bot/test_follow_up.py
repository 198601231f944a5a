"""Which messages may lean on the question before them."""

import pytest

from bot.answer.decision import ANSWER, CLARIFY, HANDOFF, Decision, reads_better
from bot.answer.follow_up import joined, may_follow_up, starts_with_cue
from index.search import ArticleScore


@pytest.mark.parametrize(("text", "lang"), [
    ("and on Saturday?", "en"), ("What about Arabic?", "en"), ("peki cumartesi?", "tr"), ("Ya pazar günü?", "tr"),
    ("والسبت؟", "ar"), ("وماذا عن يوم الأحد؟", "ar"), ("¿Y el sábado?", "es"), ("¿y si pago con tarjeta?", "es"),
])
def test_continuations_are_recognised(text: str, lang: str) -> None:
    assert starts_with_cue(text, lang) and may_follow_up(text, lang)


@pytest.mark.parametrize(("text", "lang"), [
    ("How do I delete my chat history and my account data?", "en"),
    ("Andorra shipping costs for a large parcel please", "en"),
    ("Yarın İstanbul'a kargo gönderiyor musunuz lütfen?", "tr"),
    ("¿Cómo puedo cambiar la dirección de envío de mi pedido?", "es"),
])
def test_a_new_full_question_stands_alone(text: str, lang: str) -> None:
    assert not may_follow_up(text, lang)


def test_short_messages_may_lean_on_the_last_question() -> None:
    assert may_follow_up("on Sundays?", "en") and not starts_with_cue("on Sundays?", "en")


def test_the_reading_that_decides_better_wins() -> None:
    def decision(action: str, score: float) -> Decision:
        return Decision(action, "a" if action == ANSWER else None, (ArticleScore("a", score, "question", "en"),), "x")

    assert reads_better(decision(ANSWER, 0.3), decision(CLARIFY, 0.5))
    assert reads_better(decision(CLARIFY, 0.2), decision(HANDOFF, 0.1))
    assert not reads_better(decision(ANSWER, 0.3), decision(ANSWER, 0.4))
    assert joined("When are you open?", "and on Saturday?") == "When are you open? and on Saturday?"


def _engine_reading(monkeypatch: pytest.MonkeyPatch, text: str) -> Decision:
    """The engine's follow-up step, its search replaced: alone the message answers "chat-history"
    confidently; read with "how fast do you answer e-mails?" it answers "response-times"."""
    from bot.answer.decision import Thresholds, decide
    from bot.answer.engine import Engine, Inbound

    engine = Engine.__new__(Engine)
    monkeypatch.setattr(engine, "thresholds", lambda snapshot: Thresholds(answer=0.3, handoff=0.1, margin=0.02), raising=False)
    together = [ArticleScore("response-times", 0.35, "question", "en"), ArticleScore("chat-history", 0.2, "question", "en")]
    monkeypatch.setattr(engine, "search", lambda snapshot, text, lang, k=3: together, raising=False)
    alone = decide([ArticleScore("chat-history", 0.5, "question", "en")], Thresholds(answer=0.3, handoff=0.1, margin=0.02))
    message = Inbound(text, history_texts=("How fast do you answer e-mails?",))
    return engine._with_context(None, message, "en", alone)


def test_a_continuation_leans_on_the_last_question_even_when_it_answers_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    decision = _engine_reading(monkeypatch, "and in the chat?")
    assert (decision.article_id, decision.read_with) == ("response-times", "How fast do you answer e-mails?")


def test_a_message_that_answers_alone_without_a_cue_keeps_its_own_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    decision = _engine_reading(monkeypatch, "Can I delete my chat history?")
    assert (decision.article_id, decision.read_with) == ("chat-history", None)
