from bot.answer.decision import ANSWER, CLARIFY, HANDOFF, Thresholds, decide, hand_off_requested
from index.search import ArticleScore

T = Thresholds(answer=0.6, handoff=0.4, margin=0.05)


def scores(*pairs: tuple[str, float]) -> list[ArticleScore]:
    return [ArticleScore(a, s, "question", "en") for a, s in pairs]


def test_clear_best_is_answered() -> None:
    d = decide(scores(("a", 0.8), ("b", 0.6)), T)
    assert (d.action, d.article_id, d.reason) == (ANSWER, "a", "confident")


def test_close_rivals_become_choices() -> None:
    d = decide(scores(("a", 0.8), ("b", 0.77), ("c", 0.76), ("d", 0.75)), T)
    assert d.action == CLARIFY and d.choices == ("a", "b", "c")


def test_rival_below_handoff_is_not_offered() -> None:
    d = decide(scores(("a", 0.42), ("b", 0.39)), T)
    assert d.action == CLARIFY and d.choices == ("a",) and d.reason == "low_confidence"


def test_between_thresholds_asks_did_you_mean() -> None:
    d = decide(scores(("a", 0.5), ("b", 0.3)), T)
    assert d.action == CLARIFY and d.choices == ("a",)


def test_below_handoff_hands_off_with_evidence() -> None:
    d = decide(scores(("a", 0.3), ("b", 0.2)), T)
    assert d.action == HANDOFF and d.reason == "not_covered" and d.candidates[0].article_id == "a"


def test_nothing_found_hands_off() -> None:
    assert decide([], T).action == HANDOFF


def test_requested_handoff_keeps_candidates() -> None:
    d = hand_off_requested(scores(("a", 0.9)))
    assert d.action == HANDOFF and d.reason == "asked_for_person" and d.candidates[0].article_id == "a"
