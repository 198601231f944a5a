"""Telegram payloads out: stored messages as HTML-parse-mode texts of at most 4,096 characters, with inline keyboards.

Markdown is read by index/markdown.py and written as <b>, <i>, <s>, <code>, <pre> and <a href>
(http, https, mailto and tg links only); all its text is escaped, so a KB's stray `<`, `&` or
`*` is shown as written and never makes Telegram refuse the message. Long texts are split on
paragraphs, then lines, then spaces; each piece is rendered on its own, so no tag spans two
messages. Button data ("<kind>:<conversation id>:<message id>[:<arg>]") stays under Telegram's
64 bytes and lets a click find its conversation without a lookup table.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

from bot.actions import Action
from bot.answer.articles import ArticleLink
from bot.answer.phrases import phrase
from bot.desk.buttons import Button, ButtonKind
from bot.store.model import Conversation, Message
from index import markdown

MESSAGE_LIMIT = 4096  # characters after entity parsing, counted in UTF-16 code units
BUTTON_CHARACTERS = 60
CHOOSE, NONE_OF_THESE, HELPFUL, CSAT = "ch", "no", "fb", "cs"
_KINDS = {CHOOSE: ButtonKind.CHOOSE, NONE_OF_THESE: ButtonKind.PERSON, HELPFUL: ButtonKind.HELPFUL, CSAT: ButtonKind.CSAT}
_ANSWERS = {"y": "yes", "n": "no"}

_TAGS = {"bold": "b", "italic": "i", "strike": "s"}
_LINKABLE = re.compile(r"(?:https?://|mailto:|tg://)", re.IGNORECASE)

Keyboard = list[list[dict[str, str]]]


def to_html(text: str) -> str:
    """An article's Markdown (index/markdown.py's reading) as Telegram HTML; all its text escaped."""
    return markdown.lay_out(markdown.read(text), _html_block, "&gt; ")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Pieces of at most `limit` UTF-16 units: whole paragraphs where they fit, else lines, else cut at a space."""
    text = text.strip("\n")
    if utf16_len(text) <= limit:
        return [text] if text else []
    pieces: list[str] = []
    for separator in ("\n\n", "\n"):
        parts = text.split(separator)
        if len(parts) > 1:
            current = ""
            for part in parts:
                joined = f"{current}{separator}{part}" if current else part
                if utf16_len(joined) <= limit:
                    current = joined
                    continue
                if current:
                    pieces.append(current)
                if utf16_len(part) <= limit:
                    current = part
                else:
                    pieces += split_text(part, limit)  # a paragraph too long: its lines; a line: its words
                    current = ""
            if current:
                pieces.append(current)
            return [p.strip("\n") for p in pieces if p.strip()]
    return _hard_split(text, limit)


def _hard_split(text: str, limit: int) -> list[str]:
    pieces = []
    rest = text
    while utf16_len(rest) > limit:
        cut, units = 0, 0
        for index, char in enumerate(rest):
            units += 2 if ord(char) > 0xFFFF else 1
            if units > limit:
                cut = index
                break
        space = rest.rfind(" ", 0, cut)
        if space > cut // 2:
            cut = space
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def customer_messages(
    conversation: Conversation, message: Message, agent_name: str | None = None, link: ArticleLink | None = None
) -> list[dict[str, Any]]:
    """sendMessage arguments (without chat_id) for one bot or agent message; `link` (from the desk) and buttons on the last piece."""
    lang = message.lang or conversation.lang
    prefix, suffix = "", ""
    reserved = 0
    if message.author == "agent":
        name = agent_name or "Agent"
        prefix, reserved = f"<b>{html.escape(name, quote=False)}:</b> ", utf16_len(name) + 2
    keyboard = keyboard_for(conversation, message, lang)
    if link is not None:
        plain, formatted = link_line(link, lang)
        suffix += f"\n\n{formatted}"
        reserved += utf16_len(plain) + 2
    if message.author == "bot" and message.action == Action.ANSWER:
        question = phrase("feedback_question", lang)
        suffix += f"\n\n<i>{html.escape(question, quote=False)}</i>"
        reserved += utf16_len(question) + 2
    pieces = split_text(message.text, MESSAGE_LIMIT - reserved) or [" "]
    calls: list[dict[str, Any]] = [
        {"text": to_html(piece), "parse_mode": "HTML", "link_preview_options": {"is_disabled": True}} for piece in pieces
    ]
    calls[0]["text"] = prefix + calls[0]["text"]
    calls[-1]["text"] += suffix
    if keyboard:
        calls[-1]["reply_markup"] = {"inline_keyboard": keyboard}
    return calls


def link_line(link: ArticleLink, lang: str) -> tuple[str, str]:
    """"Full article: <title> · updated <date>" as (plain text, HTML with the title linked when there is a URL)."""
    label = phrase("full_article", lang)
    updated = f" · {phrase('article_updated', lang, date=link.updated)}" if link.updated else ""
    title = html.escape(link.title, quote=False)
    linked = f'<a href="{html.escape(link.url, quote=True)}">{title}</a>' if link.url else f"<b>{title}</b>"
    return f"{label} {link.title}{updated}", f"{html.escape(label, quote=False)} {linked}{html.escape(updated, quote=False)}"


def keyboard_for(conversation: Conversation, message: Message, lang: str) -> Keyboard:
    """The buttons under a bot message: yes/no under an answer, the choices, or 1-5 after a closed conversation."""
    if message.author != "bot":
        return []
    ref = f"{conversation.id}:{message.id}"
    if message.action == Action.ANSWER:
        return [[_button(phrase("feedback_yes", lang), f"{HELPFUL}:{ref}:y"), _button(phrase("feedback_no", lang), f"{HELPFUL}:{ref}:n")]]
    if message.action == Action.CLARIFY and message.choices:
        rows = [[_button(choice.title, f"{CHOOSE}:{ref}:{n}")] for n, choice in enumerate(message.choices[:10])]
        return rows + [[_button(phrase("clarify_none_option", lang), f"{NONE_OF_THESE}:{ref}")]]
    if message.action == Action.CSAT_QUESTION:
        return [[_button(str(score), f"{CSAT}:{ref}:{score}") for score in range(1, 6)]]
    return []


def parse_button(data: str) -> Button | None:
    """The button behind a callback query's data, or None for data this bot never made."""
    parts = data.split(":")
    if len(parts) not in (3, 4) or parts[0] not in _KINDS or not parts[2].isdigit():
        return None
    arg = parts[3] if len(parts) == 4 else ""
    return Button(_KINDS[parts[0]], parts[1], int(parts[2]), _ANSWERS.get(arg, arg) if parts[0] == HELPFUL else arg)


def _button(label: str, data: str) -> dict[str, str]:
    text = label if len(label) <= BUTTON_CHARACTERS else label[: BUTTON_CHARACTERS - 1] + "…"
    return {"text": text, "callback_data": data}


def plain(text: str) -> dict[str, Any]:
    """sendMessage arguments for one of the channel's own short lines (escaped, no buttons)."""
    return {"text": html.escape(text, quote=False), "parse_mode": "HTML"}


def with_chat(calls: Sequence[dict[str, Any]], chat_id: int | str, reply_to: int | None = None) -> list[dict[str, Any]]:
    """The arguments with the chat (and, in a group, the question replied to) filled in."""
    out = []
    for call in calls:
        args = {"chat_id": int(chat_id), **call}
        if reply_to is not None:
            args["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": True}
        out.append(args)
    return out


def _html_block(block: markdown.Block) -> str:
    if block.kind == "heading":
        return f"<b>{inner}</b>" if (inner := _html_spans(block.spans, frozenset({"bold"}))) else ""
    if block.kind == "code":
        return f"<pre>{_escape(block.text)}</pre>"
    if block.kind == "table":
        return "\n".join(" | ".join(_html_spans(cell) for cell in row) for row in block.rows)
    if block.kind == "rule":
        return "---"
    return _html_spans(block.spans)


def _html_spans(spans: markdown.Spans, inside: frozenset[str] = frozenset()) -> str:
    """Tags for formatting, code and links, nested only as Telegram allows: no tag inside the same
    tag or a link inside a link, and code inside nothing (bold and the like hold anything but code)."""
    out = []
    for span in spans:
        if span.kind in _TAGS:
            inner, tag = _html_spans(span.children, inside | {span.kind}), _TAGS[span.kind]
            out.append(inner if span.kind in inside else f"<{tag}>{inner}</{tag}>")
        elif span.kind in ("link", "image"):
            label = _html_spans(span.children, inside | {"link"}) if span.kind == "link" else _escape(span.text)
            label = label or _escape(span.href)
            linked = "link" not in inside and _LINKABLE.match(span.href)
            out.append(f'<a href="{html.escape(span.href, quote=True)}">{label}</a>' if linked else label)
        elif span.kind == "code":
            out.append(_escape(span.text) if inside else f"<code>{_escape(span.text)}</code>")
        elif span.kind == "break":
            out.append("\n")
        else:
            out.append(_escape(span.text))
    return "".join(out)


def _escape(text: str) -> str:
    return html.escape(text, quote=False)
