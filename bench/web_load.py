"""Load on the web channel: the real server (uvicorn), chat visitors over HTTP, with and without storage.

Each configuration starts its own server process running channels.serve.serve() (what
`answerdesk serve` runs: uvicorn, THREADS request threads, the expiry timer) on 127.0.0.1, port 0,
over the demo KB indexed into a temp folder. Visitors (one thread and one keep-alive
http.client connection each, a cookie jar per visitor) open a conversation, then post
questions in en/ar/tr/es from a fixed script; a visitor the bot hands to a person leaves and a
new one starts. Timed: POST /api/conversations/<id>/messages until its reply has been read.

Stores: `sqlite`, a file (WAL, synchronous=FULL, a connection per thread), as deployed;
`sqlite-memory`, SQLite ":memory:" (no file, no fsync, but still SQL, JSON and one shared
connection behind a lock); `fake`, a dict store defined here (no storage cost at all).
Beside the server, this process times the same visits without HTTP: the engine floor
(Engine.respond alone, called as the desk calls it: the conversation's language as the hint, the
bot's last reply languages and the customer's last question, so a follow-up's second search
counts as the engine's) and Desk.receive on the same kind of store, in lockstep with the web at
1 visitor (engine, desk, web, message by message; who goes first rotates). Per store, `--rounds`
rounds of blocks (that lockstep block, then the web at each other concurrency; the order
rotates), so load on this shared machine falls on all alike; the table gives the min and median
of the rounds' p50s and the web's ratios to the desk and to the engine, each taken within a
round (their median),
and says whether the targets hold: 1 visitor, SQLite file, web p50 <= 1.4x the engine's; 8
visitors, p50 <= 25 ms and throughput >= 0.7 of one core at engine speed (1 / engine p50).
A configuration with no timing (every request failed) shows "-", its errors under the table.
With `--compare REPO` (another checkout, e.g. `git worktree add /tmp/before <commit>`), the
SQLite configuration is served by this checkout and by REPO's code in turn, over the same
index, for `--rounds` rounds (A, B, A, B, ...), beside this checkout's engine alone; the table
gives each one's min and median, its ratio to the engine, and A's ratio to B's.
Usage: python bench/web_load.py [--messages 400] [--rounds 3] [--concurrency 1,8] [--stores sqlite,sqlite-memory,fake]
       python bench/web_load.py --compare /tmp/before [--rounds 3] [--messages 200]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Callable

from common import NO_LIMITS, REPO, demo_index, percentile_or_none, ratio, spread, table  # noqa: E402
from memory_store import MemoryStore  # noqa: E402
from visitors import HOST, Run, desk_visits, engine_visits, in_process_desk, run_script, run_visitors, web_visits  # noqa: E402

from bot.config import Settings

STORES = {
    "sqlite": "SQLite file (WAL, sync=FULL)",
    "sqlite-memory": "SQLite :memory:",
    "fake": "no store (dict fake)",
}
TARGET_P50_MS = 25.0  # 8 visitors, one process, SQLite file
TARGET_ONE_CLIENT_RATIO = 1.4  # 1 visitor, SQLite file: web p50 / engine p50
TARGET_CORE_SHARE = 0.7  # 8 visitors: throughput / (1 / engine p50)
SERVER_START_SECONDS = 180.0



# -- the server process ----------------------------------------------------------------------
def served_settings(kb: str, index: str, db: str) -> Settings:
    """The settings a server here runs with (and the in-process engine beside it): the environment's,
    as `answerdesk serve` reads them, the rate limits off (NO_LIMITS), over the benchmark's KB and index."""
    return replace(Settings.from_env({**os.environ, **NO_LIMITS}), kb_dir=kb, index_dir=index, db=db)


def serve_child(store: str, kb: str, index: str, db: str) -> int:
    """Run channels.serve.serve() as `answerdesk serve` does, with the chosen store."""
    from channels import serve as server

    settings = served_settings(kb, index, ":memory:" if store == "sqlite-memory" else db)
    if store == "fake":
        from bot.desk.desk import Desk, utc_now
        from bot.answer.engine import build_engine
        from bot.desk.hours import parse_hours

        def build_fake_desk(settings: Settings) -> Desk:
            return Desk(
                build_engine(settings), MemoryStore(utc_now),  # type: ignore[arg-type]
                parse_hours(settings.hours, settings.timezone, settings.holidays),
                agent_wait=timedelta(seconds=settings.agent_wait_seconds),
            )

        server.build_desk = build_fake_desk  # type: ignore[assignment]
    return server.serve(settings, host=HOST, port=0)


def child_command(*args: str, repo: Path = REPO) -> list[str]:
    return [sys.executable, str(repo / "bench" / "web_load.py"), "--child", *args]


@dataclass
class Server:
    process: subprocess.Popen[str]
    port: int
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # serve() stops on SIGTERM, finishing running requests
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(store: str, kb: Path, index: Path, db: Path, log: Path, repo: Path = REPO) -> Server:
    err = log.open("w", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(repo), **NO_LIMITS}  # the server runs `repo`'s code
    process = subprocess.Popen(
        child_command("serve", store, str(kb), str(index), str(db), repo=repo), stdout=subprocess.PIPE, stderr=err, text=True, cwd=repo, env=env
    )
    err.close()
    assert process.stdout is not None
    deadline = time.monotonic() + SERVER_START_SECONDS
    for line in process.stdout:  # the child prints "... serving on http://127.0.0.1:PORT/ ..."
        found = re.search(r"serving on http://[^:/]+:(\d+)/", line)
        if found:
            threading.Thread(target=lambda: process.stdout.read(), daemon=True).start()  # type: ignore[union-attr]
            return Server(process, int(found.group(1)), log)
        if time.monotonic() > deadline:
            break
    process.kill()
    raise SystemExit(f"the {store} server did not start; its log ({log}) ends with:\n{log.read_text(encoding='utf-8')[-2000:]}")


# -- the benchmark -----------------------------------------------------------------------------
ENGINE, DESK = "engine", "desk"  # the in-process paths beside the web's concurrency levels
WEB_ONE = "web x1"
LOCKSTEP = 0  # the block where engine, desk and the web at 1 visitor take turns message by message
DESK_RATIO = "p50 / desk p50"
COLUMNS = ["configuration", "visitors", "requests", "errors", "rps", "p50 min ms", "p50 median ms", "p99 ms",
           DESK_RATIO, "p50 / engine p50", "rps / engine speed", "conversations", "handed off"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=400, help="timed messages per configuration and concurrency, per round")
    parser.add_argument("--warmup", type=int, default=40, help="untimed messages at the highest concurrency first")
    parser.add_argument("--concurrency", default="1,8", help="comma-separated numbers of concurrent visitors")
    parser.add_argument("--stores", default=",".join(STORES), help=f"comma-separated, of: {', '.join(STORES)}")
    parser.add_argument("--compare", type=Path, help="another checkout to serve SQLite in turn with this one, interleaved")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of (engine, desk, web at each concurrency), or with --compare of (this, other)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)  # internal: the server process
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        raise SystemExit(serve_child(*rest))
    levels = [int(c) for c in args.concurrency.split(",")]
    if args.rounds < 1 or args.messages < 1 or min(levels) < 1:
        raise SystemExit("--rounds, --messages and every --concurrency must be at least 1")
    if args.compare:
        compare(args.compare.resolve(), levels, args.messages, args.warmup, args.rounds)
        return
    stores = [s.strip() for s in args.stores.split(",")]
    unknown = [s for s in stores if s not in STORES]
    if unknown:
        raise SystemExit(f"--stores: unknown {', '.join(unknown)}; use some of {', '.join(STORES)}")
    from bot.answer.engine import build_engine

    runs: dict[tuple[str, object], list[Run]] = {}
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="answerdesk-web-load-") as tmp_name:
        tmp = Path(tmp_name)
        kb, index = demo_index(tmp)
        print("loading the in-process engine...", file=sys.stderr, flush=True)
        engine = build_engine(served_settings(str(kb), str(index), ":memory:"))
        engine.warm_up()
        run_script(20, "in-process engine warm-up", {ENGINE: engine_visits(engine)})
        for store in stores:
            print(f"starting the server with {STORES[store]}...", file=sys.stderr, flush=True)
            try:
                server = start_server(store, kb, index, tmp / f"{store}.db", tmp / f"{store}.log")
            except SystemExit as e:
                notes.append(f"{store}: no server, so no web figures: {str(e)[:300]}")
                server = None
            desk = in_process_desk(store, engine, tmp / f"{store}-in-process.db")
            try:
                if server:
                    warm, _ = run_visitors(server.port, max(levels), args.warmup, f"{store} warm-up")
                    if warm.errors:
                        notes.append(f"{store} warm-up: {len(warm.errors)} errors, first: {warm.errors[0]}")
                for n in range(args.rounds):
                    blocks: list[int] = [LOCKSTEP] + [level for level in levels if level != 1 and server]
                    for block in blocks[n % len(blocks):] + blocks[: n % len(blocks)]:  # who goes first rotates
                        label = f"{store} round {n + 1}/{args.rounds}"
                        if block == LOCKSTEP:
                            paths = {ENGINE: engine_visits(engine), DESK: desk_visits(desk)}
                            if server and 1 in levels:
                                paths[WEB_ONE] = web_visits(server.port)
                            for name, run in run_script(args.messages, label, paths).items():
                                runs.setdefault((store, 1 if name == WEB_ONE else name), []).append(run)
                        else:
                            runs.setdefault((store, block), []).append(Run(*run_visitors(server.port, block, args.messages, f"{label} web x{block}")))  # type: ignore[union-attr]
            finally:
                if server:
                    server.stop()
                desk.store.close()
            if server:
                failures = [line for line in server.log.read_text(encoding="utf-8").splitlines() if " ERROR " in line]
                if failures:
                    notes.append(f"{store} server logged {len(failures)} errors, first: {failures[0][:200]}")
    report(runs, stores, levels, args.rounds, args.messages, notes)


def summary(label: str, visitors: int, got: list[Run], floor: list[Run], desk: list[Run] | None, notes: list[str]) -> tuple[object, ...]:
    """One table row: totals, min/median of the rounds' p50s, and ratios taken round by round (their median)."""
    latencies = [t for r in got for t in r.tally.latencies]
    errors = [e for r in got for e in r.tally.errors]
    if errors:
        notes.append(f"{label} x{visitors}: {len(errors)} errors, first: {errors[0]}")
    if any("HTTP 429" in e for e in errors):
        notes.append(f"{label} x{visitors}: rate-limited (429): that checkout's bench/web_load.py serves without reading "
                     "the environment, so NO_LIMITS does not reach it; copy this bench/web_load.py into it")
    if not latencies:
        notes.append(f"{label} x{visitors}: no timings ('-'): {'every request failed' if errors else 'nothing was measured'}")
    p50_min, p50_median = spread(r.p50 for r in got)
    return (
        label, visitors, len(latencies) + len(errors), len(errors), spread(r.rps for r in got)[1], p50_min, p50_median,
        percentile_or_none(latencies, 99),
        spread(ratio(r.p50, d.p50) for r, d in zip(got, desk))[1] if desk else None,
        spread(ratio(r.p50, f.p50) for r, f in zip(got, floor))[1],
        spread(ratio(r.rps, ratio(1000.0, f.p50)) for r, f in zip(got, floor))[1],
        sum(r.tally.conversations for r in got), sum(r.tally.handoffs for r in got),
    )


def report(runs: dict[tuple[str, object], list[Run]], stores: list[str], levels: list[int], rounds: int, messages: int, notes: list[str]) -> None:
    rows = []
    for store in stores:
        floor = runs.get((store, ENGINE), [])
        rows.append(summary(f"{STORES[store]}: engine alone", 1, floor, floor, None, notes))
        rows.append(summary(f"{STORES[store]}: Desk.receive in process", 1, runs.get((store, DESK), []), floor, None, notes))
        for level in levels:
            rows.append(summary(f"{STORES[store]}: web", level, runs.get((store, level), []), floor, runs.get((store, DESK)), notes))
    table(
        f"Web channel load ({os.cpu_count()} cores; uvicorn, {Settings().web_threads} request threads, {Settings().threads} encoder thread(s) a message; {rounds} round(s) of "
        f"{messages} messages per block, the blocks (engine + desk + web x1 in lockstep, web at each other concurrency) interleaved per store; "
        "a request = POST a message and read the bot's reply; errors = non-2xx or exception, opening conversations included; "
        "p50 min/median over the rounds; ratios taken within each round, their median; engine speed = 1 / engine p50, one core; "
        "engine, desk and web x1 run in lockstep, message by message, their rps = 1 / mean time)",
        COLUMNS,
        rows,
    )
    by_key = {(r[0], r[1]): r for r in rows}
    web = STORES["sqlite"] + ": web"
    for line in targets(by_key.get((web, 1)), by_key.get((web, 8))) + notes:
        print(line)


def targets(one: tuple[object, ...] | None, eight: tuple[object, ...] | None) -> list[str]:
    """The targets, with the figure that decides each; '-' when not measured."""
    def check(value: object, holds: Callable[[float], bool]) -> str:
        return "not measured" if not isinstance(value, float) else "holds" if holds(value) else "MISSED"

    one_ratio = one[9] if one else None
    p50, share = (eight[6], eight[10]) if eight else (None, None)
    return [
        f"target, 1 visitor, SQLite file: web p50 <= {TARGET_ONE_CLIENT_RATIO:g}x the engine floor: {check(one_ratio, lambda v: v <= TARGET_ONE_CLIENT_RATIO)} "
        f"({_show(one_ratio)}x)",
        f"target, 8 visitors, one process, SQLite file: p50 <= {TARGET_P50_MS:g} ms: {check(p50, lambda v: v <= TARGET_P50_MS)} ({_show(p50)} ms); "
        f"throughput >= {TARGET_CORE_SHARE:g} of one core at engine speed: {check(share, lambda v: v >= TARGET_CORE_SHARE)} ({_show(share)})",
    ]


def _show(value: object) -> str:
    return f"{value:.2f}" if isinstance(value, float) else "-"


def compare(other: Path, levels: list[int], messages: int, warmup: int, rounds: int) -> None:
    """This checkout (A) and `other` (B) serve SQLite in turn, A, B, A, B..., over one index; each
    round also times this checkout's engine alone, in process, as the floor both are held to."""
    from bot.answer.engine import build_engine

    runs: dict[tuple[str, object], list[Run]] = {}
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="answerdesk-web-ab-") as tmp_name:
        tmp = Path(tmp_name)
        kb, index = demo_index(tmp)
        engine = build_engine(served_settings(str(kb), str(index), ":memory:"))
        engine.warm_up()
        run_script(20, "in-process engine warm-up", {ENGINE: engine_visits(engine)})
        for n in range(rounds):
            runs.setdefault(("A", ENGINE), []).append(run_script(messages, f"round {n + 1}", {ENGINE: engine_visits(engine)})[ENGINE])
            for name, repo in (("A", REPO), ("B", other)):
                try:
                    server = start_server("sqlite", kb, index, tmp / f"{name}{n}.db", tmp / f"{name}{n}.log", repo=repo)
                except SystemExit as e:
                    notes.append(f"{name} round {n + 1}: no server: {str(e)[:300]}")
                    continue
                try:
                    run_visitors(server.port, max(levels), warmup, f"{name} round {n + 1} warm-up")
                    for level in levels:
                        runs.setdefault((name, level), []).append(Run(*run_visitors(server.port, level, messages, f"{name} round {n + 1} x{level}")))
                finally:
                    server.stop()
    floor = runs[("A", ENGINE)]
    rows = [summary("engine alone (A, in process)", 1, floor, floor, None, notes)]
    for level in levels:
        for name in ("A", "B"):
            rows.append(summary(f"{name} web", level, runs.get((name, level), []), floor, None, notes))
    table(
        f"Web channel, SQLite: A = {REPO}, B = {other}; {rounds} interleaved rounds of {messages} messages per level; "
        "p50 min/median over the rounds; ratios taken within each round, their median; engine speed = 1 / engine p50, one core",
        [c for c in COLUMNS if c != DESK_RATIO],
        [r[:8] + r[9:] for r in rows],
    )
    for level in levels:
        a, b = runs.get(("A", level), []), runs.get(("B", level), [])
        a_over_b = spread(ratio(x.p50, y.p50) for x, y in zip(a, b))[1]
        rps = spread(ratio(x.rps, y.rps) for x, y in zip(a, b))[1]
        print(f"x{level}: A/B p50 {_show(a_over_b)}, A/B rps {_show(rps)} (median of the rounds' ratios)")
    by_key = {(r[0], r[1]): r for r in rows}
    for line in [f"A {t}" for t in targets(by_key.get(("A web", 1)), by_key.get(("A web", 8)))] + notes:
        print(line)


if __name__ == "__main__":
    main()
