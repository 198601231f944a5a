"""Saving one article file: one git commit when the KB is in a git checkout, else an atomic
write that keeps the previous version as a backup.

In a checkout (`git -C <folder> rev-parse --show-toplevel`), each save is one commit that
touches only that file (`git commit --only`, so whatever else is staged stays staged), with the
caller's message and author. A file with changes not yet committed, or not committed at all, is
refused: someone is editing it. The committer is git's configured identity; where git has none,
"Answerdesk <answerdesk@localhost>". A commit that fails puts the file back as it was.

Elsewhere the new bytes go to a temporary file in the same folder (`.<name>.*.tmp`), then
`os.replace`; the previous version is first copied to `<lang>/.backup/<name>.<UTC time>`. The
loader (`index/kb.py`) reads only `<lang>/*.md` and skips other names and folders inside a
language folder without a word, so neither is taken for an article. The last BACKUPS of each
file are kept.

Both ways, the file is compared with what the caller read just before it is replaced, and a new
file never replaces one that exists.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from index.errors import KBEditError

GIT_SECONDS = 30
BACKUPS = 20  # previous versions kept per file outside git
BACKUP_FOLDER = ".backup"
FALLBACK_COMMITTER = ("Answerdesk", "answerdesk@localhost")
CHANGED = "the file changed since it was read (someone saved it meanwhile); reload the article and try again"


@dataclass(frozen=True)
class Author:
    """Who a commit is written in the name of (the person who accepted the change)."""

    name: str
    email: str

    def __post_init__(self) -> None:
        for field, value in (("name", self.name), ("email", self.email)):
            if not value.strip() or any(c in value for c in "<>\n\r\0"):
                raise ValueError(f"author {field} {value!r} must be non-empty, on one line, without '<' or '>'")


@dataclass(frozen=True)
class Saved:
    """What a save did: the file written, and the commit made or the backup kept."""

    path: Path
    commit: str | None = None  # the commit's hash, in a git checkout
    backup: Path | None = None  # the previous version's copy, outside git (None for a new file)


class _GitFailed(Exception):
    pass


def save_article(path: str | Path, data: bytes, previous: bytes | None, message: str, author: Author | None = None) -> Saved:
    """Write `data` to the article `path`, which held `previous` when read (None: a new file).

    Raise KBEditError, writing nothing, when the file is no longer `previous` (or exists, for a
    new file), or, in git, has changes not committed; and when the commit fails."""
    path = Path(path)
    if previous is None:
        path.parent.mkdir(parents=True, exist_ok=True)  # a draft in a language the KB does not have yet
    real = Path(os.path.realpath(path)) if previous is not None else path.parent.resolve() / path.name  # a symlinked article: its file
    top = git_top(real.parent)
    if top is None:
        backup = _backup(real, previous) if previous is not None else None
        _write(real, data, previous)
        return Saved(path, backup=backup)
    return Saved(path, commit=_commit(top, path, real, data, previous, message, author))


def git_top(folder: str | Path) -> Path | None:
    """The top of the git checkout `folder` is in; None when it is in none (or git is not installed)."""
    try:
        return Path(_git(Path(folder), "rev-parse", "--show-toplevel").strip())
    except FileNotFoundError:
        return None
    except _GitFailed as e:
        if "not a git repository" in str(e):
            return None
        raise KBEditError(str(folder), f"git cannot read this folder: {e}") from e


def _commit(top: Path, path: Path, real: Path, data: bytes, previous: bytes | None, message: str, author: Author | None) -> str:
    rel = os.path.relpath(real, top)
    if previous is not None:
        if not _git(top, "ls-files", "--", rel).strip():
            raise KBEditError(str(path), "is not committed to git: commit it first (or ask who is writing it), then try again")
        if _git(top, "status", "--porcelain", "--", rel).strip():
            raise KBEditError(str(path), "has changes not committed to git: someone is editing it; commit or discard them, then try again")
    if not message.strip():
        raise ValueError("a commit message is needed")
    _write(real, data, previous)
    try:
        if previous is None:
            _git(top, "add", "--", rel)
        by = ["--author", f"{author.name} <{author.email}>"] if author else []
        _git(top, *_identity(top), "commit", "--only", "--quiet", "-m", message, *by, "--", rel)
        return _git(top, "rev-parse", "HEAD").strip()
    except (_GitFailed, OSError) as e:
        _undo(top, real, rel, previous)
        raise KBEditError(str(path), f"git could not commit the change, so nothing was saved: {e}") from e


def _identity(top: Path) -> list[str]:
    """`-c user.name=... -c user.email=...` for what git has no identity for, else nothing."""
    out = []
    for key, env, fallback in (("user.name", "GIT_COMMITTER_NAME", FALLBACK_COMMITTER[0]), ("user.email", "GIT_COMMITTER_EMAIL", FALLBACK_COMMITTER[1])):
        if os.environ.get(env):
            continue
        try:
            _git(top, "config", "--get", key)
        except _GitFailed:
            out += ["-c", f"{key}={fallback}"]
    return out


def _undo(top: Path, real: Path, rel: str, previous: bytes | None) -> None:
    """After a failed commit: the file as it was (a new one gone, and unstaged)."""
    if previous is None:
        try:
            _git(top, "rm", "--cached", "--quiet", "--ignore-unmatch", "--", rel)
        except (_GitFailed, OSError):
            pass
        real.unlink(missing_ok=True)
    else:
        _write(real, previous, None, replace=True)


def _write(path: Path, data: bytes, previous: bytes | None, replace: bool = False) -> None:
    """Replace `path` with `data` in one rename, if it still holds `previous` (None: create it, never replacing)."""
    mode = 0o644
    if previous is not None or replace:
        try:
            mode = path.stat().st_mode & 0o7777
            if previous is not None and path.read_bytes() != previous:
                raise KBEditError(str(path), CHANGED)
        except FileNotFoundError as e:
            raise KBEditError(str(path), "the file was removed since it was read; reload the articles and try again") from e
    elif os.path.lexists(path):
        raise KBEditError(str(path), "a file with this name exists already; it is not overwritten: choose another id")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # not *.md: never read as an article
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        if previous is None and not replace:
            _create(Path(tmp), path)
        else:
            os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def _create(tmp: Path, path: Path) -> None:
    """Move `tmp` to `path`, which must not exist (a link is atomic about that; a rename is not)."""
    try:
        os.link(tmp, path)
    except FileExistsError as e:
        raise KBEditError(str(path), "a file with this name exists already; it is not overwritten: choose another id") from e
    except OSError:  # a filesystem without hard links
        if os.path.lexists(path):
            raise KBEditError(str(path), "a file with this name exists already; it is not overwritten: choose another id") from None
        os.replace(tmp, path)


def _backup(path: Path, previous: bytes) -> Path:
    """Keep `previous` as `<folder>/.backup/<name>.<UTC time>`; drop the oldest past BACKUPS."""
    folder = path.parent / BACKUP_FOLDER
    folder.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    backup = folder / f"{path.name}.{stamp}"
    backup.write_bytes(previous)
    mine = re.compile(re.escape(path.name) + r"\.\d{8}T\d{12}Z")
    kept = sorted(p for p in folder.iterdir() if mine.fullmatch(p.name))
    for old in kept[:-BACKUPS]:
        old.unlink(missing_ok=True)
    return backup


def _git(folder: Path, *args: str) -> str:
    env = {**os.environ, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}  # English messages to read; never ask for a password
    try:
        done = subprocess.run(["git", "-c", "core.quotePath=false", "-C", str(folder), *args],
                              capture_output=True, text=True, timeout=GIT_SECONDS, env=env)
    except subprocess.TimeoutExpired as e:
        raise _GitFailed(f"git {args[0]} took over {GIT_SECONDS} s") from e
    if done.returncode != 0:
        raise _GitFailed((done.stderr or done.stdout).strip() or f"git {args[0]} failed ({done.returncode})")
    return done.stdout
