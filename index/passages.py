"""What gets embedded for an article: its title, each example question, and body passages.

The body is read by index/markdown.py and split on its headings and paragraphs (blocks on
consecutive lines, such as a list's items, are one paragraph); a long paragraph is cut into
overlapping windows of words so one passage stays within what the encoder reads well.
Each body passage is prefixed with the article title and its heading, so a passage such as
"Press Save." still says what it is about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.kb import Article
from index.markdown import Block, Spans, read

KINDS = ("proto", "title", "question", "passage")
WINDOW_WORDS = 80
OVERLAP_WORDS = 20


@dataclass(frozen=True)
class Passage:
    article_id: str
    lang: str
    kind: str
    text: str


def split_article(article: Article) -> list[Passage]:
    """The passages one language version of an article contributes."""
    out = [Passage(article.id, article.lang, "title", article.title)]
    out += [Passage(article.id, article.lang, "question", q) for q in article.questions]
    for heading, paragraph in _paragraphs(article.body):
        context = article.title if not heading or heading == article.title else f"{article.title}: {heading}"
        for window in _windows(paragraph):
            out.append(Passage(article.id, article.lang, "passage", f"{context}. {window}"))
    return out


def plain_text(markdown: str) -> str:
    """Markdown with its markup removed, for embedding and lexical search: one line per block."""
    out = []
    for block in read(markdown):
        if out:
            out.append("\n" * (block.gap + 1))
        out.append(_plain(block.spans).strip() if block.kind == "heading" else _block_text(block))
    return "".join(out)


def _paragraphs(body: str) -> list[tuple[str, str]]:
    """(heading, text) of each paragraph: blocks that follow each other line by line are one."""
    heading = ""
    out: list[tuple[str, str]] = []
    group: list[str] = []

    def flush() -> None:
        text = re.sub(r"\s+", " ", " ".join(group)).strip()
        if text:
            out.append((heading, text))
        group.clear()

    for block in read(body):
        if block.kind == "heading":
            flush()
            heading = _plain(block.spans).strip()
            continue
        if block.gap or block.kind == "rule":
            flush()
        group.append(_block_text(block))
    flush()
    return out


def _block_text(block: Block) -> str:
    if block.kind == "code":
        return block.text
    if block.kind == "table":
        return " ".join(_plain(cell) for row in block.rows for cell in row)
    text = _plain(block.spans)
    return f"{block.marker} {text}" if block.marker else text


def _plain(spans: Spans) -> str:
    # Formatting and code become spaces around their text, as the regex that read Markdown here
    # before did ("**Save**." is "Save ."): the index and every benchmark figure were made on it.
    out = []
    for span in spans:
        if span.kind == "text":
            out.append(span.text)
        elif span.kind == "link":
            out.append(_plain(span.children))
        elif span.kind == "code":
            out.append(f" {span.text} ")
        elif span.kind in ("bold", "italic", "strike"):
            out.append(f" {_plain(span.children)} ")
        else:  # a break, an image
            out.append(" ")
    return "".join(out)


def _windows(text: str) -> list[str]:
    words = text.split()
    if len(words) <= WINDOW_WORDS:
        return [text]
    step = WINDOW_WORDS - OVERLAP_WORDS
    return [" ".join(words[i : i + WINDOW_WORDS]) for i in range(0, max(len(words) - OVERLAP_WORDS, 1), step)]
