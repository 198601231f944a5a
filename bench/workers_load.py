"""Load on `answerdesk serve --workers N`: 1, 2 and 4 worker processes, SQLite and PostgreSQL.

Each row starts the real server (`answerdesk serve --workers N`, gunicorn) on 127.0.0.1 over
the demo KB indexed into a temp folder, with its store either a SQLite file (WAL,
synchronous=FULL) or a database on a PostgreSQL 15 server this script starts in a temp folder
(tests/pg_server.py, fsync on, so both stores make each commit durable). The visitors are the
ones of bench/web_load.py: one thread and keep-alive connection each, questions in en/ar/tr/es,
a request = POST a message and read the bot's reply.

Usage: python bench/workers_load.py [--messages 600] [--visitors 8] [--workers 1,2,4] [--stores sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from common import REPO, percentile_ms, table  # noqa: E402
from web_load import child_command, run_visitors  # noqa: E402

HOST = "127.0.0.1"
START_SECONDS = 180.0
STORES = {"sqlite": "SQLite file", "postgresql": "PostgreSQL 15"}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Served:
    """`answerdesk serve --workers N` in its own process group."""

    def __init__(self, workers: int, kb: Path, index: Path, db: str, log: Path) -> None:
        self.port = free_port()
        self.log = log
        env = {**os.environ, "ANSWERDESK_KB": str(kb), "ANSWERDESK_INDEX": str(index), "ANSWERDESK_DB": db}
        command = [str(Path(sys.executable).with_name("answerdesk")), "serve", "--workers", str(workers), "--host", HOST, "--port", str(self.port)]
        with log.open("w", encoding="utf-8") as err:
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True, cwd=REPO, env=env, start_new_session=True)
        assert self.process.stdout is not None
        deadline = time.monotonic() + START_SECONDS
        for line in self.process.stdout:
            if re.search(r"serving on http://", line):
                threading.Thread(target=self.process.stdout.read, daemon=True).start()
                break
            if time.monotonic() > deadline:
                break
        else:
            self.stop()
            raise SystemExit(f"the server did not start; its log ({log}) ends with:\n{log.read_text(encoding='utf-8')[-2000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=600, help="timed messages per row")
    parser.add_argument("--warmup", type=int, default=60, help="untimed messages first (every worker loads its models)")
    parser.add_argument("--visitors", type=int, default=8, help="concurrent visitors")
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    parser.add_argument("--stores", default=",".join(STORES), help=f"comma-separated, of: {', '.join(STORES)}")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    stores = [s.strip() for s in args.stores.split(",")]
    if unknown := [s for s in stores if s not in STORES]:
        raise SystemExit(f"--stores: unknown {', '.join(unknown)}; use some of {', '.join(STORES)}")
    rows: list[tuple[object, ...]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="answerdesk-workers-load-") as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        kb, index = Path(shutil.copytree(REPO / "kb_source", tmp / "kb")), tmp / "index"
        print("indexing the demo KB...", file=sys.stderr, flush=True)
        done = subprocess.run(child_command("reindex", str(kb), str(index)), capture_output=True, text=True, cwd=REPO)
        if done.returncode:
            raise SystemExit(f"reindexing the demo KB failed:\n{done.stderr[-2000:]}")
        pg = None
        if "postgresql" in stores:
            from tests.pg_server import postgres_server

            print("starting PostgreSQL (fsync on)...", file=sys.stderr, flush=True)
            pg = stack.enter_context(postgres_server(fsync=True))
        for store in stores:
            for workers in counts:
                label = f"{store} x{workers} workers"
                db = str(tmp / f"{store}-{workers}.db") if store == "sqlite" else pg.create_database()  # type: ignore[union-attr]
                print(f"starting {label}...", file=sys.stderr, flush=True)
                server = Served(workers, kb, index, db, tmp / f"{store}-{workers}.log")
                try:
                    warm, _ = run_visitors(server.port, args.visitors, args.warmup, f"{label} warm-up")
                    tally, seconds = run_visitors(server.port, args.visitors, args.messages, label)
                finally:
                    server.stop()
                lat = tally.latencies
                rows.append((
                    STORES[store], workers, args.visitors, len(lat) + len(tally.errors), len(tally.errors), len(lat) / seconds,
                    percentile_ms(lat, 50) if lat else float("nan"), percentile_ms(lat, 99) if lat else float("nan"),
                ))
                for what, seen in (("warm-up", warm), ("timed", tally)):
                    if seen.errors:
                        notes.append(f"{label} {what}: {len(seen.errors)} errors, first: {seen.errors[0]}")
    table(
        f"answerdesk serve --workers N ({os.cpu_count()} cores, load generator on the same cores; "
        "a request = POST a message and read the bot's reply)",
        ["store", "workers", "visitors", "requests", "errors", "rps", "p50 ms", "p99 ms"],
        rows,
    )
    for line in notes:
        print(line)


if __name__ == "__main__":
    main()
