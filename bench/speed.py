"""Speed and size: one `ask`, index build, reindex after one edit, index load, memory.

For the demo KB and for a synthetic KB of 10,000 articles (over 50,000 vectors), with
exact search (FAISS flat) run beside the approximate one in the same process as the
baseline for agreement and latency. Usage: python bench/speed.py [--articles N]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

from common import REPO, Timer, percentile_ms, progress, table, write_kb  # noqa: E402

from bot.config import Settings
from bot.engine import Engine, Inbound
from index.encoders import USEEncoder
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


def build_in_subprocess(kb: Path, index: Path) -> dict:
    """Reindex in a child process, so its peak memory is its own."""
    code = (
        "import json, resource, sys, time; sys.path.insert(0, %r)\n"
        "from bot.config import Settings; from bot.reindex import reindex\n"
        "t = time.perf_counter(); r = reindex(Settings(kb_dir=%r, index_dir=%r, build_threads=2), show_progress=True)\n"
        "print(json.dumps({'seconds': time.perf_counter() - t, 'vectors': r.build.vectors, 'encoded': r.build.encoded,"
        " 'reused': r.build.reused, 'index_type': r.build.index_type, 'peak_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    ) % (str(REPO), str(kb), str(index))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(out.stderr)
    sys.stderr.write(out.stderr[-400:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def ask_latency(engine: Engine, questions: list[str]) -> list[float]:
    for q in questions[:20]:
        engine.respond(Inbound(q))
    times = []
    for i, q in enumerate(questions, 1):
        t = time.perf_counter()
        engine.respond(Inbound(q))
        times.append(time.perf_counter() - t)
        progress("ask", i, len(questions))
    return times


def exact_agreement(index: SearchIndex, vectors: np.ndarray) -> tuple[float, list[float], list[float]]:
    """Share of queries whose top article is the same under exact search, and both latencies."""
    flat = faiss.IndexFlatIP(index.faiss.d)
    flat.add(index.faiss.reconstruct_n(0, index.faiss.ntotal))
    same, t_ann, t_flat = 0, [], []
    for v in vectors:
        q = v.reshape(1, -1)
        t = time.perf_counter()
        sims, rows = index.faiss.search(q, 64)
        ann = index.rank(sims[0], rows[0], 1)
        t_ann.append(time.perf_counter() - t)
        t = time.perf_counter()
        sims, rows = flat.search(q, 64)
        exact = index.rank(sims[0], rows[0], 1)
        t_flat.append(time.perf_counter() - t)
        same += ann[0].article_id == exact[0].article_id
    return same / len(vectors), t_ann, t_flat


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=10000)
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)
    encoder = USEEncoder(threads=1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for label, kb in (
            ("demo KB", Path(shutil.copytree(REPO / "kb_source", tmp / "demo" / "kb"))),
            (f"synthetic {args.articles} articles", write_kb(tmp / "synthetic" / "kb", synthetic_articles(args.articles))),
        ):
            index_dir = tmp / label.replace(" ", "-") / "index"
            print(f"building {label}...", file=sys.stderr)
            built = build_in_subprocess(kb, index_dir)
            with Timer() as load:
                snapshot = SearchIndex(index_dir)
            settings = Settings(kb_dir=str(kb), index_dir=str(index_dir))
            engine = Engine(settings, encoder, LiveIndex(index_dir))
            articles = load_kb(kb).articles
            rng = random.Random(1)
            questions = [f"{q} please" for a in rng.sample(articles, min(len(articles), args.queries)) for q in a.questions[:1]]
            times = ask_latency(engine, questions)
            agreement, t_ann, t_flat = exact_agreement(snapshot, encoder.encode(questions))
            # One edited article: change a body and reindex with the embedding cache warm.
            victim = Path(articles[len(articles) // 2].path)
            victim.write_text(victim.read_text(encoding="utf-8") + "\nEdited: one more sentence for the benchmark.\n", encoding="utf-8")
            edited = build_in_subprocess(kb, index_dir)
            rows.append((
                label, built["vectors"], built["index_type"], built["seconds"], built["peak_mb"],
                edited["seconds"], load.seconds * 1000,
                percentile_ms(times, 50), percentile_ms(times, 99),
                percentile_ms(t_ann, 50), percentile_ms(t_flat, 50), agreement,
            ))
    table(
        "Speed (2 cores; ask = language + encode + search + decide + reply, in-process, one thread)",
        ["KB", "vectors", "index", "build s", "build peak MB", "1 edit s", "load ms", "ask p50 ms", "ask p99 ms", "search p50 ms", "exact search p50 ms", "top-1 = exact"],
        rows,
    )


if __name__ == "__main__":
    main()
