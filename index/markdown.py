"""One reading of an article's Markdown, for every place that shows or embeds it.

One configured markdown-it parser (CommonMark, tables, strikethrough; raw HTML is text, unsafe
links are no links), and a small typed reading of its tokens: a flat run of leaf `Block`s
(heading, paragraph, code, table, rule), each holding inline `Span`s (text, bold, italic,
strike, code, link, image, break) and saying where it sits: the list item it opens (`marker`),
its list depth and blockquote depth, and how many source lines lie between it and the block
before (`gap`: a blank line or more ends a paragraph). The help-center page renders the same
parse with markdown-it's HTML renderer; Slack, Telegram and the index's passages walk `read`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

from markdown_it import MarkdownIt
from markdown_it.token import Token

SpanKind = Literal["text", "bold", "italic", "strike", "code", "link", "image", "break"]
BlockKind = Literal["heading", "paragraph", "code", "table", "rule"]
Spans = tuple["Span", ...]

_CONTAINERS: dict[str, SpanKind] = {"strong_open": "bold", "em_open": "italic", "s_open": "strike", "link_open": "link"}


@dataclass(frozen=True)
class Span:
    """A piece of inline text: plain, formatted around `children`, code, a link or an image."""

    kind: SpanKind
    text: str = ""  # text and code: the characters (entities and escapes resolved); image: its alt text
    children: Spans = ()  # bold, italic, strike, link: what they hold
    href: str = ""  # link and image: the URL, as markdown-it normalized it


@dataclass(frozen=True)
class Block:
    """A leaf block of the document, with the containers it sits in."""

    kind: BlockKind
    spans: Spans = ()  # heading and paragraph
    level: int = 0  # heading: 1 to 6
    text: str = ""  # code: the code, without its last newline
    info: str = ""  # code: the fence's language
    rows: tuple[tuple[Spans, ...], ...] = ()  # table: the header row, then the body rows; cells of spans
    marker: str = ""  # the first block of a list item: its marker as written ("-", "*", "1.", "2)")
    depth: int = 0  # how many list items it is inside
    quote: int = 0  # how many blockquotes it is inside
    gap: int = 0  # source lines between this block and the one before (blank lines, a bare ">")
    start: int = 0  # the source lines it covers: [start, end)
    end: int = 0


@lru_cache(maxsize=1)
def parser() -> MarkdownIt:
    """The one Markdown parser: CommonMark with tables and strikethrough, raw HTML shown as text."""
    # html=False: raw HTML in an article is text, never run; markdown-it drops javascript: links.
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def render_html(markdown: str) -> str:
    """Markdown as HTML for a page (markdown-it's renderer over the same parse)."""
    return parser().render(markdown)


def read(markdown: str) -> tuple[Block, ...]:
    """The blocks of a Markdown text, in order."""
    tokens = parser().parse(markdown)
    blocks: list[Block] = []
    depth = quote = last_end = 0
    marker = ""
    items: list[Sequence[int] | None] = []  # the lines of each list item we are in

    def add(block: Block, lines: Sequence[int] | None) -> None:
        nonlocal marker, last_end
        start, end = lines if lines else (last_end, last_end)
        gap = max(start - last_end, 0)
        blocks.append(replace(block, marker=marker, depth=depth, quote=quote, gap=gap, start=start, end=end))
        marker, last_end = "", max(end, last_end)

    i = 0
    while i < len(tokens):
        token = tokens[i]
        kind = token.type
        if kind == "blockquote_open":
            quote += 1
        elif kind == "blockquote_close":
            quote -= 1
        elif kind == "list_item_open":
            depth += 1
            marker = token.info + token.markup  # "1" + "." for an ordered item, "-" for a bullet
            items.append(token.map)
        elif kind == "list_item_close":
            lines = items.pop()
            if marker:  # an empty item (its one line): an empty paragraph carries its marker
                add(Block("paragraph"), (lines[0], lines[0] + 1) if lines else None)
            depth -= 1
        elif kind in ("heading_open", "paragraph_open"):
            spans = _spans(tokens[i + 1].children or [])
            if kind == "heading_open":
                add(Block("heading", spans, level=int(token.tag[1:])), token.map)
            else:
                add(Block("paragraph", spans), token.map)
            i += 2  # the inline token and the close
        elif kind in ("fence", "code_block"):
            code = token.content[:-1] if token.content.endswith("\n") else token.content
            add(Block("code", text=code, info=token.info.strip()), token.map)
        elif kind == "hr":
            add(Block("rule"), token.map)
        elif kind == "table_open":
            rows: list[tuple[Spans, ...]] = []
            cells: list[Spans] = []
            while tokens[i].type != "table_close":
                i += 1
                if tokens[i].type == "inline":
                    cells.append(_spans(tokens[i].children or []))
                elif tokens[i].type == "tr_close":
                    rows.append(tuple(cells))
                    cells = []
            add(Block("table", rows=tuple(rows)), token.map)
        i += 1
    return tuple(blocks)


def plain(spans: Spans) -> str:
    """The characters of spans without their markup (a break is a space, an image its alt text)."""
    out = []
    for span in spans:
        if span.kind in ("text", "code", "image"):
            out.append(span.text)
        elif span.kind == "break":
            out.append(" ")
        else:
            out.append(plain(span.children))
    return "".join(out)


def lay_out(blocks: Sequence[Block], render: Callable[[Block], str], quote: str) -> str:
    """Rendered blocks laid out as in the source, for a chat message: the blank lines between
    them kept, list markers (and two spaces a level) in front, `quote` before a quoted block."""
    out: list[str] = []
    for block in blocks:
        lead = quote * block.quote + "  " * max(block.depth - 1, 0)
        mark = f"{block.marker} " if block.marker else "  " * bool(block.depth)
        text = render(block)
        if block.kind != "code":  # code is shown as written; other lines line up under the first
            text = text.replace("\n", "\n" + lead + " " * len(mark))
        if out:
            out.append("\n" * (block.gap + 1))
        out.append(lead + mark + text if text else (lead + mark).rstrip(" "))
    return "".join(out)


def _spans(children: Sequence[Token]) -> Spans:
    """The spans of one inline token's children."""
    stack: list[list[Span]] = [[]]
    opened: list[tuple[SpanKind, str]] = []
    for token in children:
        kind = token.type
        if kind in ("text", "text_special", "html_inline"):
            if token.content:
                stack[-1].append(Span("text", token.content))
        elif kind in ("softbreak", "hardbreak"):
            stack[-1].append(Span("break"))
        elif kind == "code_inline":
            stack[-1].append(Span("code", token.content))
        elif kind == "image":
            stack[-1].append(Span("image", plain(_spans(token.children or [])), href=str(token.attrs.get("src", ""))))
        elif kind in _CONTAINERS:
            opened.append((_CONTAINERS[kind], str(token.attrs.get("href", ""))))
            stack.append([])
        elif kind.endswith("_close") and opened:
            span_kind, href = opened.pop()
            inner = tuple(stack.pop())
            stack[-1].append(Span(span_kind, children=inner, href=href))
    return tuple(stack[0])
