"""What SQLite's `synchronous` costs a customer message: FULL against NORMAL, in WAL mode.

One turn is what `Desk.receive` writes for an answered message, in one transaction: the
customer's message, the bot's reply, the conversation's language and topic. Each round times
TURNS turns on a fresh store file of each mode, interleaved (FULL, NORMAL, FULL, NORMAL, ...),
on the disk of the repository (not a tmpfs). The table gives each mode's per-turn time (min and
median over the rounds, and the p99 of all turns) and NORMAL/FULL.

Usage: python bench/durability.py [--rounds 5] [--turns 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, percentile_ms, table  # noqa: E402

from bot.store.connect import open_store

MODES = ("full", "normal")


def one_round(folder: Path, mode: str, turns: int) -> list[float]:
    store = open_store(str(folder / f"{mode}-{time.monotonic_ns()}.db"), synchronous=mode)
    try:
        conversation = store.create_conversation("web", "visitor", "en")
        times = []
        for n in range(turns):
            started = time.perf_counter()
            with store.atomic():
                store.add_message(conversation.id, "customer", f"question {n}", external_id=f"web:visitor:{n}")
                store.add_message(conversation.id, "bot", f"answer {n}", lang="en", decision={"action": "answer"})
                store.update_conversation(conversation.id, lang="en", topic="delivery")
            times.append(time.perf_counter() - started)
        return times
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--turns", type=int, default=200)
    args = parser.parse_args()
    results: dict[str, list[list[float]]] = {mode: [] for mode in MODES}
    (REPO / "var").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="durability-", dir=REPO / "var") as folder:
        for round_ in range(args.rounds):
            for mode in MODES:
                print(f"round {round_ + 1}/{args.rounds}: {mode}", file=sys.stderr, flush=True)
                results[mode].append(one_round(Path(folder), mode, args.turns))
    medians = {mode: [statistics.median(run) * 1000 for run in runs] for mode, runs in results.items()}
    rows = [
        [mode.upper(), f"{min(medians[mode]):.2f}", f"{statistics.median(medians[mode]):.2f}",
         f"{percentile_ms([t for run in results[mode] for t in run], 99):.2f}"]
        for mode in MODES
    ]
    ratio = statistics.median(medians["normal"]) / statistics.median(medians["full"])
    table(
        f"One answered message's transaction on SQLite (WAL), ms; {args.rounds} interleaved rounds x {args.turns} turns; "
        f"NORMAL/FULL median = {ratio:.2f}",
        ["synchronous", "per turn, min of round medians", "median of round medians", "p99 of all"], rows,
    )


if __name__ == "__main__":
    main()
