"""The part of an article that answers: a focused excerpt instead of the whole article.

Pure: text in, text out. `focus(body, matched, question)` returns the whole body when it fits
in `limit` characters; else the section (or paragraph) that `matched`, the passage retrieval
matched ("<title>: <heading>. <words of one paragraph>", index/passages.py), came from; else
the section whose words overlap the customer's `question` most; else the article's lead.
`matched_body` is the body the passage came from when that is another language version of this
article: the section in the same place is shown, when both versions have the same sections.

The part keeps its heading and is cut at a paragraph, line or sentence end (a word end only
when one sentence is longer than the limit). It stays valid Markdown: no half of a `**bold**`
pair or of inline code, and no open code fence.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

LIMIT = 600
ELLIPSIS = "…"

WHOLE, PASSAGE, QUESTION, LEAD = "whole", "passage", "question", "lead"

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+\S")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
# The markup index/passages.py removes before embedding; replaced here by spaces of the same
# length, so word positions found in the plain text are positions in the Markdown too.
_MARKUP = re.compile(r"[*_`>#|]+|\[([^\]]*)\]\([^)]*\)|!\[[^\]]*\]\([^)]*\)")
_WORD = re.compile(r"[^\W_](?:[^\W_]|[\u0300-\u036f\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed])*")
# Where a sentence ends: after . ! ? and their Arabic and CJK forms (and closing quotes or bold).
_SENTENCE_END = re.compile(r"(?:[.!?؟…]|[。！？])[\"'”’»)\]*_]*(?=\s|$)|[。！？]")
_PAIRED = ("**", "__")
_ARABIC_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال")
# Question words that say nothing about which section answers (in the four languages the bot
# speaks); every other word is weighted by how few sections contain it.
_QUESTION_WORDS_TEXT = """
    how what when where why which who whom can could would should does did doing the and for you your
    with this that from have has are was were will into about there nasıl nedir neden nerede hangi için
    bir ile veya cómo qué cuándo dónde por para con una uno los las del كيف ماذا متى أين هل لماذا
"""
_STEM = 5  # words are compared by their first five letters: "refunds" ~ "refund", "şifremi" ~ "şifre"


@dataclass(frozen=True)
class Excerpt:
    """The part of an article shown in a reply."""

    text: str  # Markdown, at most the limit asked for
    cut: bool  # the article has more than `text`
    source: str  # whole | passage | question | lead: how the part was chosen


@dataclass(frozen=True)
class _Token:
    word: str  # folded
    start: int  # offset in the block's Markdown


@dataclass(frozen=True)
class _Block:
    text: str  # Markdown: a paragraph, a list, a table or a fenced code block
    tokens: tuple[_Token, ...]


@dataclass(frozen=True)
class _Section:
    heading: str  # the heading line as written, "" for the text before the first heading
    heading_words: tuple[str, ...]
    blocks: tuple[_Block, ...]


@dataclass(frozen=True)
class _Anchor:
    section: int
    block: int
    offset: int  # where in the block the answering words start


def focus(
    body_markdown: str,
    matched: str | None,
    question: str | None,
    limit: int = LIMIT,
    matched_body: str | None = None,
) -> Excerpt:
    """The part of `body_markdown` that answers, at most `limit` characters (see the module docstring)."""
    body = body_markdown.strip()
    if len(body) <= limit:
        return Excerpt(body, False, WHOLE)
    sections = _read(body)
    anchor, source = None, LEAD
    if matched and matched.strip():
        anchor = _locate_passage(sections, matched, matched_body)
        source = PASSAGE
    if anchor is None and question and question.strip():
        anchor, source = _locate_question(sections, question, _section_stems(body)), QUESTION
    if anchor is None:
        text, source = _lead(sections, limit), LEAD
    else:
        text = _show(sections[anchor.section], anchor, limit)
    text = text.strip()
    if not text:  # nothing fit whole (one giant word): the first characters, marked as cut
        text = _balance(body[: limit - 1].rstrip()) + ELLIPSIS
    return Excerpt(text, _squash(text) != _squash(body), source)


# -- reading an article ------------------------------------------------------------------------
# An article's sections, tokens and stems depend on its text alone: read once, not on every answer
# from it (they were a quarter of the engine's time a message). Bounded: a big KB's articles come
# and go; 256 read articles of a few thousand characters hold some tens of MiB at most.
READ_ARTICLES = 256


@lru_cache(maxsize=READ_ARTICLES)
def _read(body: str) -> tuple[_Section, ...]:
    return tuple(_sections(body))


@lru_cache(maxsize=READ_ARTICLES)
def _section_stems(body: str) -> tuple[tuple[frozenset[str], tuple[frozenset[str], ...]], ...]:
    """Each section's heading stems and each of its blocks' stems."""
    return tuple(
        (frozenset(_stem(w) for w in s.heading_words), tuple(frozenset(_stem(t.word) for t in b.tokens) for b in s.blocks))
        for s in _read(body)
    )


def _sections(body: str) -> list[_Section]:
    sections: list[_Section] = []
    heading, fenced = "", False
    blocks: list[_Block] = []
    lines: list[str] = []

    def flush_block() -> None:
        text = "\n".join(lines).strip("\n")
        if text.strip():
            blocks.append(_Block(text, _tokens(text)))
        lines.clear()

    def flush_section() -> None:
        flush_block()
        if heading or blocks:
            sections.append(_Section(heading, tuple(t.word for t in _tokens(heading)), tuple(blocks)))

    for line in body.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
            lines.append(line)
        elif fenced:
            lines.append(line)
        elif _HEADING.match(line):
            flush_section()
            heading, blocks = line.strip(), []
        elif not line.strip():
            flush_block()
        else:
            lines.append(line)
    flush_section()
    return sections


def _fold(word: str) -> str:
    """One spelling for matching: no case, accents, harakat or Arabic letter variants."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return plain.replace("ı", "i").replace("ة", "ه").replace("ى", "ي")


_QUESTION_WORDS = frozenset(_fold(word) for word in _QUESTION_WORDS_TEXT.split())


def _tokens(markdown: str) -> tuple[_Token, ...]:
    def blank(m: re.Match[str]) -> str:
        label = m.group(1)
        if label is None or m.group(0).startswith("!"):
            return " " * len(m.group(0))
        return " " + label + " " * (len(m.group(0)) - len(label) - 1)

    plain = _MARKUP.sub(blank, markdown)
    return tuple(_Token(folded, m.start()) for m in _WORD.finditer(plain) if (folded := _fold(m.group())))


def _words(text: str) -> list[str]:
    return [t.word for t in _tokens(text)]


def _stem(word: str) -> str:
    for prefix in _ARABIC_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 3:
            word = word[len(prefix) :]
            break
    return word[:_STEM]


# -- choosing the part --------------------------------------------------------------------------
def _locate_passage(sections: Sequence[_Section], matched: str, matched_body: str | None) -> _Anchor | None:
    """Where the passage's words run on in the body (a passage ends with words of one paragraph)."""
    if matched_body:
        theirs = _read(matched_body.strip())
        found = _find_run(theirs, _words(matched))
        if found is None or len(theirs) != len(sections):
            return None
        same_blocks = len(theirs[found.section].blocks) == len(sections[found.section].blocks)
        return _Anchor(found.section, found.block if same_blocks else 0, 0)
    return _find_run(sections, _words(matched))


def _find_run(sections: Sequence[_Section], matched: list[str]) -> _Anchor | None:
    if not matched:
        return None
    wanted = set(matched)
    best: tuple[tuple[int, int, int], _Anchor] | None = None
    for i, section in enumerate(sections):
        heading_overlap = len(wanted.intersection(section.heading_words))
        for j, block in enumerate(section.blocks):
            words = [t.word for t in block.tokens]
            run, at = _longest_tail_run(matched, words)
            whole = int(run == len(words))
            if run >= 3 or (whole and run >= 1):
                key = (run, whole, heading_overlap)
                if best is None or key > best[0]:
                    best = (key, _Anchor(i, j, block.tokens[at].start))
    return best[1] if best else None


def _longest_tail_run(matched: list[str], words: list[str]) -> tuple[int, int]:
    """The most last words of `matched` that appear, in order and together, in `words`, and where."""
    def position(n: int) -> int:
        tail = matched[-n:]
        first = tail[0]
        for k in range(len(words) - n + 1):
            if words[k] == first and words[k : k + n] == tail:
                return k
        return -1

    low, high, at = 0, min(len(matched), len(words)), 0
    while low < high:  # a run of n words contains the run of its last n - 1: search the length
        middle = (low + high + 1) // 2
        found = position(middle)
        if found >= 0:
            low, at = middle, found
        else:
            high = middle - 1
    return low, at


def _locate_question(sections: Sequence[_Section], question: str, stems: Sequence[tuple[frozenset[str], Sequence[frozenset[str]]]]) -> _Anchor | None:
    """The section whose words overlap the question's most, rarer words counting more."""
    asked = {_stem(w) for w in _words(question) if len(w) >= 3 and w not in _QUESTION_WORDS}
    if not asked:
        return None
    found = [
        ({w for w in asked if _has(heading, w)}, [{w for w in asked if _has(b, w)} for b in blocks]) for heading, blocks in stems
    ]
    frequency = {w: sum(1 for heading, blocks in found if w in heading or any(w in b for b in blocks)) for w in asked}
    weight = {w: math.log(len(sections) / n) if n else 0.0 for w, n in frequency.items()}
    best: tuple[float, _Anchor] | None = None
    for i, (heading, blocks) in enumerate(found):
        score = sum(weight[w] * (2.0 if w in heading else 1.0) for w in heading.union(*blocks))
        if score <= 0:
            continue
        block = max(range(len(blocks)), key=lambda j: (sum(weight[w] for w in blocks[j]), -j)) if blocks else 0
        if best is None or score > best[0]:
            best = (score, _Anchor(i, block, 0))
    return best[1] if best else None


def _has(stems: frozenset[str], asked: str) -> bool:
    """A word of the question is in a text: the same stem, or (four letters or more) the start of one."""
    return asked in stems or (4 <= len(asked) < _STEM and any(s.startswith(asked) for s in stems))


# -- fitting it in the limit --------------------------------------------------------------------
def _show(section: _Section, anchor: _Anchor, limit: int) -> str:
    """The section: its heading, the anchor block, then the blocks after it and before it that fit."""
    budget = limit - (len(section.heading) + 2 if section.heading else 0)
    if not section.blocks:
        return section.heading
    chosen: dict[int, str] = {}
    first = section.blocks[anchor.block]
    chosen[anchor.block] = first.text if len(first.text) <= budget else _cut(first.text, budget, anchor.offset)
    used = len(chosen[anchor.block])
    for j in range(anchor.block + 1, len(section.blocks)):  # what follows first: the rest of the steps
        room, text = budget - used - 2, section.blocks[j].text
        if len(text) > room:
            partial = _cut(text, room, 0, allow_word_cut=False) if room > 0 else ""
            if partial:
                chosen[j] = partial
                used += len(partial) + 2
            break
        chosen[j] = text
        used += len(text) + 2
    for j in range(anchor.block - 1, -1, -1):  # then what leads up to it, whole paragraphs only
        text = section.blocks[j].text
        if len(text) > budget - used - 2:
            break
        chosen[j] = text
        used += len(text) + 2
    parts = ([section.heading] if section.heading else []) + [chosen[j] for j in sorted(chosen) if chosen[j]]
    return "\n\n".join(parts)


def _lead(sections: Sequence[_Section], limit: int) -> str:
    """The article from its start: whole sections that fit, then the next one if its heading and
    first paragraph fit (the first one always, cut if need be)."""
    parts: list[str] = []
    used = 0
    for n, section in enumerate(sections):
        whole = "\n\n".join([section.heading] * bool(section.heading) + [b.text for b in section.blocks])
        room = limit - used - (2 if parts else 0)
        if len(whole) <= room:
            parts.append(whole)
            used += len(whole) + (2 if len(parts) > 1 else 0)
            continue
        first = len(section.blocks[0].text) + (len(section.heading) + 2 if section.heading else 0) if section.blocks else room + 1
        if not parts or first <= room:
            parts.append(_show(section, _Anchor(n, 0, 0), room))
        break
    while parts and _HEADING.match(parts[-1].rsplit("\n\n", 1)[-1]):  # a heading with nothing under it
        parts[-1] = parts[-1].rpartition("\n\n")[0]
        if not parts[-1]:
            parts.pop()
    return "\n\n".join(parts)


def _cut(text: str, budget: int, anchor: int, allow_word_cut: bool = True) -> str:
    """At most `budget` characters of one block, ending at a line or sentence end, starting at the
    sentence that holds `anchor` when the start would not reach it; "" when no sentence fits."""
    ends = _ends(text)
    start = 0
    if anchor > 0 and not any(anchor < e <= budget for e in ends):
        start = max((e for e in ends if e <= anchor), default=0)
        while start < len(text) and text[start].isspace():
            start += 1
    prefix = ELLIPSIS if start > 0 else ""
    room = budget - len(prefix)
    end = max((e for e in ends if start < e <= start + room), default=None)
    if end is not None:
        return _balance(text, start, end, prefix)
    if not allow_word_cut:
        return ""
    space = max((m.start() for m in re.finditer(r"\s", text[start : start + room])), default=0)
    if space <= 0:
        return ""
    return _balance(text, start, start + space, prefix) + ELLIPSIS


def _ends(text: str) -> list[int]:
    """Offsets where a cut may end: after a sentence, at the end of a line, at the end."""
    ends = {m.end() for m in _SENTENCE_END.finditer(text)}
    ends |= {m.start() for m in re.finditer(r"\n", text)}
    ends.add(len(text))
    return sorted(e for e in ends if e > 0)


def _balance(text: str, start: int = 0, end: int | None = None, prefix: str = "") -> str:
    """text[start:end] without the halves of bold pairs or inline code that the cut separated,
    and with a code fence it opened closed again."""
    end = len(text) if end is None else end
    drop: set[int] = set()
    for marker in (*_PAIRED, "`"):
        spots = _markers(text, marker)
        for a, b in zip(spots[0::2], spots[1::2]):
            inside_a, inside_b = start <= a < end, start <= b < end
            if inside_a != inside_b:
                drop.update(range(a, a + len(marker)) if inside_a else range(b, b + len(marker)))
        if len(spots) % 2 and start <= spots[-1] < end:  # unpaired in the article itself
            drop.update(range(spots[-1], spots[-1] + len(marker)))
    kept = "".join(ch for i, ch in enumerate(text[start:end], start) if i not in drop).rstrip()
    fences = sum(1 for line in kept.split("\n") if _FENCE.match(line))
    if fences % 2:
        kept += "\n```"
    return prefix + kept


def _markers(text: str, marker: str) -> list[int]:
    """Offsets of `marker` outside code (and, for a backtick, not part of a fence)."""
    spots, i, fenced = [], 0, False
    for line in text.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            at = line.find(marker)
            while at >= 0:
                if marker != "`" or not (line[at : at + 3] == "```"):
                    spots.append(i + at)
                at = line.find(marker, at + len(marker))
        i += len(line) + 1
    return spots


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)
