"""Writing accepted suggestions into the KB: example questions added to an article, new drafts.

Two pure functions make the text: `insert_questions(text, questions, path)` (an article's text
with questions added, and which were) and `draft_text(...)`. `add_questions` and `write_draft`
read the KB, call them, and save through `index/kb_git.py`: one git commit touching only that
file when the KB is in a git checkout (message and author from the caller), else an atomic write
that keeps the previous version in `<lang>/.backup/`.

An edit keeps the file byte for byte except the lines it adds: comments, key order, indentation,
quoting, CRLF line endings and a byte-order mark stay. A block list `questions:` gets the new
items after its last one, indented like it; an article without `questions:` gets one at the end
of its front matter; an empty `questions:` gets items under it. A flow list (`questions: [a, b]`)
gets them inside its brackets, after its last item: that one line changes. New items are quoted
by PyYAML's emitter, so any text stays one string on one line. A question already there (compared
case- and space-folded) is skipped. The result is parsed again by the loader (`index/kb.py`):
unless its questions are exactly the old ones plus those added, with every other field and the
body unchanged, KBEditError is raised and nothing is written.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from index.errors import KBEditError, KBError
from index.kb import Article, parse_article, parse_article_bytes
from index.kb_git import CHANGED, Author, Saved, save_article

__all__ = ["DRAFT_BODY", "Added", "Author", "Saved", "add_questions", "draft_text", "file_hash", "insert_questions", "slug", "write_draft"]

_NO_WRAP = 2**31  # the emitter's line width: a question is never folded onto a second line
DRAFT_BODY = "This article is a draft: write the answer here, then remove the line `draft: true` above to publish it at the next reindex."
_TO_ASCII = str.maketrans({"ı": "i", "İ": "I", "ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "OE",
                           "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "þ": "th"})


@dataclass(frozen=True)
class Added:
    """What `add_questions` did: the questions added, and the save (None: nothing new, nothing written)."""

    questions: list[str]
    saved: Saved | None


def file_hash(path: str | Path) -> str:
    """The sha256 (hex) of a file's bytes: what a reviewer saw, for `expected_hash`."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as e:
        raise KBEditError(str(path), f"cannot be read: {e.strerror}; reload the articles and try again") from e


def add_questions(
    path: str | Path, questions: Iterable[str], expected_hash: str | None = None, *, message: str | None = None, author: Author | None = None
) -> Added:
    """Add `questions` to the article's `questions:` and save it (one commit in git, with `message` and `author`)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as e:
        raise KBEditError(str(path), "article file not found: it was moved or removed; reload the articles and try again") from e
    except OSError as e:
        raise KBEditError(str(path), f"cannot be read: {e.strerror}") from e
    if expected_hash is not None and hashlib.sha256(raw).hexdigest() != expected_hash:
        raise KBEditError(str(path), CHANGED)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise KBEditError(str(path), "not valid UTF-8; save the file as UTF-8", line=raw[: e.start].count(b"\n") + 1) from e
    new, added = insert_questions(text, questions, path)
    if not added:
        return Added([], None)
    article = parse_article_bytes(raw, path)
    message = message or f"KB: add {len(added)} question{'s' if len(added) > 1 else ''} to {article.lang}/{article.id}"
    return Added(added, save_article(path, new.encode("utf-8"), raw, message, author))


def insert_questions(text: str, questions: Iterable[str], path: str | Path) -> tuple[str, list[str]]:
    """`text` (an article read from `path`) with the new ones of `questions` added; and those, in order."""
    path = Path(path)
    old = _parse(text, path)
    seen = {_fold(q) for q in old.questions}
    added = []
    for question in [questions] if isinstance(questions, str) else questions:
        question = " ".join(str(question).split())  # one line: a newline or tab from a chat message is a space
        if question and _fold(question) not in seen:
            seen.add(_fold(question))
            added.append(question)
    if not added:
        return text, []
    bom, lines, end = _split(text)
    _add(lines, end, added, str(path))
    new = bom + "\n".join(lines)
    _check(text, new, path, old, added)
    return new, added


def _add(lines: list[str], end: int, added: list[str], name: str) -> None:
    """Insert `added` into the front matter `lines[1:end]` (lines end with '\\r' in a CRLF file)."""
    front = "\n".join(_bare(line) for line in lines[1:end])
    try:
        root = yaml.compose(front, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise KBEditError(name, f"front matter cannot be read: {getattr(e, 'problem', None) or e}", line=mark.line + 2 if mark else 2) from e
    if not isinstance(root, yaml.MappingNode) or root.flow_style:
        raise KBEditError(name, "front matter must be a block mapping of fields (id, lang, title, ...); add the questions by hand", line=2)
    found = [(k, v) for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "questions"]
    if not found:  # a new `questions:` key, last in the front matter
        indent = " " * root.start_mark.column
        cr = "\r" if lines[end].endswith("\r") else ""
        lines[end:end] = [f"{indent}questions:{cr}", *(f"{indent}  - {_scalar(q)}{cr}" for q in added)]
        return
    key, value = found[-1]  # YAML keeps the last of a repeated key, and so does the loader
    line = key.start_mark.line + 2
    if value.start_mark.index < key.end_mark.index:
        raise KBEditError(name, "field 'questions' is an alias (*name) of a list written elsewhere; add the questions there by hand", line=line, field="questions")
    if isinstance(value, yaml.SequenceNode) and value.flow_style:
        at = value.value[-1].end_mark if value.value else value.start_mark
        column = at.column if value.value else at.column + 1  # after the last item, or inside '[]'
        items = [_scalar(q, flow=True) for q in added]
        text = "".join(f", {q}" for q in items) if value.value else ", ".join(items)
        i = at.line + 1
        lines[i] = lines[i][:column] + text + lines[i][column:]
    elif isinstance(value, yaml.SequenceNode):
        last = value.value[-1]
        stop = last.end_mark.line - (1 if last.end_mark.column == 0 and last.end_mark.line > last.start_mark.line else 0)
        prefix = _bare(lines[last.start_mark.line + 1])[: last.start_mark.column]
        dash = prefix.rfind("-")
        if dash >= 0 and not prefix[:dash].strip():
            indent, gap = prefix[:dash], prefix[dash + 1 :] if prefix[dash + 1 :] and not prefix[dash + 1 :].strip() else " "
        else:  # the item is on the line after its dash
            indent, gap = " " * value.start_mark.column, " "
        cr = "\r" if lines[stop + 1].endswith("\r") else ""
        lines[stop + 2 : stop + 2] = [f"{indent}-{gap}{_scalar(q)}{cr}" for q in added]
    elif isinstance(value, yaml.ScalarNode) and value.tag == "tag:yaml.org,2002:null" and value.start_mark.index == value.end_mark.index:
        indent = " " * (key.start_mark.column + 2)  # `questions:` with nothing after it
        cr = "\r" if lines[line - 1].endswith("\r") else ""
        lines[line:line] = [f"{indent}- {_scalar(q)}{cr}" for q in added]
    else:
        raise KBEditError(name, "field 'questions' must be a list (questions:, then one '- question' per line); make it one, then try again", line=line, field="questions")


def _scalar(text: str, flow: bool = False) -> str:
    """`text` as one YAML list item, quoted (or not) by PyYAML's emitter, on one line."""
    dumped = yaml.dump([text], Dumper=yaml.SafeDumper, default_flow_style=flow, allow_unicode=True, width=_NO_WRAP)
    item = dumped.strip()[1:-1] if flow else dumped.rstrip("\n")[2:]
    if "\n" in item or yaml.safe_load(f"[{item}]" if flow else f"- {item}") != [text]:
        item = yaml.dump(text, Dumper=yaml.SafeDumper, default_style='"', allow_unicode=True, width=_NO_WRAP).rstrip("\n")
    return item


def _check(old_text: str, new_text: str, path: Path, old: Article, added: list[str]) -> None:
    """The edit changed the questions as intended, and nothing else; else KBEditError."""
    new = _parse(new_text, path, "the edit would break it; add the questions by hand")
    problem = ""
    if new.questions != old.questions + tuple(added):
        problem = "its questions would not be the old ones plus the new"
    elif replace(new, questions=old.questions, source_line=old.source_line) != old or _meta(old_text) != _meta(new_text):
        problem = "another field would change"
    elif _body(old_text) != _body(new_text):
        problem = "its body would change"
    if problem:
        raise KBEditError(str(path), f"questions cannot be added safely: {problem}; add them by hand", field="questions")


def _meta(text: str) -> dict:
    _, lines, end = _split(text)
    meta = yaml.safe_load("\n".join(_bare(line) for line in lines[1:end])) or {}
    meta.pop("questions", None)
    return meta


def _body(text: str) -> list[str]:
    _, lines, end = _split(text)
    return lines[end + 1 :]


def write_draft(
    kb_dir: str | Path, lang: str, title: str, questions: Iterable[str], article_id: str | None = None,
    *, message: str | None = None, author: Author | None = None,
) -> Saved:
    """Write a new article `<kb>/<lang>/<id>.md` with `draft: true`, never over a file (one commit in git)."""
    root = Path(kb_dir)
    if not root.is_dir():
        raise KBEditError(str(root), "knowledge base folder not found; set ANSWERDESK_KB or pass the KB folder")
    if not re.fullmatch(r"[a-z]{2}", lang):
        raise KBEditError(str(root), f"lang {lang!r} is not an ISO 639-1 code such as 'en'", field="lang")
    title = " ".join(str(title).split())
    if not title:
        raise KBEditError(str(root / lang), "a draft needs a title", field="title")
    used = _ids(root)
    if article_id is None:
        article_id = _unique(slug(title) or f"draft-{hashlib.sha256(f'{lang}/{title}'.encode()).hexdigest()[:8]}", used)
    elif not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", article_id):
        raise KBEditError(str(root / lang), f"id {article_id!r} may contain only letters, digits, '.', '_' and '-'", field="id")
    elif article_id in used:
        raise KBEditError(str(root / lang / f"{article_id}.md"), f"id {article_id!r} is used already by {used[article_id]}; a draft is a new article: choose another id", field="id")
    path = root / lang / f"{article_id}.md"
    text = draft_text(article_id, lang, title, questions)
    article = _parse(text, path, "the draft would not load")
    if not article.draft or article.title != title:
        raise KBEditError(str(path), "the draft would not load as written; write it by hand")
    return save_article(path, text.encode("utf-8"), None, message or f"KB: new draft {lang}/{article_id}", author)


def draft_text(article_id: str, lang: str, title: str, questions: Iterable[str]) -> str:
    """The text of a new draft article: front matter with `draft: true`, and a placeholder body."""
    unique: dict[str, str] = {}
    for question in [questions] if isinstance(questions, str) else questions:
        question = " ".join(str(question).split())
        if question:
            unique.setdefault(_fold(question), question)
    meta: dict[str, object] = {"id": article_id, "lang": lang, "title": title}
    if unique:
        meta["questions"] = list(unique.values())
    meta["draft"] = True
    front = yaml.dump(meta, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=_NO_WRAP, default_flow_style=False)
    return f"---\n{front}---\n{DRAFT_BODY}\n"


def slug(title: str) -> str:
    """An ASCII id from a title ("Ödeme iptali" -> "odeme-iptali"); "" when it is mostly not Latin script."""
    letters = [c for c in title if c.isalpha()]
    latin = sum(1 for c in letters if _ascii(c))
    if not letters or latin * 2 < len(letters):
        return ""
    words = re.sub(r"[^a-z0-9]+", "-", _ascii(title).lower()).strip("-")
    if len(words) > 60:
        words = words[:60].rsplit("-", 1)[0] if "-" in words[:60] else words[:60]
    return words


class _Dumper(yaml.SafeDumper):
    """Lists indented under their key, as the KB's articles write them."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text.translate(_TO_ASCII)).encode("ascii", "ignore").decode("ascii")


def _unique(base: str, used: dict[str, str]) -> str:
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _ids(root: Path) -> dict[str, str]:
    """Every article id in the KB (any language), with a file that has it; a file that does not load counts by its name."""
    used: dict[str, str] = {}
    for path in sorted(root.glob("*/*.md")):
        used.setdefault(path.stem, str(path))
        try:
            used.setdefault(parse_article(path).id, str(path))
        except KBError:
            pass
    return used


def _parse(text: str, path: Path, why: str = "fix it first") -> Article:
    try:
        return parse_article_bytes(text.encode("utf-8"), path)
    except KBError as e:
        raise KBEditError(e.path, f"{e.message}; {why}", line=e.line, field=e.field) from e


def _split(text: str) -> tuple[str, list[str], int]:
    """A byte-order mark, the lines (split on '\\n' only, so a CRLF line keeps its '\\r'), and the index of the closing '---'."""
    bom = text[: len(text) - len(text.lstrip("\ufeff"))]
    lines = text[len(bom) :].split("\n")
    return bom, lines, next(i for i in range(1, len(lines)) if lines[i].strip() == "---")


def _bare(line: str) -> str:
    return line[:-1] if line.endswith("\r") else line


def _fold(question: str) -> str:
    return " ".join(question.casefold().split())
