"""`answerdesk reindex` killed with SIGKILL half-way: the old index keeps serving, and the next
reindex cleans up and publishes.

The real command in a subprocess, over an index that already serves a web app in this process.
An editor added articles; the reindex is killed at one of three points, each found by watching
`<index>.builds/` (index/build.py writes a hidden `.tmp-<stamp>-<pid>` folder, renames it when
complete, then bot/reindex/run.py calibrates and publishes):

- while encoding: the `.tmp-…` folder exists and is still empty;
- while calibrating: the complete snapshot has its name but no calibration.json yet;
- right before publish: a probe (sitecustomize.py on PYTHONPATH) stops the process with SIGSTOP
  as `publish` is called; that window is too short to hit by watching files.

Leftovers: the next reindex removes a dead build's `.tmp-…` folder (index/build.py
remove_abandoned_builds); a complete snapshot that was never published is one of the three
snapshots `publish` keeps, so it goes with the next prunes and cannot pile up.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from bot.config import Settings
from bot.desk.desk import Desk, utc_now
from bot.answer.engine import Engine
from bot.desk.hours import parse_hours
from bot.store.connect import open_store
from channels.web.app import create_app
from index.build import remove_abandoned_builds
from index.encoders import as_encoders
from index.search import ArticleScore, LiveIndex
from tests.conftest import SMALL_KB, write_article

pytestmark = pytest.mark.slow  # over 10 s on 2 cores (tests/conftest.py SLOW_SECONDS)
ANSWERDESK = Path(sys.executable).with_name("answerdesk")
QUESTIONS = ["I forgot my password", "how much is delivery", "I want my money back", "Şifremi unuttum", "when are you open"]
TOPICS = ["invoice", "coupon", "warranty", "subscription", "gift wrap", "loyalty points", "store pickup", "price match"]
ADDED = 40  # new articles to encode: a second or two, long enough to be killed in
STOP_BEFORE_PUBLISH = """\
import os
import signal

if os.environ.get("ANSWERDESK_TEST_STOP_BEFORE_PUBLISH"):
    import bot.reindex.run

    _publish = bot.reindex.run.publish

    def publish(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGSTOP)  # the test kills the process here
        return _publish(*args, **kwargs)

    bot.reindex.run.publish = publish
"""


def run_reindex(kb: Path, index: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(ANSWERDESK), "reindex", "--kb", str(kb), "--index", str(index)],
        env={**{k: v for k, v in os.environ.items() if not k.startswith("ANSWERDESK_")}, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def finished(process: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out + err


@pytest.fixture(scope="module")
def served_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with kb/ (SMALL_KB) and index -> index.builds/<snapshot>, built by the real command."""
    root = tmp_path_factory.mktemp("served")
    for lang, article_id, title, body, questions in SMALL_KB:
        write_article(root / "kb", lang, article_id, title, body, questions)
    code, output = finished(run_reindex(root / "kb", root / "index"))
    assert code == 0, output
    return root


@dataclass
class Site:
    kb: Path
    index: Path
    builds: Path
    app: Flask
    live: LiveIndex
    encoder: Any

    def snapshots(self) -> set[str]:
        return {p.name for p in self.builds.iterdir() if p.is_dir() and not p.name.startswith(".")}

    def hidden(self) -> list[Path]:
        return sorted(p for p in [*self.builds.iterdir(), *self.index.parent.iterdir()] if p.name.startswith("."))

    def search(self, live: LiveIndex | None = None) -> list[list[ArticleScore]]:
        snapshot = (live or self.live).current()
        return [snapshot.search([v[0] for v in as_encoders(self.encoder).encode_queries([q])]) for q in QUESTIONS]

    def ask(self, question: str) -> tuple[str | None, str | None]:
        """(action, article id) of the web app's first reply to `question` in a new conversation."""
        client = self.app.test_client()
        opened = client.post("/api/conversations", json={"lang": "en"})
        assert opened.status_code == 201, opened.get_data(as_text=True)
        said = client.post(f"/api/conversations/{opened.get_json()['id']}/messages", json={"text": question})
        assert said.status_code == 200, said.get_data(as_text=True)
        reply = said.get_json()["replies"][0]
        return reply["action"], reply["article_id"]

    def served_articles(self) -> int:
        response = self.app.test_client().get("/healthz")
        assert response.status_code == 200, response.get_data(as_text=True)
        return int(response.get_json()["articles"])


@pytest.fixture
def site(served_once: Path, tmp_path: Path, real_encoders: Any) -> Iterator[Site]:
    root = tmp_path / "site"
    shutil.copytree(served_once, root, symlinks=True)  # the link is relative: the copy serves its own snapshot
    settings = Settings(kb_dir=str(root / "kb"), index_dir=str(root / "index"))
    live = LiveIndex(settings.index_dir)
    engine = Engine(settings, real_encoders, live)
    store = open_store(str(tmp_path / "desk.db"))
    desk = Desk(engine, store, parse_hours("24/7", "UTC", ""), timedelta(seconds=180), clock=utc_now)
    app = create_app(settings, desk=desk)
    app.config.update(TESTING=True)
    yield Site(root / "kb", root / "index", root / "index.builds", app, live, real_encoders)
    app.extensions["answerdesk"].reindex.wait(60)
    store.close()


def add_articles(kb: Path) -> None:
    """The edit being reindexed: ADDED new articles, one of them easy to ask for."""
    write_article(kb, "en", "gift-cards", "Gift cards", "Gift cards never expire and work on every order.",
                  ["do gift cards expire", "I lost my gift card"])
    for n in range(ADDED - 1):
        topic = TOPICS[n % len(TOPICS)]
        write_article(kb, "en", f"{topic.replace(' ', '-')}-{n}", f"{topic.title()} case {n}",
                      f"About {topic} case {n}: open the {topic} page, choose option {n} and follow the steps.",
                      [f"how does {topic} {n} work", f"problem with {topic} number {n}"])


def stopped(pid: int) -> bool:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        return f.read().rsplit(")", 1)[1].split()[0] == "T"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="watches /proc and sends SIGSTOP/SIGKILL")
@pytest.mark.parametrize("point", ["encoding", "calibrating", "publishing"])
def test_a_reindex_killed_half_way_leaves_the_old_index_serving_and_the_next_one_publishes(
    site: Site, tmp_path: Path, point: str
) -> None:
    old_target = os.readlink(site.index)
    old_snapshot = site.index.resolve()
    old_files = sorted(os.listdir(old_snapshot))
    serving = site.live.current()
    searched = site.search()
    answered = [site.ask(q) for q in QUESTIONS]
    assert site.served_articles() == 5 and answered[0] == ("answer", "reset-password")
    before = site.snapshots()

    add_articles(site.kb)
    env = {}
    if point == "publishing":
        (tmp_path / "probe").mkdir()
        (tmp_path / "probe" / "sitecustomize.py").write_text(STOP_BEFORE_PUBLISH, encoding="utf-8")
        env = {"PYTHONPATH": str(tmp_path / "probe"), "ANSWERDESK_TEST_STOP_BEFORE_PUBLISH": "1"}
    process = run_reindex(site.kb, site.index, **env)

    def new_snapshot() -> Path | None:
        new = site.snapshots() - before
        return site.builds / new.pop() if new else None

    reached: dict[str, Callable[[], bool]] = {
        "encoding": lambda: any(p.is_dir() for p in site.builds.glob(".tmp-*")),
        "calibrating": lambda: new_snapshot() is not None,
        "publishing": lambda: stopped(process.pid),
    }
    deadline = time.monotonic() + 60
    while not reached[point]():
        assert process.poll() is None, f"reindex ended before the kill point: {finished(process)}"
        assert time.monotonic() < deadline, f"reindex never reached {point}"
        time.sleep(0.005)
    if point == "encoding":
        time.sleep(0.3)  # into the encoding, which takes a second or two (checked below: nothing written yet)
    process.send_signal(signal.SIGKILL)
    code, output = finished(process)
    assert code == -signal.SIGKILL, output

    # Where it died: a half-written folder, or a complete snapshot nobody points at.
    tmp = [p for p in site.builds.glob(".tmp-*") if p.is_dir()]
    killed = new_snapshot()
    if point == "encoding":
        assert len(tmp) == 1 and list(tmp[0].iterdir()) == [] and killed is None
    else:
        assert tmp == [] and killed is not None and (killed / "manifest.json").exists()
        assert (killed / "calibration.json").exists() == (point == "publishing")

    # The old index keeps serving: the link, its files, this process's LiveIndex, a new one, the web app.
    assert os.readlink(site.index) == old_target and sorted(os.listdir(old_snapshot)) == old_files
    assert site.live.current() is serving and site.search() == searched
    assert site.search(LiveIndex(site.index)) == searched
    assert [site.ask(q) for q in QUESTIONS] == answered and site.served_articles() == 5

    # The next reindex is not bothered by the leftovers, publishes, and removes the half-written folder.
    code, output = finished(run_reindex(site.kb, site.index))
    assert code == 0, output
    published = site.index.resolve()
    assert published not in (old_snapshot, killed) and (published / "calibration.json").exists()
    assert json.loads((published / "manifest.json").read_text(encoding="utf-8"))["articles"] == 5 + ADDED
    assert site.live.current() is not serving and site.served_articles() == 5 + ADDED
    assert site.ask("do gift cards expire") == ("answer", "gift-cards")
    assert [site.ask(q) for q in QUESTIONS] == answered
    assert site.hidden() == []  # no .tmp-… build folder, no half-made link
    if point == "encoding":
        assert f"removed {tmp[0]}, left by a reindex that did not finish" in output
    # A complete snapshot that was never published counts against the three kept, so it cannot pile up.
    assert len(site.snapshots()) <= 3 and old_snapshot.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="no fcntl: abandoned builds are kept there")
def test_only_the_folders_of_builds_that_died_are_removed(tmp_path: Path) -> None:
    import fcntl

    dead = tmp_path / ".tmp-20260101T000000000000Z-4242"
    running = tmp_path / f".tmp-20260101T000000000001Z-{os.getpid()}"
    snapshot = tmp_path / "20260101T000000000002Z-abcdef12"
    for folder in (dead, running, snapshot):
        folder.mkdir()
        (folder / "vectors.faiss").write_bytes(b"x")
    held = os.open(running, os.O_RDONLY)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)  # as build_snapshot holds its folder, here from this very process
        assert remove_abandoned_builds(tmp_path) == [dead]
    finally:
        os.close(held)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([running.name, snapshot.name])
    assert remove_abandoned_builds(tmp_path) == [running]  # its build is gone now
