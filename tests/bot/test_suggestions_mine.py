"""Suggestions from a period's traffic: picked, agent, better, confirmed and gap, scrubbed, merged and counted."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime, timedelta, timezone
from typing import Any

from bot.store.model import Choice, Conversation, Feedback, Message
from bot.suggestions.kbview import KBView
from bot.suggestions.mine import CLOSE_CALL, MAX_DRAFT_QUESTIONS, mine, missing_translations
from bot.suggestions.model import AGENT, BETTER, CONFIRMED, DRAFT, GAP, NOTE, PICKED, QUESTION, Suggestion, normalise, suggestion_id
from index.kb import Article, KnowledgeBase
from tests.bot.test_gaps import TopicEncoder

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)
KB = KBView.from_kb(KnowledgeBase((
    Article("reset-password", "en", "How to reset your password", "...", ("I forgot my password", "can't log in, password lost")),
    Article("reset-password", "tr", "Şifrenizi nasıl sıfırlarsınız", "...", ("Şifremi unuttum",)),
    Article("refund", "en", "Refunds and returns", "...", ("How do I get my money back?",)),
    Article("shipping", "en", "Shipping times and costs", "..."),
    Article("shipping", "es", "Plazos y costes de envío", "..."),
    Article("delete-account", "en", "Deleting your account", "..."),
)))
TITLES = {"reset-password": "How to reset your password", "refund": "Refunds and returns", "shipping": "Shipping times and costs", "delete-account": "Deleting your account"}


class Traffic:
    """Conversations, messages and feedback, stored as the desk stores them."""

    def __init__(self) -> None:
        self.conversations: list[Conversation] = []
        self.messages: list[Message] = []
        self.feedback: list[Feedback] = []

    def talk(self, conversation_id: str, channel: str = "web", lang: str = "en") -> str:
        self.conversations.append(Conversation(conversation_id, channel, "u", lang, "closed", None, None, T0, T0, None, None))
        return conversation_id

    def add(self, conversation_id: str, author: str, text: str = "...", **fields: Any) -> Message:
        m = Message(len(self.messages) + 1, conversation_id, author, text, T0 + timedelta(minutes=len(self.messages)), **fields)  # type: ignore[arg-type]
        self.messages.append(m)
        return m

    def ask(self, conversation_id: str, text: str) -> Message:
        return self.add(conversation_id, "customer", text, external_id=f"x{len(self.messages) + 1}")

    def bot(self, conversation_id: str, action: str, reason: str, question: Message | None, lang: str = "en", article: str | None = None,
            candidates: tuple[str, ...] = (), choices: tuple[str, ...] = ()) -> Message:
        decision: dict[str, Any] = {"action": action, "reason": reason, "candidates": [{"id": a, "score": 0.1, "kind": "question", "lang": "en"} for a in candidates],
                                    "lang": {"lang": lang, "confidence": 0.9, "source": "detected"}}
        if question is not None:
            decision["answers"] = question.id
        return self.add(conversation_id, "bot", "...", lang=lang, action=action, article_id=article, decision=decision,
                        choices=tuple(Choice(a, TITLES.get(a, a)) for a in choices))

    def clarify(self, conversation_id: str, question: Message, *articles: str, lang: str = "en") -> Message:
        return self.bot(conversation_id, "clarify", "close_candidates", question, lang, candidates=articles, choices=articles)

    def pick(self, conversation_id: str, article: str, lang: str = "en") -> Message:
        """Desk.choose: the title as the customer's message, then the bot's answer."""
        self.add(conversation_id, "customer", TITLES.get(article, article), lang=lang)
        return self.add(conversation_id, "bot", "...", lang=lang, action="answer", article_id=article,
                        decision={"action": "answer", "reason": "chosen", "candidates": [{"id": article}]})

    def rate(self, answer: Message, helpful: bool) -> None:
        self.feedback.append(Feedback(len(self.feedback) + 1, answer.conversation_id, answer.id, helpful, None, answer.created_at))

    def agent(self, conversation_id: str, text: str, article: str | None = None) -> Message:
        return self.add(conversation_id, "agent", text, article_id=article, agent="a1")

    def mine(self, **options: Any) -> list[Suggestion]:
        return mine(self.conversations, self.messages, self.feedback, KB, **options)


def one(found: list[Suggestion], kind: str = QUESTION) -> Suggestion:
    matching = [s for s in found if s.kind == kind]
    assert len(matching) == 1, found
    return matching[0]


def test_kb_view_reads_every_version() -> None:
    assert KB.has("refund") and not KB.has("gift-cards")
    assert KB.languages("reset-password") == {"en", "tr"} and KB.languages("gift-cards") == frozenset()
    assert KB.title("shipping", "es") == "Plazos y costes de envío" and KB.title("refund", "tr") is None
    assert KB.questions("refund", "en") == {"refunds and returns", "how do i get my money back"}
    assert KB.questions("refund", "es") == frozenset()


def test_a_pick_from_the_choices_suggests_the_question_the_choices_answered() -> None:
    t = Traffic()
    c = t.talk("c1", channel="telegram")
    q = t.ask(c, "I can't get into my account")
    t.clarify(c, q, "reset-password", "delete-account")
    t.pick(c, "reset-password")
    s = one(t.mine())
    assert (s.kind, s.article_id, s.lang, s.text, s.source, s.missing_language) == (QUESTION, "reset-password", "en", "I can't get into my account", PICKED, False)
    assert s.id == suggestion_id(QUESTION, "reset-password", "en", "I can't get into my account")
    assert [(e.conversation_id, e.message_id, e.at, e.channel) for e in s.evidence] == [("c1", q.id, q.created_at, "telegram")]


def test_a_pick_rated_not_helpful_suggests_nothing() -> None:
    t = Traffic()
    q = t.ask(t.talk("c1"), "I can't get into my account")
    t.clarify("c1", q, "reset-password", "delete-account")
    t.rate(t.pick("c1", "reset-password"), helpful=False)
    assert t.mine() == []
    t.rate(t.messages[-1], helpful=True)  # changed their mind: the last rating counts
    assert one(t.mine()).source == PICKED


def _answered(t: Traffic, conversation_id: str, text: str, article: str, runner_up: str, gap: float) -> Message:
    """The bot answered `text` with `article` directly, `runner_up` scoring `gap` below it."""
    q = t.ask(t.talk(conversation_id), text)
    candidates = [{"id": article, "score": 0.7, "kind": "passage", "lang": "en"}, {"id": runner_up, "score": 0.7 - gap, "kind": "title", "lang": "en"}]
    return t.add(conversation_id, "bot", "...", lang="en", action="answer", article_id=article,
                 decision={"action": "answer", "reason": "confident", "candidates": candidates, "answers": q.id})


def test_a_close_call_rated_helpful_is_confirmed_and_a_clear_answer_is_no_news() -> None:
    t = Traffic()
    t.rate(_answered(t, "c1", "my parcel is late, where is it", "shipping", "refund", CLOSE_CALL / 2), helpful=True)
    t.rate(_answered(t, "c2", "how long does delivery take", "shipping", "refund", CLOSE_CALL * 2), helpful=True)
    _answered(t, "c3", "parcel not here yet", "shipping", "refund", CLOSE_CALL / 2)  # not rated: nobody confirmed it
    s = one(t.mine())
    assert (s.article_id, s.text, s.source, s.count) == ("shipping", "my parcel is late, where is it", CONFIRMED, 1)

    t.rate(t.messages[1], helpful=False)  # changed their mind: the last rating counts
    assert [s for s in t.mine() if s.source == CONFIRMED] == []


def test_a_confirmed_question_merges_with_a_pick_of_the_same_and_shows_the_pick() -> None:
    t = Traffic()
    t.rate(_answered(t, "c1", "where is my parcel", "shipping", "refund", 0.01), helpful=True)
    q = t.ask(t.talk("c2"), "where is my parcel")
    t.clarify("c2", q, "shipping", "refund")
    t.pick("c2", "shipping")
    s = one(t.mine())
    assert (s.source, s.count) == (PICKED, 2)


def test_an_agent_article_after_a_handoff_suggests_the_question_that_led_there() -> None:
    t = Traffic()
    q = t.ask(t.talk("c1"), "the parcel came broken, what now")
    t.bot("c1", "handoff", "not_covered", q)
    t.add("c1", "bot", "An agent will be with you", action="no_agent_available")
    t.agent("c1", "Sorry! See https://help.example.com/articles/en/refund and https://help.example.com/articles/en/shipping")
    t.agent("c1", "Also this one", article="delete-account")  # only the first agent message with an article counts
    found = t.mine()
    assert {(s.article_id, s.text, s.source) for s in found} == {
        ("refund", "the parcel came broken, what now", AGENT), ("shipping", "the parcel came broken, what now", AGENT)}

    t = Traffic()  # the console's picker: the agent message carries article_id; a handoff without `answers`
    t.ask(t.talk("c2"), "paketim hasarlı geldi")
    t.add("c2", "bot", "...", lang="tr", action="handoff", decision={"action": "handoff", "reason": "not_covered", "candidates": []})
    t.agent("c2", "Buyrun", article="refund")
    s = one(t.mine())
    assert (s.article_id, s.lang, s.text, s.missing_language) == ("refund", "tr", "paketim hasarlı geldi", True)


def test_an_agent_article_after_the_bot_answered_again_is_not_the_handoffs() -> None:
    t = Traffic()
    q = t.ask(t.talk("c1"), "the parcel came broken, what now")
    t.bot("c1", "handoff", "not_covered", q)
    q2 = t.ask("c1", "how long does shipping take")  # missed: the bot keeps answering
    t.bot("c1", "answer", "confident", q2, article="shipping")
    t.agent("c1", "see /articles/en/refund")
    assert t.mine() == []


def test_for_a_person_request_the_question_is_what_they_needed() -> None:
    t = Traffic()
    q = t.ask(t.talk("c1"), "the parcel came broken, what now")
    t.bot("c1", "answer", "confident", q, article="shipping")
    ask = t.ask("c1", "I want to talk to a person")
    t.bot("c1", "handoff", "asked_for_person", ask)
    t.agent("c1", "Here you go", article="refund")
    assert [(s.article_id, s.text) for s in t.mine()] == [("refund", "the parcel came broken, what now")]

    t = Traffic()  # the button first, the question after it
    t.talk("c2")
    t.add("c2", "bot", "...", lang="en", action="handoff_requested")
    t.ask("c2", "how do I send shoes back")
    t.agent("c2", "Here you go", article="refund")
    assert [(s.article_id, s.text, s.source) for s in t.mine()] == [("refund", "how do I send shoes back", AGENT)]

    t = Traffic()  # nothing but "a person, please": no question to suggest
    ask = t.ask(t.talk("c3"), "I want to talk to a person")
    t.bot("c3", "handoff", "asked_for_person", ask)
    t.agent("c3", "Hi! Maybe this?", article="refund")
    assert t.mine() == []


def test_an_unhelpful_answer_then_an_agents_article_is_a_better_one_and_a_note() -> None:
    t = Traffic()
    q = t.ask(t.talk("c1"), "my package arrived damaged")
    answer = t.bot("c1", "answer", "confident", q, article="shipping")
    t.rate(answer, helpful=False)
    t.add("c1", "bot", "...", lang="en", action="handoff_after_negative_feedback")
    t.agent("c1", "Sorry about that", article="refund")
    found = t.mine()
    better, note = one(found, QUESTION), one(found, NOTE)
    assert (better.article_id, better.text, better.source, better.instead_of) == ("refund", "my package arrived damaged", BETTER, "shipping")
    assert (note.article_id, note.text, note.source) == ("shipping", "my package arrived damaged", BETTER)
    assert note.evidence == better.evidence and note.evidence[0].message_id == q.id


def test_an_unhelpful_answer_then_a_pick_is_a_better_one() -> None:
    t = Traffic()
    q = t.ask(t.talk("c1"), "my package arrived damaged")
    t.rate(t.bot("c1", "answer", "confident", q, article="shipping"), helpful=False)
    q2 = t.ask("c1", "damaged item, money back?")  # missed: the bot keeps answering
    t.clarify("c1", q2, "refund", "delete-account")
    t.pick("c1", "refund")
    got = {(s.kind, s.article_id, s.text, s.source, s.instead_of) for s in t.mine()}
    assert got == {
        (QUESTION, "refund", "my package arrived damaged", BETTER, "shipping"),
        (NOTE, "shipping", "my package arrived damaged", BETTER, None),
        (QUESTION, "refund", "damaged item, money back?", PICKED, None),
    }


def test_an_agent_giving_the_same_article_again_is_no_better_one() -> None:
    t = Traffic()
    q = t.ask(t.talk("c1"), "my package arrived damaged")
    t.rate(t.bot("c1", "answer", "confident", q, article="refund"), helpful=False)
    t.add("c1", "bot", "...", lang="en", action="handoff_after_negative_feedback")
    t.agent("c1", "It is this one, section 2", article="refund")
    assert t.mine() == []


def test_a_question_the_article_already_lists_is_not_suggested() -> None:
    t = Traffic()
    for c, text, lang, article in (("c1", "I forgot my password!", "en", "reset-password"), ("c2", "how to RESET your password", "en", "reset-password"),
                                   ("c3", "şifremi unuttum", "tr", "reset-password")):
        q = t.ask(t.talk(c, lang=lang), text)
        t.clarify(c, q, article, "delete-account", lang=lang)
        t.pick(c, article, lang=lang)
    assert t.mine() == []
    q = t.ask(t.talk("c4", lang="tr"), "I forgot my password")  # listed in English, asked in a Turkish conversation: the tr version lacks it
    t.clarify("c4", q, "reset-password", lang="tr")
    t.pick("c4", "reset-password", lang="tr")
    assert [(s.lang, s.text) for s in t.mine()] == [("tr", "I forgot my password")]


def test_personal_data_never_reaches_a_suggestion() -> None:
    t = Traffic()
    q = t.ask(t.talk("c1"), "I'm jo.doe@example.com and my order #12345678 never came, call +90 532 123 45 67")
    t.bot("c1", "handoff", "not_covered", q)
    t.agent("c1", "see", article="shipping")
    only_data = t.ask(t.talk("c2"), "jo.doe@example.com 0532 123 45 67")
    t.bot("c2", "handoff", "not_covered", only_data)
    t.agent("c2", "see", article="shipping")
    found = t.mine(encoder=TopicEncoder(), min_draft_customers=1)
    s = one(found)
    assert s.text == "I'm [email] and my order [number] never came, call [phone]"
    for leaked in ("jo.doe", "example.com", "12345678", "532"):
        assert all(leaked not in str(getattr(x, f.name)) for x in found for f in fields(x)), leaked


def test_missing_language_and_the_translations_that_would_have_answered() -> None:
    t = Traffic()
    for c, text, lang, article in (("c1", "¿cómo me devuelven el dinero?", "es", "refund"), ("c2", "quiero un reembolso", "es", "refund"),
                                   ("c3", "كيف أسترد أموالي", "ar", "refund"), ("c4", "¿cuánto tarda el envío?", "es", "shipping"),
                                   ("c5", "quiero un reembolso", "es", "refund")):
        q = t.ask(t.talk(c, lang=lang), text)
        t.clarify(c, q, article, "delete-account", lang=lang)
        t.pick(c, article, lang=lang)
    found = t.mine()
    assert {(s.article_id, s.lang, s.missing_language) for s in found} == {("refund", "es", True), ("refund", "ar", True), ("shipping", "es", False)}
    assert missing_translations(found) == [("refund", "es", 3), ("refund", "ar", 1)]
    assert missing_translations([]) == []


def test_the_same_suggestion_merges_and_the_most_asked_comes_first() -> None:
    t = Traffic()
    for c, text in (("c1", "Where is my money?"), ("c2", "where is my money"), ("c3", "cancel my account")):
        q = t.ask(t.talk(c), text)
        t.clarify(c, q, "refund" if "money" in text else "delete-account", "shipping")
        t.pick(c, "refund" if "money" in text else "delete-account")
    q = t.ask("c1", "where is my MONEY")  # the same customer again: one customer
    t.clarify("c1", q, "refund", "shipping")
    t.pick("c1", "refund")
    q = t.ask(t.talk("c4"), "delete me")  # later than "cancel my account": first of the ones asked once
    t.clarify("c4", q, "delete-account", "shipping")
    t.pick("c4", "delete-account")
    found = t.mine()
    assert [(s.text, s.count, len(s.evidence)) for s in found] == [("Where is my money?", 2, 3), ("delete me", 1, 1), ("cancel my account", 1, 1)]
    assert found[0].last_asked == q.created_at - timedelta(minutes=4)
    assert [e.conversation_id for e in found[0].evidence] == ["c1", "c2", "c1"]  # by when asked


def test_an_article_that_is_gone_gets_nothing() -> None:
    t = Traffic()
    q = t.ask(t.talk("c1"), "do you sell gift cards")
    t.bot("c1", "handoff", "not_covered", q)
    t.agent("c1", "We used to: /articles/en/gift-cards")
    assert t.mine() == []


def gap_traffic() -> Traffic:
    t = Traffic()
    asked = (("c1", "Do you sell gift cards?", "en"), ("c2", "do you sell gift cards", "en"), ("c3", "Hediye kartı var mı?", "tr"),
             ("c4", "gift card for my friend ann@example.com", "en"), ("c5", "Is there a student discount?", "en"),
             ("c6", "what's the weather like", "en"))
    for c, text, lang in asked:
        q = t.ask(t.talk(c, lang=lang), text)
        t.bot(c, "handoff", "not_covered", q, lang=lang)
    return t


def test_groups_of_true_gaps_become_drafts() -> None:
    t = gap_traffic()
    assert t.mine() == []  # no encoder: no drafts
    found = t.mine(encoder=TopicEncoder())
    draft = one(found, DRAFT)
    assert (draft.article_id, draft.lang, draft.source, draft.count) == (None, "en", GAP, 4)
    assert draft.text in draft.questions and draft.text == draft.questions[0]
    # "Do you sell gift cards?" and "do you sell gift cards" are one question
    assert sorted(map(normalise, draft.questions)) == ["do you sell gift cards", "gift card for my friend email", "hediye kartı var mı"]
    assert [e.conversation_id for e in draft.evidence] == ["c1", "c2", "c3", "c4"]
    assert draft.id == suggestion_id(DRAFT, None, "en", draft.text)
    assert len(t.mine(encoder=TopicEncoder(), min_draft_customers=1)) == 3  # student and weather, asked once each
    assert t.mine(encoder=TopicEncoder(), min_draft_customers=5) == []


def test_a_draft_lists_at_most_ten_questions() -> None:
    t = Traffic()
    for i in range(14):
        q = t.ask(t.talk(f"c{i}"), f"gift card question number {'abcdefghijklmn'[i]}")
        t.bot(f"c{i}", "handoff", "not_covered", q)
    draft = one(t.mine(encoder=TopicEncoder()), DRAFT)
    assert len(draft.questions) == MAX_DRAFT_QUESTIONS and draft.count == 14 and len(draft.evidence) == 14


def test_a_near_miss_is_no_draft_but_an_agent_suggestion() -> None:
    t = Traffic()
    for c in ("c1", "c2"):
        q = t.ask(t.talk(c), f"gift card refund please ({c})")
        t.bot(c, "handoff", "not_covered", q, candidates=("refund",))
        t.agent(c, "here: /articles/en/refund")
    found = t.mine(encoder=TopicEncoder())
    assert {(s.kind, s.source) for s in found} == {(QUESTION, AGENT)} and len(found) == 2


def test_drafts_with_the_real_encoder_group_across_languages(use_encoder: Any) -> None:
    t = Traffic()
    asked = (("c1", "Do you sell gift cards?", "en"), ("c2", "Can I buy a gift card for a friend?", "en"), ("c3", "Hediye kartı satıyor musunuz?", "tr"),
             ("c4", "هل تبيعون بطاقات الهدايا؟", "ar"), ("c5", "Is there a discount for students?", "en"), ("c6", "Öğrenci indirimi var mı?", "tr"))
    for c, text, lang in asked:
        q = t.ask(t.talk(c, lang=lang), text)
        t.bot(c, "handoff", "not_covered", q, lang=lang)
    drafts = [s for s in t.mine(encoder=use_encoder) if s.kind == DRAFT]
    assert [(d.count, d.lang) for d in drafts] == [(4, "en"), (2, "en")], [(d.text, d.questions) for d in drafts]
    assert set(drafts[0].questions) == {text for c, text, _ in asked[:4]}


def test_the_note_stands_when_the_better_article_already_lists_the_question() -> None:
    t = Traffic()
    q = t.ask(t.talk("c1"), "How do I get my money back?")
    t.rate(t.bot("c1", "answer", "confident", q, article="shipping"), helpful=False)
    t.add("c1", "bot", "...", lang="en", action="handoff_after_negative_feedback")
    t.agent("c1", "This one", article="refund")
    assert [(s.kind, s.article_id, s.text) for s in t.mine()] == [(NOTE, "shipping", "How do I get my money back?")]
