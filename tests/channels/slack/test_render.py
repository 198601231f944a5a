"""Slack answers end with a line to the full article: linked at ANSWERDESK_PUBLIC_URL, else named."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone

from bot.answer.articles import ArticleLink
from bot.answer.engine import Engine
from bot.store.model import Conversation, Message
from channels.slack.render import customer_message
from tests.channels.slack.conftest import Rig

NOW = datetime(2026, 1, 7, 10, 0, tzinfo=timezone.utc)
LINK = ArticleLink("Using the mobile app", "2026-01-05", "https://help.example.com/articles/en/mobile-app")


def conversation(lang: str = "en") -> Conversation:
    return Conversation("c1", "slack", "T1:DU1:U1", lang, "bot", None, None, NOW, NOW, None, None)


def answer(text: str = "## Working offline\n\nThe app keeps your last 50 orders.", lang: str = "en") -> Message:
    return Message(7, "c1", "bot", text, NOW, lang, "answer", "mobile-app")


def sections(blocks: list[dict]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def test_an_answer_ends_with_a_link_to_the_full_article() -> None:
    text, blocks = customer_message(conversation(), answer(), link=LINK)
    line = "Full article: <https://help.example.com/articles/en/mobile-app|Using the mobile app> · updated 2026-01-05"
    assert sections(blocks) == ["*Working offline*\n\nThe app keeps your last 50 orders.", line, "Did this answer your question?"]
    assert text.endswith("\n\nFull article: Using the mobile app · updated 2026-01-05")  # notifications name it too


def test_without_a_url_the_line_names_the_article_and_escapes_it() -> None:
    _, blocks = customer_message(conversation(), answer(), link=ArticleLink("Fees <& limits>", "", ""))
    assert sections(blocks)[1] == "Full article: *Fees &lt;&amp; limits&gt;*"  # no date known: none shown


def test_the_line_is_in_the_customers_language() -> None:
    _, blocks = customer_message(conversation("tr"), answer(lang="tr"), link=LINK)
    assert sections(blocks)[1].startswith("Makalenin tamamı: <https://help.example.com/") and "güncellendi: 2026-01-05" in sections(blocks)[1]


def test_no_link_no_line() -> None:
    text, blocks = customer_message(conversation(), answer())
    assert "Full article" not in text and not any("Full article" in s for s in sections(blocks))


def test_a_slack_answer_links_the_article_at_the_public_url(make_rig: Callable[..., Rig], slack_engine: Engine) -> None:
    public = Engine(replace(slack_engine.settings, public_url="https://help.example.com/"), slack_engine.encoders, slack_engine.index)
    rig = make_rig(engine=public)
    _, ts = rig.dm("U0JOHN", "how much is delivery")
    [reply] = rig.fake.wait_sent(channel="DU0JOHN", thread_ts=ts)
    line = sections(reply.args["blocks"])[1]
    assert re.fullmatch(r"Full article: <https://help\.example\.com/articles/en/shipping\|Shipping times and costs> · updated \d{4}-\d\d-\d\d", line)


def test_without_a_public_url_the_slack_answer_names_the_article(rig: Rig) -> None:
    _, ts = rig.dm("U0AYSE", "Şifremi unuttum")
    [reply] = rig.fake.wait_sent(channel="DU0AYSE", thread_ts=ts)
    assert re.fullmatch(r"Makalenin tamamı: \*Şifrenizi nasıl sıfırlarsınız\* · güncellendi: \d{4}-\d\d-\d\d", sections(reply.args["blocks"])[1])
    handoff_ts = rig.dm("U0AYSE", "temsilciye bağla")[1]
    [handoff] = rig.fake.wait_sent(channel="DU0AYSE", thread_ts=handoff_ts)
    assert "Makalenin tamamı" not in handoff.args["text"]  # only answers carry the line
