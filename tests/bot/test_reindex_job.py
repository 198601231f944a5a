"""The console's background reindex: one at a time across worker processes, one status for all."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from bot.reindex.job import ReindexJob
from index.build import builds_folder
from tests.conftest import small_index


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
