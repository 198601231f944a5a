"""What gets embedded for an article: its title, each example question, and body passages.

The body is split on Markdown headings and blank lines; a long paragraph is cut into
overlapping windows of words so one passage stays within what the encoder reads well.
Each body passage is prefixed with the article title and its heading, so a passage such as
"Press Save." still says what it is about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.kb import Article

KINDS = ("proto", "title", "question", "passage")
WINDOW_WORDS = 80
OVERLAP_WORDS = 20
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_MARKUP = re.compile(r"[*_`>#|]+|\[([^\]]*)\]\([^)]*\)|!\[[^\]]*\]\([^)]*\)")


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
    """Markdown with its markup removed, for embedding and lexical search."""
    return _MARKUP.sub(lambda m: m.group(1) or " ", markdown)


def _paragraphs(body: str) -> list[tuple[str, str]]:
    heading = ""
    out: list[tuple[str, str]] = []
    block: list[str] = []

    def flush() -> None:
        text = " ".join(plain_text(line).strip() for line in block).strip()
        if text:
            out.append((heading, re.sub(r"\s+", " ", text)))
        block.clear()

    for line in body.split("\n"):
        match = _HEADING.match(line)
        if match:
            flush()
            heading = plain_text(match.group(1)).strip()
        elif not line.strip():
            flush()
        else:
            block.append(line)
    flush()
    return out


def _windows(text: str) -> list[str]:
    words = text.split()
    if len(words) <= WINDOW_WORDS:
        return [text]
    step = WINDOW_WORDS - OVERLAP_WORDS
    return [" ".join(words[i : i + WINDOW_WORDS]) for i in range(0, max(len(words) - OVERLAP_WORDS, 1), step)]
