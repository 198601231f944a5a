"""An article's "updated" date: front matter, else the last commit of a git checkout, else the file's time."""

import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from index.updated import last_updated


def git(folder: Path, *args: str, date: str | None = None) -> None:
    env = {**os.environ, **({"GIT_COMMITTER_DATE": date, "GIT_AUTHOR_DATE": date} if date else {})}
    subprocess.run(["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", "-C", str(folder), *args], check=True, capture_output=True, env=env)


def touch(path: Path, text: str, day: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    stamp = datetime.fromisoformat(day).replace(tzinfo=timezone.utc).timestamp()
    os.utime(path, (stamp, stamp))
    return str(path)


def test_a_fresh_clone_shows_each_articles_last_commit_not_the_clone_date(tmp_path: Path) -> None:
    kb = tmp_path / "repo" / "kb"
    old = touch(kb / "en" / "old.md", "one", "2026-12-01")
    edited = touch(kb / "en" / "edited.md", "two", "2026-12-01")
    twice = touch(kb / "ar" / "twice.md", "five", "2026-12-01")
    git(tmp_path / "repo", "init", "-q")
    git(tmp_path / "repo", "add", ".")
    git(tmp_path / "repo", "commit", "-q", "-m", "first", date="2026-03-04T10:00:00+03:00")
    touch(kb / "en" / "edited.md", "two, better", "2026-12-01")
    touch(kb / "ar" / "twice.md", "five, better", "2026-12-01")
    git(tmp_path / "repo", "commit", "-q", "-am", "second", date="2026-05-06T23:30:00-02:00")  # May 7 in UTC
    touch(kb / "en" / "edited.md", "two, even better", "2026-12-01")  # not committed yet: the file's own time
    new = touch(kb / "tr" / "new.md", "three", "2026-11-30")  # never committed
    given = touch(kb / "en" / "given.md", "four", "2026-12-01")
    git(tmp_path / "repo", "add", given)
    git(tmp_path / "repo", "commit", "-q", "-m", "third", date="2026-06-01T12:00:00Z")

    dates = last_updated([old, twice, edited, new, given], {given: "2025-01-02"})
    assert dates == {old: "2026-03-04", twice: "2026-05-07", edited: "2026-12-01", new: "2026-11-30", given: "2025-01-02"}


def test_outside_a_git_checkout_the_files_time(tmp_path: Path) -> None:
    path = touch(tmp_path / "kb" / "en" / "a.md", "one", "2026-02-03")
    assert last_updated([path]) == {path: "2026-02-03"}
