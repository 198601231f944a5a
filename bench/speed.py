"""Speed and size of the answer engine: one `ask`, its floor, builds, one edit, a resumed build.

For the demo KB and a synthetic KB of 10,000 articles (over 50,000 parts), in one run:
- ask p50/p99 (language, spelling, encode, search, decide, reply) interleaved question by
  question with its floor, the same encoders' encode plus the FAISS search alone, so the
  ratio holds on this shared machine;
- a full build as `answerdesk reindex` runs it (its own process, progress on stderr), a
  rebuild after one edited article both that way and as the console's Reindex button runs it
  (in the serving process, encoders already loaded), and the load time of a snapshot;
- for the large KB, a build killed half-way and started again: how much of the first one's
  encoding the second reuses from the embedding cache.
Usage: python bench/speed.py [--articles N] [--queries N] [--skip-large] [--threads N]
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
from pathlib import Path

from common import REPO, Timer, percentile_ms, progress, table, write_kb  # noqa: E402

from bot.config import Settings
from bot.answer.engine import Engine, Inbound, message_encoders
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


def ask_against_floor(engine: Engine, questions: list[str]) -> tuple[list[float], list[float]]:
    """Each question asked through the engine, then through its floor (encode + search): A, B, A, B."""
    snapshot = engine.snapshot()
    for q in questions[:20]:
        engine.respond(Inbound(q))
    asks, floors = [], []
    for i, q in enumerate(questions, 1):
        t = time.perf_counter()
        engine.respond(Inbound(q))
        asks.append(time.perf_counter() - t)
        t = time.perf_counter()
        vectors = engine.encoders.encode_queries([q])
        snapshot.search([v[0] for v in vectors], k=3)
        floors.append(time.perf_counter() - t)
        progress("ask vs floor", i, len(questions))
    return asks, floors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=10000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--threads", type=int, default=Settings().threads, help="threads a message (ANSWERDESK_THREADS)")
    args = parser.parse_args()
    settings = Settings(threads=args.threads)
    encoders = message_encoders(settings)
    rows, resumed = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        kbs = [("demo KB", Path(shutil.copytree(REPO / "kb_source", tmp / "demo" / "kb")))]
        if not args.skip_large:
            kbs.append((f"synthetic {args.articles} articles", write_kb(tmp / "synthetic" / "kb", synthetic_articles(args.articles))))
        for label, kb in kbs:
            index = kb.parent / "index"
            if label != "demo KB":  # a build killed a third of the way in, then started again
                first = build(kb, index, kill_after=240)
                if first["killed"]:
                    again = build(kb, index)
                    resumed.append((label, first["seconds"], again["seconds"], again["reused"], again["encoded"] + again["reused"]))
                    built = again
                else:
                    built = first
            else:
                print(f"building {label}...", file=sys.stderr)
                built = build(kb, index)
            with Timer() as load:
                SearchIndex(index)
            engine = Engine(Settings(kb_dir=str(kb), index_dir=str(index), threads=args.threads), encoders, LiveIndex(index))
            articles = load_kb(kb).articles
            rng = random.Random(1)
            questions = [q for a in rng.sample(articles, min(len(articles), args.queries)) for q in a.questions[:1]]
            asks, floors = ask_against_floor(engine, questions)
            edit(Path(articles[len(articles) // 2].path))
            edited = build(kb, index)
            # The console's Reindex button: the serving process reindexes with its loaded encoders.
            edit(Path(articles[len(articles) // 3].path))
            with Timer() as in_process:
                reindex(Settings(kb_dir=str(kb), index_dir=str(index)), encoder=encoders, show_progress=False)
            rows.append((
                label, built["vectors"], built["index_type"], built["seconds"], edited["seconds"], in_process.seconds, load.seconds * 1000,
                percentile_ms(asks, 50), percentile_ms(asks, 99), percentile_ms(floors, 50), percentile_ms(floors, 99),
                percentile_ms(asks, 50) / percentile_ms(floors, 50),
            ))
    table(
        f"Speed on {os.cpu_count()} cores, encoders {encoders.name} ({settings.threads} thread(s) a message); ask = language + spelling + "
        "encode + search + decide + reply; floor = encode + search alone, interleaved with ask question by question",
        ["KB", "vectors", "index", "build s", "1 edit s (CLI)", "1 edit s (console)", "load ms", "ask p50 ms", "ask p99 ms", "floor p50 ms", "floor p99 ms", "ask/floor p50"],
        rows,
    )
    if resumed:
        table("A build killed after 240 s, then started again", ["KB", "killed after s", "second build s", "parts reused", "parts in all"], resumed)


if __name__ == "__main__":
    main()
