"""Multi-turn conversations through the web API: a follow-up is read with the question before it."""

from __future__ import annotations

import pytest

from tests.channels.web.conftest import Web, say, start

# (language, first question, follow-up): the follow-up alone names no topic of the KB.
CONVERSATIONS = [
    ("en", "When are you open?", "and on Saturday?"),
    ("tr", "Ne zaman açıksınız?", "peki cumartesi?"),
    ("ar", "متى تفتحون؟", "وماذا عن يوم السبت؟"),
    ("es", "¿A qué hora abren?", "¿y el sábado?"),
]


@pytest.mark.parametrize(("lang", "first", "follow_up"), CONVERSATIONS)
def test_a_follow_up_is_answered_from_the_same_article(web: Web, lang: str, first: str, follow_up: str) -> None:
    client = web.client()
    conversation = start(client, lang)["id"]
    opened = say(client, conversation, first)
    assert [r["article_id"] for r in opened["replies"]] == ["opening-hours"]
    turn = say(client, conversation, follow_up)
    assert turn["replies"][0]["action"] == "answer" and turn["replies"][0]["article_id"] == "opening-hours"
    evidence = web.desk.store.list_messages(conversation)[-1].decision
    assert evidence["read_with"] == first  # it was understood with the question before it
    assert evidence["lang"]["lang"] == lang


@pytest.mark.parametrize(("lang", "first", "new_topic", "article"), [
    ("en", "When are you open?", "How much does delivery cost?", "shipping"),
    ("tr", "Ne zaman açıksınız?", "Şifremi unuttum, ne yapmalıyım?", "reset-password"),
    ("ar", "متى تفتحون؟", "أريد استرداد أموالي", "refund"),
    ("es", "¿A qué hora abren?", "¿Cómo elimino mi cuenta?", "delete-account"),
])
def test_a_new_topic_is_not_glued_to_the_old_one(web: Web, lang: str, first: str, new_topic: str, article: str) -> None:
    client = web.client()
    conversation = start(client, lang)["id"]
    say(client, conversation, first)
    turn = say(client, conversation, new_topic)
    assert turn["replies"][0]["article_id"] == article
    assert "read_with" not in web.desk.store.list_messages(conversation)[-1].decision
