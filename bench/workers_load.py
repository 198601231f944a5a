"""Load on `answerdesk serve --workers N`: 1, 2 and 4 worker processes, SQLite and PostgreSQL.

Each row starts the real server (`answerdesk serve --workers N`, gunicorn) on 127.0.0.1 over
the demo KB indexed into a temp folder, with its store either a SQLite file (WAL,
synchronous=FULL) or a database on a PostgreSQL 15 server this script starts in a temp folder
(tests/pg_server.py, fsync on, so both stores make each commit durable). The visitors are the
ones of bench/web_load.py: one thread and keep-alive connection each, questions in en/ar/tr/es,
a request = POST a message and read the bot's reply. The last columns: each worker's CPU time
during the timed part, and the busiest over the idlest (how evenly the workers share the load).

Usage: python bench/workers_load.py [--messages 600] [--visitors 8] [--workers 1,2,4] [--stores sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from common import NO_LIMITS, demo_index, percentile_ms, table  # noqa: E402
from visitors import run_visitors  # noqa: E402

from tests.served import Served  # noqa: E402

HOST = "127.0.0.1"
START_SECONDS = 180.0
STORES = {"sqlite": "SQLite file", "postgresql": "PostgreSQL 15"}


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (its threads included), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
        kb, index = demo_index(tmp)
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
                env = {"ANSWERDESK_KB": str(kb), "ANSWERDESK_INDEX": str(index), "ANSWERDESK_DB": db, **NO_LIMITS}
                server = Served(env, tmp / f"{store}-{workers}.log", workers=workers, start_seconds=180)
                try:
                    warm, _ = run_visitors(server.port, args.visitors, args.warmup, f"{label} warm-up")
                    pids = server.worker_pids() or [server.process.pid]
                    before = {pid: cpu_seconds(pid) for pid in pids}
                    tally, seconds = run_visitors(server.port, args.visitors, args.messages, label)
                    used = sorted(cpu_seconds(pid) - before[pid] for pid in pids)
                finally:
                    server.stop()
                lat = tally.latencies
                rows.append((
                    STORES[store], workers, args.visitors, len(lat) + len(tally.errors), len(tally.errors), len(lat) / seconds,
                    percentile_ms(lat, 50) if lat else float("nan"), percentile_ms(lat, 99) if lat else float("nan"),
                    " / ".join(f"{u:.1f}" for u in used), f"{used[-1] / used[0]:.2f}" if used[0] > 0 else "-",
                ))
                for what, seen in (("warm-up", warm), ("timed", tally)):
                    if seen.errors:
                        notes.append(f"{label} {what}: {len(seen.errors)} errors, first: {seen.errors[0]}")
    table(
        f"answerdesk serve --workers N ({os.cpu_count()} cores, load generator on the same cores; "
        "a request = POST a message and read the bot's reply)",
        ["store", "workers", "visitors", "requests", "errors", "rps", "p50 ms", "p99 ms", "CPU s per worker", "max/min"],
        rows,
    )
    for line in notes:
        print(line)


if __name__ == "__main__":
    main()
