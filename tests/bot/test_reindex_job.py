"""The console's background reindex: one at a time across worker processes, one status for all."""

from __future__ import annotations

import io
import json
import os
import signal
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

import bot.reindex.job as job_module
from bot.config import Settings
from bot.reindex.job import ReindexJob, ReindexStatus
from bot.reindex.run import reindex
from index.build import builds_folder
from tests.conftest import SMALL_KB, write_article


def now() -> datetime:
    return datetime.now(timezone.utc)


def hash_site(tmp_path: Path) -> Settings:
    for lang, article_id, title, body, questions in SMALL_KB:
        write_article(tmp_path / "kb", lang, article_id, title, body, questions)
    settings = Settings(kb_dir=str(tmp_path / "kb"), index_dir=str(tmp_path / "index"), encoder="hash")
    reindex(settings, out=io.StringIO())
    return settings


def test_two_workers_share_one_job_and_its_status(tmp_path: Path) -> None:
    settings = hash_site(tmp_path)
    first, second = ReindexJob(settings, now), ReindexJob(settings, now)  # as two workers
    assert first.status.state == "done" or first.status.state == "idle"
    assert first.start()
    assert not second.start() and not first.start()
    assert second.status.state == "running"
    done = first.wait(120)
    assert done.state == "done" and "articles" in done.message
    assert second.status == done  # the other worker's console shows the same
    assert second.start()  # the lock is free again
    assert second.wait(120).state == "done"


def test_a_job_whose_process_died_reads_as_interrupted(tmp_path: Path) -> None:
    settings = hash_site(tmp_path)
    status = builds_folder(settings.index_dir) / "reindex-status.json"
    status.write_text(json.dumps({"state": "running", "started_at": now().isoformat(), "finished_at": None, "message": "x", "seconds": None}))
    job = ReindexJob(settings, now)
    assert job.status.state == "failed" and "interrupted" in job.status.message
    assert job.start() and job.wait(120).state == "done"


def failing_job(tmp_path: Path) -> ReindexJob:
    """A job whose build fails in the child: the index path is a folder, not a link reindex made."""
    write_article(tmp_path / "kb", "en", "refund", "Refunds", "Returns within 30 days.", ["can I return it"])
    (tmp_path / "index").mkdir()
    return ReindexJob(Settings(kb_dir=str(tmp_path / "kb"), index_dir=str(tmp_path / "index"), encoder="hash"), now)


def test_a_build_that_fails_in_the_child_ends_failed_with_the_reason_and_the_next_one_starts(tmp_path: Path) -> None:
    job = failing_job(tmp_path)
    assert job.start()
    status = job.wait(60)
    assert status.state == "failed" and status.finished_at is not None
    assert status.message == f"SearchIndexError: {tmp_path / 'index'} is a folder, not a link made by reindex; remove it and reindex"
    assert job.child is not None and job.child.pid != os.getpid() and job.child.returncode == 1
    assert job.start() and job.wait(60).state == "failed"
    assert ReindexJob(job.settings, now).start()  # and the lock is free for other workers too


def test_the_build_runs_in_a_child_at_the_lowest_priority_and_shows_its_steps(tmp_path: Path) -> None:
    settings = hash_site(tmp_path)
    job = ReindexJob(settings, now)
    assert job.start()
    deadline = time.monotonic() + 30
    while job.child is None:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    child = job.child.pid

    def lowered() -> bool:  # the child lowers its priority first thing, before it imports anything
        idle = not hasattr(os, "SCHED_IDLE") or os.sched_getscheduler(child) == os.SCHED_IDLE  # Linux
        return os.getpriority(os.PRIO_PROCESS, child) == job_module.NICE and idle

    while not lowered():
        assert time.monotonic() < deadline, "the child's priority was never lowered"
    messages = set()
    while job.status.state == "running" and time.monotonic() < deadline:
        messages.add(job.status.message)
        time.sleep(0.002)
    assert child != os.getpid()
    assert messages & {"building the index", "calibrating", "publishing"}, messages
    assert job.wait(60).state == "done"


def test_a_killed_child_ends_failed_the_old_index_keeps_serving_and_the_next_one_publishes(tmp_path: Path) -> None:
    settings = hash_site(tmp_path)
    served = os.readlink(settings.index_dir)
    write_article(tmp_path / "kb", "en", "gift-cards", "Gift cards", "Gift cards never expire.", ["do gift cards expire"])
    job = ReindexJob(settings, now)
    assert job.start()
    deadline = time.monotonic() + 30
    while job.child is None:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    job.child.send_signal(signal.SIGKILL)  # long before it could publish: it is still starting
    status = job.wait(60)
    assert status.state == "failed" and "killed by signal SIGKILL" in status.message
    assert os.readlink(settings.index_dir) == served and not any(builds_folder(settings.index_dir).glob(".tmp-*"))
    assert job.start() and job.wait(60).state == "done"
    assert os.readlink(settings.index_dir) != served and "6 articles" in job.status.message


def test_a_thread_gone_without_ending_the_run_does_not_block_the_next(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    job = failing_job(tmp_path)
    monkeypatch.setattr(ReindexJob, "_run", lambda self: None)  # as if killed before its `finally`
    assert job.start()
    job.wait(10)
    assert job.status.state == "failed" and "interrupted" in job.status.message
    assert not ReindexJob(job.settings, now).start()  # this process still holds the lock ...
    assert job.start()  # ... until its own next start reclaims it


def test_an_end_that_cannot_be_recorded_still_frees_the_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    job = failing_job(tmp_path)
    write = job._write
    calls: list[str] = []

    def first_only(status: ReindexStatus) -> None:
        calls.append(status.state)
        if len(calls) > 1:
            raise OSError(28, "No space left on device")
        write(status)

    monkeypatch.setattr(job, "_write", first_only)
    assert job.start()
    job.wait(60)
    assert calls[0] == "running" and calls[-1] == "failed"  # the steps in between could not be shown either
    assert ReindexJob(job.settings, now).start()


def test_a_kb_with_a_named_pipe_fails_the_job_promptly(tmp_path: Path) -> None:
    write_article(tmp_path / "kb", "en", "refund", "Refunds", "Returns within 30 days.")
    os.mkfifo(tmp_path / "kb" / "en" / "pipe.md")
    job = ReindexJob(Settings(kb_dir=str(tmp_path / "kb"), index_dir=str(tmp_path / "index"), encoder="hash"), now)
    assert job.start()
    status = job.wait(10)
    assert status.state == "failed" and f"{tmp_path / 'kb' / 'en' / 'pipe.md'}: a named pipe" in status.message
    assert job.start()
    job.wait(10)
