"""The console's background reindex: one at a time across worker processes, one status for all."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

import bot.reindex.job
from bot.config import Settings
from bot.reindex.job import ReindexJob, ReindexStatus
from index.build import builds_folder
from tests.conftest import small_index, write_article


def now() -> datetime:
    return datetime.now(timezone.utc)


def test_two_workers_share_one_job_and_its_status(tmp_path: Path, real_encoders: object) -> None:
    settings = small_index(tmp_path, real_encoders)
    first, second = ReindexJob(settings, now, real_encoders), ReindexJob(settings, now, real_encoders)  # as two workers
    assert first.status.state == "done" or first.status.state == "idle"
    assert first.start()
    assert not second.start() and not first.start()
    assert second.status.state == "running"
    done = first.wait(120)
    assert done.state == "done" and "articles" in done.message
    assert second.status == done  # the other worker's console shows the same
    assert second.start()  # the lock is free again
    assert second.wait(120).state == "done"


def test_a_job_whose_process_died_reads_as_interrupted(tmp_path: Path, real_encoders: object) -> None:
    settings = small_index(tmp_path, real_encoders)
    status = builds_folder(settings.index_dir) / "reindex-status.json"
    status.write_text(json.dumps({"state": "running", "started_at": now().isoformat(), "finished_at": None, "message": "x", "seconds": None}))
    job = ReindexJob(settings, now, real_encoders)
    assert job.status.state == "failed" and "interrupted" in job.status.message
    assert job.start() and job.wait(120).state == "done"


def failing_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException) -> ReindexJob:
    """A job whose reindex raises `error` (no encoder needed: nothing is built)."""

    def broken(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(bot.reindex.job, "reindex", broken)
    return ReindexJob(Settings(kb_dir=str(tmp_path / "kb"), index_dir=str(tmp_path / "index")), now)


def test_a_reindex_that_raises_ends_failed_with_the_reason_and_the_next_one_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    job = failing_job(tmp_path, monkeypatch, RuntimeError("the disk is full"))
    assert job.start()
    status = job.wait(10)
    assert status.state == "failed" and status.message == "RuntimeError: the disk is full" and status.finished_at is not None
    assert job.start() and job.wait(10).state == "failed"
    assert ReindexJob(job.settings, now).start()  # and the lock is free for other workers too


def test_a_worker_that_dies_still_ends_failed_and_frees_the_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    job = failing_job(tmp_path, monkeypatch, SystemExit(3))  # ends the thread, not the process
    assert job.start()
    status = job.wait(10)
    assert status.state == "failed" and status.message == "SystemExit: 3"
    assert job.start()


def test_a_thread_gone_without_ending_the_run_does_not_block_the_next(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    job = failing_job(tmp_path, monkeypatch, RuntimeError("x"))
    monkeypatch.setattr(ReindexJob, "_run", lambda self: None)  # as if killed before its `finally`
    assert job.start()
    job.wait(10)
    assert job.status.state == "failed" and "interrupted" in job.status.message
    assert not ReindexJob(job.settings, now).start()  # this process still holds the lock ...
    assert job.start()  # ... until its own next start reclaims it


def test_an_end_that_cannot_be_recorded_still_frees_the_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    job = failing_job(tmp_path, monkeypatch, RuntimeError("x"))
    write = job._write
    calls: list[str] = []

    def first_only(status: ReindexStatus) -> None:
        calls.append(status.state)
        if len(calls) > 1:
            raise OSError(28, "No space left on device")
        write(status)

    monkeypatch.setattr(job, "_write", first_only)
    assert job.start()
    job.wait(10)
    assert calls == ["running", "failed"]
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
