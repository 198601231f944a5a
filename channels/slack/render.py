"""Slack payloads out: stored messages and handoff cards as Block Kit, buttons replaced once used.

Every message keeps a plain `text` too: Slack shows it in notifications and where blocks
cannot be shown. Button values carry the conversation id and the message's id, so a click needs
no lookup table; a choice is named by its position among the message's choices.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.actions import Action
from bot.desk.agents_desk import HandoffCard
from bot.answer.articles import ArticleLink
from bot.answer.phrases import language_name, phrase
from bot.store.model import Conversation, Message
from index import markdown

Block = dict[str, Any]

ACTIONS_BLOCK = "answerdesk.actions"
CHOOSE, NONE_OF_THESE, HELPFUL, CSAT = "answerdesk.choose", "answerdesk.none", "answerdesk.helpful", "answerdesk.csat"
TAKE, TAKE_OVER, BACK, CLOSE = "answerdesk.take", "answerdesk.take_over", "answerdesk.back", "answerdesk.close"
CUSTOMER_ACTIONS = (CHOOSE, NONE_OF_THESE, HELPFUL, CSAT)
CARD_ACTIONS = (TAKE, TAKE_OVER, BACK, CLOSE)

SECTION_CHARACTERS = 3000  # Block Kit's limit for a section's text
MESSAGE_CHARACTERS = 12000  # well under chat.postMessage's 40,000
BUTTON_CHARACTERS = 75
REASONS = {
    "not_covered": "the knowledge base does not cover it",
    "asked_for_person": "the customer asked for a person",
    "negative_feedback": "the customer said the answer did not help",
}
AUTHORS = {"customer": "Customer", "bot": "Bot", "agent": "Agent"}

_MARKS = {"bold": "*", "italic": "_", "strike": "~"}


def escape(text: str) -> str:
    """Slack's three escapes: text is shown as written, never read as a mention or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(text: str) -> str:
    """An article's Markdown (index/markdown.py's reading) as Slack mrkdwn; all its text escaped."""
    return markdown.lay_out(markdown.read(text), _mrkdwn_block, "&gt; ")


def customer_message(
    conversation: Conversation, message: Message, agent_name: str | None = None, link: ArticleLink | None = None
) -> tuple[str, list[Block]]:
    """A bot or agent message for the customer: (fallback text, blocks); `link` (from the desk) under an answer, buttons where the bot asks."""
    lang = message.lang or conversation.lang
    text = message.text
    if message.author == "agent":
        text = f"{agent_name or 'Agent'}: {message.text}"
        blocks = _sections(f"*{escape(agent_name or 'Agent')}:* {mrkdwn(message.text)}")
        return _clip(text), blocks
    blocks = _sections(mrkdwn(text))
    if link is not None:
        plain, formatted = link_line(link, lang)
        text = f"{text}\n\n{plain}"
        blocks.append(_section(formatted))
    conversation_id = conversation.id
    if message.action == Action.ANSWER:
        blocks.append(_section(escape(phrase("feedback_question", lang))))
        blocks.append(_actions([
            _button(phrase("feedback_yes", lang), f"{HELPFUL}.yes", f"{conversation_id}|{message.id}|yes"),
            _button(phrase("feedback_no", lang), f"{HELPFUL}.no", f"{conversation_id}|{message.id}|no"),
        ]))
    elif message.action == Action.CLARIFY and message.choices:
        buttons = [_button(c.title, f"{CHOOSE}.{n}", f"{conversation_id}|{message.id}|{n}") for n, c in enumerate(message.choices[:24])]
        buttons.append(_button(phrase("clarify_none_option", lang), NONE_OF_THESE, conversation_id))
        blocks.append(_actions(buttons))
    elif message.action == Action.CSAT_QUESTION:
        blocks.append(_actions([_button(str(score), f"{CSAT}.{score}", f"{conversation_id}|{score}") for score in range(1, 6)]))
    return _clip(text), blocks


def link_line(link: ArticleLink, lang: str) -> tuple[str, str]:
    """"Full article: <title> · updated <date>" as (plain text, mrkdwn with the title linked when there is a URL)."""
    label = phrase("full_article", lang)
    updated = f" · {phrase('article_updated', lang, date=link.updated)}" if link.updated else ""
    title = f"<{escape(link.url)}|{escape(link.title)}>" if link.url else f"*{escape(link.title)}*"
    return f"{label} {link.title}{updated}", f"{escape(label)} {title}{escape(updated)}"


def kind_of(action_id: str) -> str:
    """The kind of a button ("answerdesk.choose") from its action id, unique within its block ("answerdesk.choose.2")."""
    return ".".join(action_id.split(".")[:2])


def used(blocks: Sequence[Mapping[str, Any]], note: str) -> list[Block]:
    """The message's blocks with its buttons replaced by a note of what was chosen."""
    kept: list[Block] = []
    for block in blocks:
        if block.get("type") == "actions":
            kept.append({"type": "context", "elements": [{"type": "mrkdwn", "text": escape(note)}]})
        else:
            kept.append(dict(block))
    return kept


def thread_line(author: str, text: str) -> str:
    """One line of the conversation in a card's thread."""
    return f"*{escape(author)}:* {escape(text)}"


def card(facts: HandoffCard, status: str) -> tuple[str, list[Block]]:
    """A handoff card for the agents' channel, with the buttons its state allows."""
    language = f"{language_name(facts.lang, 'en')} ({facts.lang})"
    title = f"Handoff from {facts.channel} · {language}"
    blocks: list[Block] = [{"type": "header", "text": {"type": "plain_text", "text": title[:150]}}]
    question = facts.question or "(no question)"
    blocks += _sections(f"*Question*\n>{escape(question)}")
    if facts.reason:
        blocks.append(_section(f"*Why:* {REASONS.get(facts.reason, facts.reason)}"))
    if facts.candidates:
        lines = [
            f"• {escape(c.title or c.article_id)} `{escape(c.article_id)}`" + (f" {c.score:.2f}" if isinstance(c.score, (int, float)) else "")
            for c in facts.candidates
        ]
        blocks.append(_section("*Bot's candidates*\n" + "\n".join(lines)))
    else:
        blocks.append(_section("*Bot's candidates:* none"))
    if facts.transcript:
        lines = [f"*{AUTHORS.get(line.author, line.author)}:* {escape(line.text)}" for line in facts.transcript]
        blocks += _sections("*Transcript*\n" + "\n".join(lines))
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": escape(status)}]})
    buttons = []
    if facts.state in ("waiting", "missed"):
        buttons.append(_button("Take", TAKE, facts.conversation_id, style="primary"))
    if facts.state == "agent":  # for the other agents: only the one who has it may hand it back or close it
        buttons.append(_button("Take over", TAKE_OVER, facts.conversation_id))
    if facts.state in ("waiting", "missed", "agent"):
        buttons.append(_button("Back to bot", BACK, facts.conversation_id))
        buttons.append(_button("Close", CLOSE, facts.conversation_id, style="danger"))
    if buttons:
        blocks.append(_actions(buttons))
    return _clip(f"{title}: {question}"), blocks


def card_status(facts: HandoffCard) -> str:
    """The card's status line."""
    if facts.state == "waiting":
        return "Waiting for an agent: press Take, then answer in this thread."
    if facts.state == "missed":
        return (
            "Missed: nobody was available. Press Take and answer in this thread: the customer gets it on their channel"
            + (", and by e-mail." if facts.email else "; a web customer sees it when they come back.")
        )
    if facts.state == "agent":
        return f"Taken by {facts.agent_name or 'an agent'}: replies in this thread go to the customer."
    if facts.state == "bot":
        return "No agent took it in time: the bot offered to take an e-mail address." if facts.expired else "Back with the bot."
    return "Closed."


def _sections(text: str) -> list[Block]:
    text = _clip(text)
    blocks, rest = [], text
    while rest:
        if len(rest) <= SECTION_CHARACTERS:
            blocks.append(_section(rest))
            break
        cut = rest.rfind("\n", 0, SECTION_CHARACTERS)
        cut = cut if cut > SECTION_CHARACTERS // 2 else SECTION_CHARACTERS
        blocks.append(_section(rest[:cut]))
        rest = rest[cut:].lstrip("\n")
    return blocks or [_section(" ")]


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _actions(buttons: list[Block]) -> Block:
    return {"type": "actions", "block_id": ACTIONS_BLOCK, "elements": buttons}


def _button(label: str, action_id: str, value: str, style: str | None = None) -> Block:
    text = label if len(label) <= BUTTON_CHARACTERS else label[: BUTTON_CHARACTERS - 1] + "…"
    button: Block = {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id, "value": value}
    if style:
        button["style"] = style
    return button


def _clip(text: str) -> str:
    return text if len(text) <= MESSAGE_CHARACTERS else text[: MESSAGE_CHARACTERS - 1] + "…"


def _mrkdwn_block(block: markdown.Block) -> str:
    if block.kind == "heading":
        return f"*{inner}*" if (inner := _mrkdwn_spans(block.spans, frozenset({"bold"}))) else ""
    if block.kind == "code":
        return f"```\n{escape(block.text)}\n```"
    if block.kind == "table":
        return "\n".join(" | ".join(_mrkdwn_spans(cell) for cell in row) for row in block.rows)
    if block.kind == "rule":
        return "---"
    return _mrkdwn_spans(block.spans)


def _mrkdwn_spans(spans: markdown.Spans, inside: frozenset[str] = frozenset()) -> str:
    """*bold*, _italic_, ~strike~, `code`, <url|text>; no mark inside the same mark, no link inside a link (Slack nests neither)."""
    out = []
    for span in spans:
        if span.kind in _MARKS:
            inner, mark = _mrkdwn_spans(span.children, inside | {span.kind}), _MARKS[span.kind]
            out.append(inner if span.kind in inside else f"{mark}{inner}{mark}")
        elif span.kind in ("link", "image"):
            label = _mrkdwn_spans(span.children, inside | {"link"}) if span.kind == "link" else escape(span.text)
            label = label or escape(span.href)
            out.append(label if "link" in inside or not span.href else f"<{escape(span.href)}|{label}>")
        elif span.kind == "code":
            out.append(f"`{escape(span.text)}`")
        elif span.kind == "break":
            out.append("\n")
        else:
            out.append(escape(span.text))
    return "".join(out)
