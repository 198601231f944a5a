"""Markdown to Telegram HTML, splitting at 4,096 characters, and the full article's line under an answer."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from bot.answer.articles import ArticleLink
from bot.answer.engine import Engine
from bot.desk.buttons import ButtonKind
from bot.store.model import Conversation, Message
from channels.telegram.render import MESSAGE_LIMIT, customer_messages, parse_button, split_text, to_html, utf16_len
from tests.channels.telegram.conftest import Rig


def test_everything_is_escaped_and_only_balanced_markdown_becomes_tags() -> None:
    text = "## Limits & fees\n1 < 2, **bold** and *stray and **unbalanced\n[docs](https://e.com/?a=1&b=\"x\") [bad](javascript:alert(1))"
    assert to_html(text) == (
        "<b>Limits &amp; fees</b>\n1 &lt; 2, <b>bold</b> and *stray and **unbalanced\n"
        '<a href="https://e.com/?a=1&amp;b=%22x%22">docs</a> [bad](javascript:alert(1))'
    )  # a quote is no URL character (RFC 3986): percent-encoded, the same href as the help-center page's


def test_long_text_splits_on_paragraphs_then_lines_then_spaces() -> None:
    paragraphs = ["a" * 3000, "b" * 3000, "c" * 3000]
    assert split_text("\n\n".join(paragraphs)) == paragraphs
    lines = "\n".join(["x" * 100] * 50)  # one paragraph of 5,050 characters
    assert [len(p) for p in split_text(lines)] == [4039, 1009]  # 40 whole lines, then 10
    words = "word " * 2000
    pieces = split_text(words)
    assert all(utf16_len(p) <= 4096 for p in pieces) and all(not p.startswith(" ") and "word" in p for p in pieces)
    assert [len(p) for p in split_text("y" * 9000)] == [4096, 4096, 808]


def test_the_limit_counts_utf16_units() -> None:
    pieces = split_text("😀" * 3000)  # two units each
    assert [utf16_len(p) for p in pieces] == [4096, 1904]


def test_button_data_fits_telegrams_64_bytes_and_parses_back() -> None:
    data = f"ch:{'f' * 32}:123456789012:9"
    assert len(data.encode()) <= 64
    button = parse_button(data)
    assert button is not None and (button.kind, button.message_id, button.value) == (ButtonKind.CHOOSE, 123456789012, "9")
    assert parse_button("evil:data") is None


# -- the full article's line under an answer ----------------------------------------------------
NOW = datetime(2026, 1, 7, 10, 0, tzinfo=timezone.utc)
LINK = ArticleLink("Using the mobile app", "2026-01-05", "https://help.example.com/articles/en/mobile-app?a=1&b=2")


def answer_calls(lang: str = "en", link: ArticleLink | None = LINK, text: str = "## Working offline\n\nThe app keeps your last 50 orders.") -> list[dict[str, Any]]:
    conversation = Conversation("c1", "telegram", "501", lang, "bot", None, None, NOW, NOW, None, None)
    return customer_messages(conversation, Message(7, "c1", "bot", text, NOW, lang, "answer", "mobile-app"), link=link)


def test_an_answer_ends_with_a_link_to_the_full_article_then_the_question() -> None:
    [call] = answer_calls()
    assert call["text"] == (
        "<b>Working offline</b>\n\nThe app keeps your last 50 orders.\n\n"
        'Full article: <a href="https://help.example.com/articles/en/mobile-app?a=1&amp;b=2">Using the mobile app</a> · updated 2026-01-05'
        "\n\n<i>Did this answer your question?</i>"
    )


def test_without_a_url_the_line_names_the_article_in_the_customers_language() -> None:
    [call] = answer_calls("ar", ArticleLink("الاسترداد <والإرجاع>", "2026-01-05", ""))
    assert "\n\nالمقالة كاملة: <b>الاسترداد &lt;والإرجاع&gt;</b> · آخر تحديث 2026-01-05\n\n" in call["text"]
    assert "<a " not in call["text"]
    [plain] = answer_calls(link=None)
    assert "Full article" not in plain["text"]


def test_a_long_answer_keeps_the_line_and_the_question_within_the_limit() -> None:
    calls = answer_calls(text="word " * 1700)
    assert len(calls) == 3 and all(utf16_len(c["text"]) <= MESSAGE_LIMIT for c in calls)
    assert "Full article:" in calls[-1]["text"] and "Full article:" not in calls[0]["text"]


def test_a_telegram_answer_links_the_article_at_the_public_url(make_rig: Callable[..., Rig], telegram_engine: Engine) -> None:
    public = Engine(replace(telegram_engine.settings, public_url="https://example.com/help"), telegram_engine.encoders, telegram_engine.index)
    rig = make_rig(engine=public)
    rig.say(511, "how much is delivery")
    [reply] = rig.fake.wait_sent(chat_id=511)
    assert re.search(r'\n\nFull article: <a href="https://example\.com/help/articles/en/shipping">Shipping times and costs</a> · updated \d{4}-\d\d-\d\d\n\n', reply.args["text"])


def test_without_a_public_url_the_telegram_answer_names_the_article(rig: Rig) -> None:
    rig.say(512, "أريد استرداد أموالي", lang="ar")
    [reply] = rig.fake.wait_sent(chat_id=512)
    assert re.search(r"\n\nالمقالة كاملة: <b>الاسترداد والإرجاع</b> · آخر تحديث \d{4}-\d\d-\d\d\n\n", reply.args["text"])
