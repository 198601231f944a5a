"""Speed and size of the answer engine: one `ask`, its floor, builds, one edit, a resumed build.

For the demo KB and a synthetic KB of 10,000 articles (over 50,000 parts), in one run:
- ask p50/p99 (language, spelling, encode, search, decide, reply) and its floor (the same
  encoders' encode plus the FAISS search alone), the KBs interleaved question by question
  (demo, large, demo, large ...; both engines loaded, the encoders shared) for --rounds rounds,
  so load on this shared machine falls on both alike: each KB's min and median of the rounds'
  p50s, and the ratios (ask/floor, large/demo) taken within each round, their median;
- a full build as `answerdesk reindex` runs it (its own process, progress on stderr), a
  rebuild after one edited article both that way and as the console's Reindex button runs it
  (in the serving process, encoders already loaded), and the load time of a snapshot; these
  run once each, one KB after the other (minutes each for the large KB);
- for the large KB, a build killed half-way and started again: how much of the first one's
  encoding the second reuses from the embedding cache.
Usage: python bench/speed.py [--articles N] [--queries N] [--rounds N] [--budget-seconds S] [--skip-large] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from common import REPO, Timer, percentile_or_none, progress, ratio, spread, table, write_kb  # noqa: E402

from bot.config import Settings
from bot.answer.engine import Engine, Inbound, message_encoders
from index.encoders import Encoders
from bot.reindex.run import reindex
from index.kb import load_kb
from index.search import LiveIndex, SearchIndex

NOUNS = "account password invoice order parcel subscription refund card address profile device router app plan discount voucher warranty ticket delivery payment receipt login email phone report dashboard team seat license backup export".split()
VERBS = "change cancel update reset track return renew download delete upgrade pause transfer verify activate block share restore merge".split()
QUALIFIERS = "for my company|on the mobile app|after moving abroad|before the trial ends|for a family member|in another currency|without the old phone|on a shared computer|from the web browser|during a holiday|for several users|when the site is slow|with a gift card|for a closed store|in bulk".split("|")
PLACES = "Berlin Ankara Cairo Madrid Lisbon Oslo Dubai Tunis Izmir Seville Lyon Porto Riga Doha Rabat".split()


def synthetic_articles(n: int, seed: int = 0):
    rng = random.Random(seed)
    for i in range(n):
        verb, noun, qual, place = rng.choice(VERBS), rng.choice(NOUNS), rng.choice(QUALIFIERS), rng.choice(PLACES)
        title = f"{verb.title()} the {noun} {qual} ({place} {i})"
        questions = [
            f"how do I {verb} my {noun} {qual} in {place} case {i}",
            f"can I {verb} a {noun} {qual}? ref {i}",
        ]
        body = (
            f"## Before you start\nTo {verb} the {noun} {qual}, sign in as the owner of store {i} in {place}.\n\n"
            f"## Steps\nOpen Settings, choose {noun.title()} and press {verb.title()}. Changes apply within {i % 48 + 1} hours; "
            f"the {rng.choice(NOUNS)} and the {rng.choice(NOUNS)} stay as they are."
        )
        yield ("en", f"synthetic-{i:05d}", title, questions, body)


ANSWERDESK = Path(sys.executable).with_name("answerdesk")


def build(kb: Path, index: Path, kill_after: float | None = None) -> dict:
    """`answerdesk reindex` in its own process, its progress bar on our stderr; its figures."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSWERDESK_")}
    started = time.perf_counter()
    child = subprocess.Popen(
        [str(ANSWERDESK), "reindex", "--kb", str(kb), "--index", str(index), "--progress"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, text=True,
    )
    if kill_after is not None:
        try:
            child.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
            child.wait()
            return {"seconds": time.perf_counter() - started, "killed": True}
    out, _ = child.communicate()
    if child.returncode:
        raise SystemExit(f"answerdesk reindex --kb {kb} failed")
    manifest = json.loads((index.resolve() / "manifest.json").read_text(encoding="utf-8"))
    return {"seconds": time.perf_counter() - started, "encoded": manifest["encoded"], "reused": manifest["reused"],
            "vectors": manifest["vectors"], "index_type": manifest["index_type"], "killed": False}


def edit(article: Path) -> None:
    """One more sentence at the end of an article, as a maintainer's small fix."""
    article.write_text(article.read_text(encoding="utf-8") + "\nEdited: one more sentence for the benchmark.\n", encoding="utf-8")


@dataclass
class System:
    """One KB under test: its engine, its questions, and what each round measured."""

    label: str
    kb: Path
    index: Path
    built: dict
    load_seconds: float
    engine: Engine
    questions: list[str]
    asks: list[list[float]] = field(default_factory=list)  # per round
    floors: list[list[float]] = field(default_factory=list)


def ask_once(system: System, question: str, snapshot: object) -> tuple[float, float]:
    """One question through the engine, then through its floor (encode + search alone): seconds each."""
    t = time.perf_counter()
    system.engine.respond(Inbound(question))
    ask = time.perf_counter() - t
    t = time.perf_counter()
    vectors = system.engine.encoders.encode_queries([question])
    snapshot.search([v[0] for v in vectors], k=3)  # type: ignore[attr-defined]
    return ask, time.perf_counter() - t


def ask_interleaved(systems: list[System], rounds: int, per_round: int, budget: float) -> str | None:
    """Rounds of questions, the systems taking turns question by question (A, B, A, B ...; who goes
    first alternates); stops starting rounds once `budget` seconds are spent and says so."""
    snapshots = [s.engine.snapshot() for s in systems]
    for s, snap in zip(systems, snapshots):  # warm-up, untimed
        for q in s.questions[:20]:
            ask_once(s, q, snap)
    started = time.perf_counter()
    for r in range(rounds):
        if r and time.perf_counter() - started > budget:
            return f"stopped after {r} of {rounds} rounds: --budget-seconds {budget:g} spent"
        for s in systems:
            s.asks.append([])
            s.floors.append([])
        for i in range(per_round):
            order = list(zip(systems, snapshots))
            for s, snap in order if (i + r) % 2 == 0 else order[::-1]:
                ask, floor = ask_once(s, s.questions[(r * per_round + i) % len(s.questions)], snap)
                s.asks[-1].append(ask)
                s.floors[-1].append(floor)
            progress(f"round {r + 1}/{rounds}, {len(systems)} KBs interleaved", i + 1, per_round)
    return None


def prepare(label: str, kb: Path, encoders: Encoders, threads: int, questions: int, large: bool) -> System:
    """Build the KB's index (the large one killed after 240 s and resumed), load it, pick questions."""
    index = kb.parent / "index"
    print(f"building {label}...", file=sys.stderr, flush=True)
    built = build(kb, index, kill_after=240 if large else None)
    if built["killed"]:
        again = build(kb, index)
        built = {**again, "first_seconds": built["seconds"]}
    with Timer() as load:
        SearchIndex(index)
    engine = Engine(Settings(kb_dir=str(kb), index_dir=str(index), threads=threads), encoders, LiveIndex(index))
    articles = load_kb(kb).articles
    rng = random.Random(1)
    asked = [q for a in rng.sample(articles, min(len(articles), questions)) for q in a.questions[:1]]
    return System(label, kb, index, built, load.seconds, engine, asked)


def rebuild_after_edits(system: System, encoders: Encoders) -> tuple[float, float]:
    """One article edited and rebuilt by the CLI, another by the console's Reindex button: seconds each."""
    articles = load_kb(system.kb).articles
    edit(Path(articles[len(articles) // 2].path))
    edited = build(system.kb, system.index)
    # The console's Reindex button: the serving process reindexes with its loaded encoders.
    edit(Path(articles[len(articles) // 3].path))
    with Timer() as in_process:
        reindex(Settings(kb_dir=str(system.kb), index_dir=str(system.index)), encoder=encoders, show_progress=False)
    return edited["seconds"], in_process.seconds


def round_p50s(samples: list[list[float]]) -> list[float | None]:
    return [percentile_or_none(r, 50) for r in samples]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=10000)
    parser.add_argument("--queries", type=int, default=60, help="questions per KB per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of interleaved questions")
    parser.add_argument("--budget-seconds", type=float, default=600.0, help="start no round of questions after this many seconds of them")
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--threads", type=int, default=Settings().threads, help="threads a message (ANSWERDESK_THREADS)")
    args = parser.parse_args()
    if args.rounds < 1 or args.queries < 1:
        raise SystemExit("--rounds and --queries must be at least 1")
    settings = Settings(threads=args.threads)
    encoders = message_encoders(settings)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        systems = [prepare("demo KB", Path(shutil.copytree(REPO / "kb_source", tmp / "demo" / "kb")), encoders, args.threads, args.queries * args.rounds, False)]
        if not args.skip_large:
            kb = write_kb(tmp / "synthetic" / "kb", synthetic_articles(args.articles))
            systems.append(prepare(f"synthetic {args.articles} articles", kb, encoders, args.threads, args.queries * args.rounds, True))
        stopped = ask_interleaved(systems, args.rounds, args.queries, args.budget_seconds)
        edits = [rebuild_after_edits(s, encoders) for s in systems]  # after the questions: they change the index
    rounds = len(systems[0].asks)
    base = round_p50s(systems[0].asks)
    rows = []
    for s in systems:
        asks, floors = round_p50s(s.asks), round_p50s(s.floors)
        rows.append((
            s.label, s.built["vectors"], rounds, sum(map(len, s.asks)), *spread(asks),
            percentile_or_none([t for r in s.asks for t in r], 99), *spread(floors),
            spread(ratio(a, f) for a, f in zip(asks, floors))[1], spread(ratio(a, b) for a, b in zip(asks, base))[1],
        ))
    table(
        f"Ask on {os.cpu_count()} cores, encoders {encoders.name} ({settings.threads} thread(s) a message), the KBs interleaved "
        f"question by question, {rounds} round(s) of {args.queries} questions each; ask = language + spelling + encode + search + "
        "decide + reply; floor = encode + search alone; min/median over the rounds' p50s; ratios within each round, their median",
        ["KB", "vectors", "rounds", "questions", "ask p50 min ms", "ask p50 median ms", "ask p99 ms", "floor p50 min ms", "floor p50 median ms",
         "ask/floor", f"ask / {systems[0].label} ask"],
        rows,
    )
    if stopped:
        print(stopped)
    table(
        "Builds (one run each, one KB after the other)",
        ["KB", "vectors", "index", "build s", "1 edit s (CLI)", "1 edit s (console)", "load ms"],
        [(s.label, s.built["vectors"], s.built["index_type"], s.built["seconds"], cli, console, s.load_seconds * 1000)
         for s, (cli, console) in zip(systems, edits)],
    )
    resumed = [(s.label, s.built["first_seconds"], s.built["seconds"], s.built["reused"], s.built["encoded"] + s.built["reused"])
               for s in systems if "first_seconds" in s.built]
    if resumed:
        table("A build killed after 240 s, then started again", ["KB", "killed after s", "second build s", "parts reused", "parts in all"], resumed)


if __name__ == "__main__":
    main()
