"""What may stand in a KB folder: named pipes, sockets, odd symlinks and folders named `*.md` are
reported together, by path, and never opened or followed, so a check cannot hang."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from bot.errors import KBError, KBErrors
from index.kb import load_kb, parse_article
from index.updated import last_updated
from tests.conftest import write_article

ROOT = Path(__file__).parents[2]
T = TypeVar("T")

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes and symlinks as on POSIX")


def promptly(call: Callable[[], T], seconds: float = 5.0) -> T:
    """`call()`'s result or exception, failing the test if it has not returned within `seconds`."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(("value", call()))
        except BaseException as e:  # handed to the test below
            outcome.append(("error", e))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: it is blocked on something"
    kind, value = outcome[0]  # type: ignore[misc]
    if kind == "error":
        raise value  # type: ignore[misc]
    return value  # type: ignore[return-value]


def hostile_kb(tmp_path: Path) -> Path:
    """A valid article beside the five entries the security pass found."""
    kb = tmp_path / "kb"
    write_article(kb, "en", "refund", "Refunds", "Returns within 30 days.")
    en = kb / "en"
    os.mkfifo(en / "pipe.md")
    (en / "gone.md").symlink_to(en / "deleted.md")
    (en / "loop.md").symlink_to(en / "loop.md")
    (tmp_path / "secret.md").write_text("---\nid: s\nlang: en\ntitle: S\n---\n", encoding="utf-8")
    (en / "outside.md").symlink_to(tmp_path / "secret.md")
    (en / "folder.md").mkdir()
    return kb


def problems(kb: Path) -> dict[str, str]:
    with pytest.raises(KBErrors) as info:
        promptly(lambda: load_kb(kb))
    return {Path(e.path).name: str(e) for e in info.value.errors}


def test_every_entry_that_is_no_article_file_is_reported_at_once_without_blocking(tmp_path: Path) -> None:
    kb = hostile_kb(tmp_path)
    found = problems(kb)
    assert set(found) == {"pipe.md", "gone.md", "loop.md", "outside.md", "folder.md"}
    assert found["pipe.md"].startswith(f"{kb / 'en' / 'pipe.md'}: ") and "named pipe (FIFO)" in found["pipe.md"]
    assert "dangling symlink" in found["gone.md"] and "deleted.md does not exist" in found["gone.md"]
    assert "symlink loop" in found["loop.md"]
    assert "outside the knowledge base" in found["outside.md"] and str(tmp_path / "secret.md") in found["outside.md"]
    assert "a folder named like an article" in found["folder.md"]


def test_the_same_problems_with_the_parsed_articles_cache(tmp_path: Path) -> None:
    kb = hostile_kb(tmp_path)
    with pytest.raises(KBErrors) as info:
        promptly(lambda: load_kb(kb, {}))
    assert len(info.value.errors) == 5


def test_a_symlink_to_an_article_file_inside_the_kb_is_read_as_that_file(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    write_article(kb, "en", "refund", "Refunds", "Returns within 30 days.")
    shared = kb / "shared"
    shared.mkdir()
    (shared / "shipping.txt").write_text("---\nid: shipping\nlang: en\ntitle: Shipping\n---\nTwo days.\n", encoding="utf-8")
    (kb / "en" / "shipping.md").symlink_to(Path("..", "shared", "shipping.txt"))
    loaded = load_kb(kb)
    article = loaded.get("shipping", "en")
    assert article is not None and article.body == "Two days." and article.path == str(kb / "en" / "shipping.md")


def test_a_symlink_inside_the_kb_to_something_else_than_a_file_is_reported(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    write_article(kb, "en", "refund", "Refunds", "Returns within 30 days.")
    os.mkfifo(kb / "queue")
    (kb / "en" / "queue.md").symlink_to(kb / "queue")
    (kb / "en" / "folder.md").symlink_to(kb / "en")
    found = problems(kb)
    assert "named pipe (FIFO)" in found["queue.md"] and "symlink" in found["queue.md"]
    assert "which is a folder" in found["folder.md"]


def test_language_folders_and_stray_entries_at_the_top(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    write_article(kb, "en", "refund", "Refunds", "Returns within 30 days.")
    write_article(tmp_path / "elsewhere", "tr", "refund", "İadeler", "30 gün.")
    (kb / "tr").symlink_to(tmp_path / "elsewhere" / "tr")  # followed before: its articles would vanish silently
    (kb / "de").symlink_to(kb / "gone")
    (kb / "notes.md").mkdir()
    os.mkfifo(kb / "stray.md")
    os.mkfifo(kb / "README")  # not a name the loader reads: left alone
    found = problems(kb)
    assert set(found) == {"tr", "de", "notes.md", "stray.md"}
    assert "language folders are not followed through symlinks" in found["tr"]
    assert "dangling symlink" in found["de"]
    assert "a folder named like an article" in found["notes.md"]
    assert "named pipe (FIFO)" in found["stray.md"]


def test_a_socket_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kb = tmp_path / "kb"
    write_article(kb, "en", "refund", "Refunds", "Returns within 30 days.")
    monkeypatch.chdir(kb / "en")  # a relative name: socket paths are limited to about 100 bytes
    with socket.socket(socket.AF_UNIX) as server:
        server.bind("sock.md")
        assert "a socket, not a regular file" in problems(kb)["sock.md"]


def test_parse_article_refuses_a_named_pipe_without_waiting_for_a_writer(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.md")
    with pytest.raises(KBError) as info:
        promptly(lambda: parse_article(tmp_path / "pipe.md"))
    assert "named pipe (FIFO)" in str(info.value) and str(tmp_path / "pipe.md") in str(info.value)


def test_dates_of_a_symlink_loop_do_not_raise(tmp_path: Path) -> None:
    (tmp_path / "loop.md").symlink_to(tmp_path / "loop.md")
    assert last_updated([str(tmp_path / "loop.md")]) == {str(tmp_path / "loop.md"): ""}


def test_reindex_check_exits_non_zero_with_every_problem(tmp_path: Path) -> None:
    kb = hostile_kb(tmp_path)
    env = {**os.environ, "ANSWERDESK_KB": str(kb), "ANSWERDESK_ENCODER": "hash", "ANSWERDESK_INDEX": str(tmp_path / "index")}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "reindex", "--check"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60, check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "5 problem(s) in the knowledge base" in done.stderr and "Traceback" not in done.stderr
    for name in ("pipe.md", "gone.md", "loop.md", "outside.md", "folder.md"):
        assert f"{kb / 'en' / name}: " in done.stderr
