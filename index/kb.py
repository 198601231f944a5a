"""Loading the knowledge base: `<lang>/<article-id>.md` files with YAML front matter.

Every problem in the folder is collected and reported together, each naming its file,
line and field, so a maintainer fixes them in one pass.

Only regular files are read. The folder is walked with `lstat`, never following a link or
opening a file to find out what it is: a named pipe, socket or device, a folder named `*.md`,
and a symlink that is dangling, loops, or leads outside the KB or to anything but a regular
file are each reported. A symlink to an article file inside the KB is read as that file.

An article with `draft: true` is validated like any other but not served (`KnowledgeBase.served`);
a draft is a new article, so it may not share its id with a served one.
"""

from __future__ import annotations

import errno
import hashlib
import os
import pickle
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import MutableMapping

import yaml

from index.errors import KBError, KBErrors
from index.front_matter import Loader as FrontMatterLoader

_LANG = re.compile(r"^[a-z]{2}$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_REQUIRED = ("id", "lang", "title")


@dataclass(frozen=True)
class Article:
    id: str
    lang: str
    title: str
    body: str
    questions: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    path: str = ""
    updated: str = ""
    source: str = ""  # front matter `source: en`: the language this version was translated from
    source_line: int | None = None  # where `source:` is written, for errors about it
    draft: bool = False  # front matter `draft: true`: validated, never indexed or served

    @property
    def content_hash(self) -> str:
        """Hash of what this article contributes to the index."""
        text = "\x1f".join((self.id, self.lang, self.title, self.body, *self.questions))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class KnowledgeBase:
    articles: tuple[Article, ...]
    root: str = ""
    _by_key: dict[tuple[str, str], Article] = field(default_factory=dict, compare=False, repr=False)
    _by_id: dict[str, list[Article]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_key.update({(a.id, a.lang): a for a in self.articles})
        for a in self.articles:
            self._by_id.setdefault(a.id, []).append(a)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(sorted({a.lang for a in self.articles}))

    @property
    def article_ids(self) -> tuple[str, ...]:
        return tuple(sorted({a.id for a in self.articles}))

    def served(self) -> "KnowledgeBase":
        """The KB without its drafts: what is indexed and answered from."""
        return KnowledgeBase(articles=tuple(a for a in self.articles if not a.draft), root=self.root)

    def get(self, article_id: str, lang: str) -> Article | None:
        return self._by_key.get((article_id, lang))

    def versions(self, article_id: str) -> list[Article]:
        """Every language version of one article."""
        return list(self._by_id.get(article_id, ()))

    @property
    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for article in sorted(self.articles, key=lambda a: (a.id, a.lang)):
            digest.update(article.content_hash.encode())
        return digest.hexdigest()


def load_kb(root: str | Path, parsed: MutableMapping[str, tuple[int, int, Article]] | None = None) -> KnowledgeBase:
    """Load and validate every article below `root`; raise KBErrors listing all problems.

    `parsed` remembers articles by path, modification time and size, so a reindex re-reads
    only the files that changed.
    """
    root = Path(root)
    if not root.is_dir():
        raise KBErrors([KBError(str(root), "knowledge base folder not found; set ANSWERDESK_KB or pass --kb DIR")])
    articles: list[Article] = []
    seen: dict[tuple[str, str], str] = {}
    paths, errors = _article_files(root)
    for path in paths:
        try:
            article = _parse_or_reuse(path, parsed)
        except KBError as e:
            errors.append(e)
            continue
        key = (article.id, article.lang)
        if key in seen:
            errors.append(KBError(str(path), f"duplicate article id {article.id!r} in language {article.lang!r}; also in {seen[key]}", field="id"))
            continue
        seen[key] = str(path)
        articles.append(article)
    errors += _source_errors(articles) + _draft_errors(articles)
    if not articles and not errors:
        errors.append(KBError(str(root), "the knowledge base is empty: add <lang>/<article-id>.md files"))
    if errors:
        raise KBErrors(errors)
    return KnowledgeBase(articles=tuple(articles), root=str(root))


def _article_files(root: Path) -> tuple[list[Path], list[KBError]]:
    """The files to read as articles (`<lang>/*.md`), and a problem for every entry that is not one.

    Nothing is opened or followed: entries are told apart by `lstat` (`os.scandir`)."""
    inside = root.resolve()
    files: list[Path] = []
    errors: list[KBError] = []
    for top, mode in _entries(root, errors):
        if top.name.endswith(".md"):
            problem = _not_an_article(top, mode, inside)
            errors.append(KBError(str(top), problem or "articles belong in a language folder: move it to <lang>/" + top.name))
        elif stat.S_ISDIR(mode):
            for path, file_mode in _entries(top, errors):
                if path.name.endswith(".md"):
                    problem = _not_an_article(path, file_mode, inside)
                    if problem:
                        errors.append(KBError(str(path), problem))
                    else:
                        files.append(path)
        elif stat.S_ISLNK(mode):
            problem = _symlink_problem(top, inside, folder=True)
            if problem:  # a link to a file with another name is not part of the KB
                errors.append(KBError(str(top), problem))
    return files, errors


def _entries(folder: Path, errors: list[KBError]) -> list[tuple[Path, int]]:
    """A folder's entries by name, each with its own mode (links not followed)."""
    found: list[tuple[Path, int]] = []
    try:
        with os.scandir(folder) as it:
            for entry in it:
                try:
                    found.append((Path(folder, entry.name), entry.stat(follow_symlinks=False).st_mode))
                except OSError as e:
                    errors.append(KBError(str(Path(folder, entry.name)), f"cannot be read: {e.strerror}"))
    except OSError as e:
        errors.append(KBError(str(folder), f"folder cannot be read: {e.strerror}; check its permissions"))
    return sorted(found, key=lambda item: item[0].name)


def _not_an_article(path: Path, mode: int, inside: Path) -> str | None:
    """Why an `*.md` entry cannot be read as an article, or None for a regular file (or a link to one)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return _symlink_problem(path, inside, folder=False)
    if stat.S_ISDIR(mode):
        return "a folder named like an article: articles are <lang>/<article-id>.md files; rename the folder or move it out of the knowledge base"
    return f"{_kind(mode)}, not a regular file: articles are plain .md files; remove it from the knowledge base"


def _symlink_problem(path: Path, inside: Path, folder: bool) -> str | None:
    """None for a symlink to a regular file inside the KB; else what is wrong with it."""
    fix = "make it a real folder" if folder else "point it at an article file inside the knowledge base, or copy the file there"
    target = "?"
    try:
        target = os.readlink(path)
        mode = os.stat(path).st_mode  # follows the link: a loop or a missing target raises here
    except OSError as e:
        if e.errno == errno.ELOOP:
            return f"a symlink loop (-> {target}): it never reaches a file; remove it or {fix}"
        if e.errno == errno.ENOENT:
            return f"a dangling symlink: {target} does not exist; remove it or {fix}"
        return f"a symlink that cannot be followed ({e.strerror}); remove it or {fix}"
    real = Path(os.path.realpath(path))
    if folder:
        if not stat.S_ISDIR(mode):
            return None
        return f"a symlink to the folder {real}: language folders are not followed through symlinks; {fix}"
    if not real.is_relative_to(inside):
        return f"a symlink to {real}, outside the knowledge base folder {inside}; {fix}"
    if not stat.S_ISREG(mode):
        return f"a symlink to {real}, which is {_kind(mode)}; {fix}"
    return None


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _read_regular(path: Path) -> bytes:
    """The bytes of a regular file; anything else is refused without waiting on it."""
    # O_NONBLOCK: even a FIFO that appeared since the folder was walked cannot block the open.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise KBError(str(path), f"cannot be read: {e.strerror}") from e
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise KBError(str(path), f"{_kind(mode)}, not a regular file: articles are plain .md files; remove it from the knowledge base")
        try:
            return f.read()
        except OSError as e:
            raise KBError(str(path), f"cannot be read: {e.strerror}") from e


def _parse_or_reuse(path: Path, parsed: MutableMapping[str, tuple[int, int, Article]] | None) -> Article:
    if parsed is None:
        return parse_article(path)
    try:
        now = path.stat()
    except OSError as e:  # removed or replaced since the folder was walked
        raise KBError(str(path), f"cannot be read: {e.strerror}") from e
    known = parsed.get(str(path))
    if known and known[:2] == (now.st_mtime_ns, now.st_size):
        return known[2]
    article = parse_article(path)
    parsed[str(path)] = (now.st_mtime_ns, now.st_size, article)
    return article


class ParsedArticles(dict):
    """Parsed articles kept between reindexes, in the index's own builds folder."""

    # Bumped when `Article` gains a field: a cache from before would hold it empty for every file.
    FORMAT = 3

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        try:
            with path.open("rb") as f:
                cached = pickle.load(f)
            if isinstance(cached, tuple) and len(cached) == 2 and cached[0] == self.FORMAT:
                self.update(cached[1])
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError):
            pass  # no cache, or one from another version: parse everything

    def save(self, kb: "KnowledgeBase") -> None:
        keep = {a.path for a in kb.articles}
        tmp = self.path.with_suffix(".tmp")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as f:
            pickle.dump((self.FORMAT, {k: v for k, v in self.items() if k in keep}), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, self.path)


def parse_article(path: Path) -> Article:
    """Parse one article file; raise KBError naming the line or field at fault."""
    return parse_article_bytes(_read_regular(path), path)


def parse_article_bytes(raw: bytes, path: Path) -> Article:
    """Parse an article's bytes as if read from `path` (its folder names its language)."""
    name = str(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise KBError(name, f"not valid UTF-8 (byte {e.start}); save the file as UTF-8", line=line) from e
    text = text.lstrip("\ufeff").replace("\r\n", "\n")
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise KBError(name, "missing front matter: the file must start with a '---' line", line=1)
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise KBError(name, "front matter is not closed: add a '---' line after it", line=1) from None
    try:
        meta = yaml.load("\n".join(lines[1:end]), Loader=FrontMatterLoader) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 2
        problem = getattr(e, "problem", None) or str(e)
        raise KBError(name, f"malformed front matter: {problem}", line=line) from e
    if not isinstance(meta, dict):
        raise KBError(name, "front matter must be a mapping of fields (id, lang, title, ...)", line=2)
    for key in _REQUIRED:
        value = meta.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise KBError(name, f"required field '{key}' is missing", line=_line_of(lines, key, end), field=key)
        if not isinstance(value, (str, int, float)):
            raise KBError(name, f"field '{key}' must be text", line=_line_of(lines, key, end), field=key)
    article_id, lang = str(meta["id"]).strip(), str(meta["lang"]).strip().lower()
    if not _ID.match(article_id):
        raise KBError(name, f"id {article_id!r} may contain only letters, digits, '.', '_' and '-'", line=_line_of(lines, "id", end), field="id")
    if not _LANG.match(lang):
        raise KBError(name, f"lang {lang!r} is not an ISO 639-1 code such as 'en'", line=_line_of(lines, "lang", end), field="lang")
    folder = path.parent.name
    if lang != folder:
        raise KBError(name, f"lang {lang!r} does not match its folder {folder!r}; move the file or fix the field", line=_line_of(lines, "lang", end), field="lang")
    questions = _string_list(meta.get("questions"), name, "questions", _line_of(lines, "questions", end))
    tags = _string_list(meta.get("tags"), name, "tags", _line_of(lines, "tags", end))
    updated = meta.get("updated", "")
    source, source_line = _source(meta.get("source"), lang, name, _line_of(lines, "source", end))
    draft = meta.get("draft", False)
    if draft is not None and not isinstance(draft, bool):
        raise KBError(name, f"draft {draft!r} must be true or false (unquoted)", line=_line_of(lines, "draft", end), field="draft")
    return Article(
        id=article_id,
        lang=lang,
        title=str(meta["title"]).strip(),
        body="\n".join(lines[end + 1 :]).strip(),
        questions=questions,
        tags=tags,
        path=name,
        updated=str(updated) if updated else "",
        source=source,
        source_line=source_line,
        draft=bool(draft),
    )


def _source(value: object, lang: str, name: str, line: int | None) -> tuple[str, int | None]:
    """The `source:` field: the ISO 639-1 code of another language version, or ""."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "", None
    code = str(value).strip().lower() if isinstance(value, str) else ""
    if not _LANG.match(code):
        raise KBError(name, f"source {value!r} is not an ISO 639-1 code such as 'en': name the language this version was translated from", line=line, field="source")
    if code == lang:
        raise KBError(name, f"source {code!r} is this version's own language; name the version it was translated from, or remove 'source:' if it is the original", line=line, field="source")
    return code, line


def _source_errors(articles: list[Article]) -> list[KBError]:
    """`source:` must name another version of the same article, and sources may not go round in a circle."""
    by_key = {(a.id, a.lang): a for a in articles}
    errors: list[KBError] = []
    for article in articles:
        if not article.source:
            continue
        if (article.id, article.source) not in by_key:
            have = ", ".join(sorted(a.lang for a in articles if a.id == article.id))
            errors.append(KBError(
                article.path, f"source {article.source!r}: article {article.id!r} has no {article.source!r} version (it has {have}); "
                f"add {article.source}/{Path(article.path).name} or name one of those", line=article.source_line, field="source",
            ))
            continue
        chain, current = [article.lang], by_key[(article.id, article.source)]
        while current.source and current.lang not in chain and (article.id, current.source) in by_key:
            chain.append(current.lang)
            current = by_key[(article.id, current.source)]
        if current.lang == article.lang:
            circle = " -> ".join([*chain, article.lang])
            errors.append(KBError(
                article.path, f"source {article.source!r} goes round in a circle ({circle}); remove 'source:' from the original version",
                line=article.source_line, field="source",
            ))
    return errors


def _draft_errors(articles: list[Article]) -> list[KBError]:
    """A draft is a new article: it may not share its id with an article that is served."""
    served = {a.id: a.path for a in reversed(articles) if not a.draft}
    return [KBError(a.path, f"draft {a.id!r} has the id of the published article {served[a.id]}; a draft is a new article: "
                    "give it another id (and file name), or edit the published article instead", field="id")
            for a in articles if a.draft and a.id in served]


def _string_list(value: object, name: str, key: str, line: int | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise KBError(name, f"field '{key}' must be a list of text items", line=line, field=key)
    return tuple(str(v).strip() for v in value if str(v).strip())


def _line_of(lines: list[str], key: str, end: int) -> int | None:
    for i in range(1, end):
        if lines[i].startswith(f"{key}:"):
            return i + 1
    return None
