"""Markdown to Telegram HTML, and splitting at 4,096 characters."""

from __future__ import annotations

from channels.telegram.render import parse_button, split_text, to_html, utf16_len


def test_everything_is_escaped_and_only_balanced_markdown_becomes_tags() -> None:
    text = "## Limits & fees\n1 < 2, **bold** and *stray and **unbalanced\n[docs](https://e.com/?a=1&b=\"x\") [bad](javascript:alert(1))"
    assert to_html(text) == (
        "<b>Limits &amp; fees</b>\n1 &lt; 2, <b>bold</b> and *stray and **unbalanced\n"
        '<a href="https://e.com/?a=1&amp;b=&quot;x&quot;">docs</a> [bad](javascript:alert(1))'
    )


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
    assert button is not None and (button.kind, button.message_id, button.arg) == ("ch", 123456789012, "9")
    assert parse_button("evil:data") is None
