"""What a reindex costs the chat: the demo's one-article edit, the classifier's fit, and a visitor's
latency while the console reindexes, in one run.

1. Edit: one article of the demo KB gets one more sentence (as bench/speed.py edits) and is
   reindexed in this process with loaded encoders (ANSWERDESK_ENCODER, default e5+use), two
   ways, interleaved A, B, A, B:
     recalibrated  the live snapshot's record of the parts it was calibrated on removed first,
                   so the edit recalibrates in full, as every small-KB edit did before;
     carried       now: no title or question changed and at most 1% of the parts, so the
                   calibration is carried over.
   After each carried edit the same snapshot is also calibrated in full, and the table gives
   the largest difference between the thresholds carried and those.
   Then the console's job end to end (its child process loads its own encoders).
2. Fit: the KB's classifier trained on the demo's vectors with threads unbounded, BLAS bounded
   to one (before) and every pool bounded to one (now, index/classifier.py), interleaved.
3. Chat: a real `answerdesk serve` (ANSWERDESK_ENCODER=use unless --serve-encoder; limits off)
   over its own copy of the demo KB; a visitor posts questions one after another over HTTP.
   Conditions, interleaved for --rounds rounds: none (nothing else runs), reindex (console-style
   jobs back to back: `bot.reindex.job.ReindexJob` over the server's KB, index and store, its
   build in a nice-19 child; a body edit each) and reindex+cal (each edit changes an example
   question: a full recalibration and new classifiers). p50 and p99 per condition and round,
   min and median over rounds, and the ratio to "none" within each round (median).

Usage: python bench/reindex_impact.py [--rounds 3] [--requests 60] [--work DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from common import NO_LIMITS, REPO, Timer, percentile_ms, ratio, reindex_cli, spread, table  # noqa: E402

from bot.answer.calibration import calibrate_estimated  # noqa: E402
from bot.answer.engine import language_detector  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.reindex.job import ReindexJob  # noqa: E402
from bot.reindex.run import BASE_ROWS, reindex  # noqa: E402
from index.encoders import make_encoders  # noqa: E402
from index.passages import KINDS  # noqa: E402
from index.search import SearchIndex  # noqa: E402
from tests.served import Client, Served  # noqa: E402

QUESTIONS = ("how much is delivery", "what time are you open?", "I forgot my password", "can I talk to a person", "Şifremi unuttum")
EDITED = "en/opening-hours.md"


def now() -> datetime:
    return datetime.now(timezone.utc)


def add_sentence(kb: Path, n: int) -> None:
    path = kb / EDITED
    path.write_text(path.read_text(encoding="utf-8") + f"\nEdited ({n}): one more sentence for the benchmark.\n", encoding="utf-8")


def change_question(kb: Path, n: int) -> None:
    """A new last example question: what calibration holds out and the classifier learns from."""
    path = kb / EDITED
    lines = path.read_text(encoding="utf-8").split("\n")
    first = next(i for i, line in enumerate(lines) if line.startswith("  - "))
    lines.insert(first, f"  - 'are you open on holiday number {n}?'")
    path.write_text("\n".join(lines), encoding="utf-8")


def indexed(work: Path, name: str, encoder: str) -> Settings:
    """The demo KB copied into work/name and indexed there once (kept between runs with --work)."""
    kb, index = work / name / "kb", work / name / "index"
    if not index.is_symlink():
        shutil.rmtree(work / name, ignore_errors=True)
        shutil.copytree(REPO / "kb_source", kb)
        print(f"indexing the demo KB with {encoder}...", file=sys.stderr, flush=True)
        if encoder == "e5+use":
            reindex_cli(kb, index)
        else:
            reindex(Settings(kb_dir=str(kb), index_dir=str(index), encoder=encoder, db=str(work / name / "none.db")), out=io.StringIO())
    return Settings(kb_dir=str(kb), index_dir=str(index), encoder=encoder, db=str(work / name / "answerdesk.db"))


def edits(settings: Settings, rounds: int) -> None:
    encoders = make_encoders(settings.encoder, threads=1, unforkable_threads=min(settings.threads, settings.build_threads))
    kb, seconds, drift, n = Path(settings.kb_dir), {"recalibrated": [], "carried": []}, [], 0
    reindex(settings, encoder=encoders, out=io.StringIO())  # encoders warm, calibration's record of parts written
    for _ in range(rounds):
        for way in ("recalibrated", "carried"):
            n += 1
            if way == "recalibrated":
                (Path(settings.index_dir).resolve() / BASE_ROWS).unlink(missing_ok=True)
            add_sentence(kb, n)
            with Timer() as timer:
                report = reindex(settings, encoder=encoders, show_progress=False, out=io.StringIO())
            assert (report.calibration.carried_over is None) == (way == "recalibrated"), (way, report.calibration.carried_over)
            seconds[way].append(timer.seconds)
            if way == "carried":
                live = SearchIndex(Path(settings.index_dir).resolve())
                full = calibrate_estimated(live, encoders, detector=language_detector(settings, live.langs)).thresholds  # as the reindex calibrates
                carried = report.calibration.thresholds
                drift.append(max(abs(full.answer - carried.answer), abs(full.handoff - carried.handoff), abs(full.margin - carried.margin)))
    job_seconds = []
    for _ in range(rounds):
        n += 1
        add_sentence(kb, n)
        job = ReindexJob(settings, now)
        with Timer() as timer:
            assert job.start(), "a reindex is already running"
            status = job.wait(600)
        assert status.state == "done", status.message
        job_seconds.append(timer.seconds)
    rows = [[way, *spread(values), ratio(spread(values)[1], spread(seconds["recalibrated"])[1])] for way, values in seconds.items()]
    rows.append(["console job (child)", *spread(job_seconds), ratio(spread(job_seconds)[1], spread(seconds["recalibrated"])[1])])
    table(f"1. the demo's one-article edit ({settings.encoder}), seconds over {rounds} rounds", ["way", "min", "median", "x recalibrated"], rows)
    print(f"  thresholds carried vs a full recalibration of the same snapshot: largest difference {max(drift):.4f} (median {float(np.median(drift)):.4f})")


def fits(settings: Settings, rounds: int) -> None:
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    from index.classifier import REGULARISATION_C

    index = SearchIndex(Path(settings.index_dir).resolve())
    examples = np.flatnonzero(np.isin(index.row_kind, (KINDS.index("title"), KINDS.index("question"))) & (index.row_article >= 0))
    vectors, labels = np.hstack([t[examples] for t in index.tables]), index.row_article[examples]
    seconds: dict[str, list[float]] = {"unbounded": [], "BLAS 1 (before)": [], "all pools 1 (now)": []}
    for _ in range(rounds):
        for way in seconds:
            limit = {"unbounded": None, "BLAS 1 (before)": "blas", "all pools 1 (now)": None}[way]
            with Timer() as timer, threadpool_limits(limits=None if way == "unbounded" else 1, user_api=limit):
                LogisticRegression(C=REGULARISATION_C, max_iter=1000).fit(vectors, labels)
            seconds[way].append(timer.seconds)
    base = spread(seconds["unbounded"])[1]
    table(f"2. the classifier's fit ({len(labels)} examples x {vectors.shape[1]} dims), seconds",
          ["threads", "min", "median", "x unbounded"], [[w, *spread(v), ratio(spread(v)[1], base)] for w, v in seconds.items()])


def chat(work: Path, encoder: str, rounds: int, requests: int) -> None:
    settings = indexed(work, f"served-{encoder}", encoder)
    env = {"ANSWERDESK_KB": settings.kb_dir, "ANSWERDESK_INDEX": settings.index_dir, "ANSWERDESK_DB": settings.db,
           "ANSWERDESK_ENCODER": encoder, **NO_LIMITS}
    server = Served(env, work / "serve.log")
    try:
        visitor = Client(server.port, timeout=60)
        status, body = visitor.request("POST", "/api/conversations", {"lang": "en"})
        assert status == 201, body
        path = f"/api/conversations/{body['id']}/messages"
        counter = [0]

        def ask() -> float:
            counter[0] += 1
            started = time.perf_counter()
            status, reply = visitor.request("POST", path, {"text": QUESTIONS[counter[0] % len(QUESTIONS)]})
            assert status == 200, reply
            return time.perf_counter() - started

        for _ in range(10):
            ask()  # warm: the engine, the snapshot, the connection
        samples: dict[str, list[list[float]]] = {"none": [], "reindex": [], "reindex+cal": []}
        jobs: dict[str, int] = {"reindex": 0, "reindex+cal": 0}
        n = 0
        for _ in range(rounds):
            for condition in samples:
                taken: list[float] = []
                if condition == "none":
                    taken = [ask() for _ in range(requests)]
                else:
                    while len(taken) < requests:
                        n += 1
                        (add_sentence if condition == "reindex" else change_question)(Path(settings.kb_dir), n)
                        job = ReindexJob(settings, now)
                        while not job.start():
                            time.sleep(0.05)  # the last one is still letting go of the lock
                        jobs[condition] += 1
                        while job.status.state == "running" and len(taken) < requests * 3:
                            taken.append(ask())
                        status = job.wait(600)
                        assert status.state == "done", status.message
                samples[condition].append(taken)
        rows = []
        for condition, per_round in samples.items():
            p50s = [percentile_ms(s, 50) for s in per_round]
            p99s = [percentile_ms(s, 99) for s in per_round]
            ratios = [ratio(p, base) for p, base in zip(p99s, [percentile_ms(s, 99) for s in samples["none"]])]
            rows.append([condition, sum(len(s) for s in per_round), *spread(p50s), *spread(p99s), float(np.median(ratios)), jobs.get(condition, "-")])
        table(f"3. a visitor's message latency, ms ({encoder} server, {rounds} rounds, interleaved)",
              ["condition", "requests", "p50 min", "p50 median", "p99 min", "p99 median", "p99 x none", "reindexes"], rows)
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=60, help="messages timed per condition and round")
    parser.add_argument("--serve-encoder", default="use", help="ANSWERDESK_ENCODER of the served chat (default use)")
    parser.add_argument("--work", type=Path, help="a folder to keep the built indexes in between runs (default: a temp folder)")
    parser.add_argument("--skip", default="", help="parts to leave out, e.g. 'edit,fit'")
    args = parser.parse_args()
    if args.rounds < 1 or args.requests < 5:
        parser.error("--rounds must be at least 1 and --requests at least 5")
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if skip - {"edit", "fit", "chat"}:
        parser.error(f"--skip takes edit, fit and chat, not {', '.join(sorted(skip - {'edit', 'fit', 'chat'}))}")
    work = args.work or Path(tempfile.mkdtemp(prefix="reindex-impact-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}; work folder {work}", flush=True)
    demo = indexed(work, "demo", os.environ.get("ANSWERDESK_ENCODER", "e5+use"))
    if "edit" not in skip:
        edits(demo, args.rounds)
    if "fit" not in skip:
        fits(demo, args.rounds * 3)
    if "chat" not in skip:
        chat(work, args.serve_encoder, args.rounds, args.requests)
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"load_average_end": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
