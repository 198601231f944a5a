"""When each article was last updated, for the "updated <date>" under an answer and on its page.

An article's front matter `updated: 2026-11-20` wins. Otherwise, when the KB is in a git
checkout, the date of the last commit that touched the file, unless the file has changes not
yet committed; otherwise the file's modification time (a fresh clone gives every file the
clone's date, which is why git comes first). Dates are UTC days, YYYY-MM-DD.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path

GIT_SECONDS = 30  # one `git log` over the KB's history; a KB of 10,000 files takes about a second


def last_updated(paths: Iterable[str], front_matter: Mapping[str, str] | None = None) -> dict[str, str]:
    """The date each article file (as given) was last updated: its front matter's, else git's,
    else its modification time."""
    given = {p: d for p, d in (front_matter or {}).items() if d}
    # realpath, not Path.resolve: a symlink loop (say, one committed to the KB's history) gives a
    # path back instead of raising; load_kb has already refused loops among the articles.
    resolved = {p: os.path.realpath(p) for p in paths if p not in given}
    committed = _git_dates(list(resolved.values()))
    return {**{p: committed.get(r) or _mtime(p) for p, r in resolved.items()}, **given}


def _git_dates(paths: list[str]) -> dict[str, str]:
    """Last commit dates of the files that are committed as they are now; {} without git."""
    if not paths:
        return {}
    folder = os.path.commonpath([os.path.dirname(p) for p in paths])
    try:
        top = _git(folder, "rev-parse", "--show-toplevel").strip()
        status = _git(folder, "status", "--porcelain", "--untracked-files=all", "--", ".")
        changed = {os.path.realpath(Path(top, line[3:].split(" -> ")[-1])) for line in status.splitlines() if len(line) > 3}
        log = _git(folder, "log", "--format=@%cI", "--name-only", "--", ".")
    except (OSError, subprocess.SubprocessError):
        return {}
    wanted, dates, day = set(paths) - changed, {}, ""
    for line in log.splitlines():
        if line.startswith("@"):
            day = datetime.fromisoformat(line[1:]).astimezone(timezone.utc).date().isoformat()
        elif line:
            path = os.path.realpath(Path(top, line))
            if path in wanted and path not in dates:
                dates[path] = day  # the log is newest first
    return dates


def _git(folder: str, *args: str) -> str:
    # Paths as they are (not quoted octal escapes), relative to the top of the checkout.
    done = subprocess.run(["git", "-c", "core.quotePath=false", "-C", folder, *args], capture_output=True, text=True, timeout=GIT_SECONDS, check=True)
    return done.stdout


def _mtime(path: str) -> str:
    try:
        return datetime.fromtimestamp(os.path.getmtime(path), timezone.utc).date().isoformat()
    except OSError:
        return ""
