"""Language detection on mixed-language traffic: how many foreign precise models to keep loaded.

A KB in one language whose customers write in many others (xSID's 11 languages, shuffled): each
message's shortlist loads lingua's precise models of a few languages, and past the cap
(bot/language/backends.py `_MAX_FOREIGN_MODELS`) the least recently used one is unloaded. Too
low a cap and models are reloaded all the time.

Each cap runs in its own process (models are shared process-wide), the caps alternating
(A, B, A, B) --repeat times; each process detects --texts messages to warm up, then the next
--texts are timed. Printed: ms a message (min and median over the repeats), the ratio to the
product's cap, and the process's peak memory growth.

Run: .venv/bin/python bench/language_churn.py [--caps 8,16,32] [--texts 400] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time

from common import progress, table  # noqa: E402  (adds the repo to sys.path)


def probe(cap: int, texts: int) -> dict[str, float]:
    """In this process: detect 2 x `texts` shuffled xSID traffic messages with `cap` foreign models kept."""
    import bot.language.backends as backends
    from bot.answer.phrases import phrase_languages
    from bot.language.detect import LanguageDetector
    from eval_kbs import SETS

    backends._MAX_FOREIGN_MODELS = cap
    pool = [a.text for a in SETS["xsid"](7).traffic]
    random.Random(1).shuffle(pool)
    detector = LanguageDetector(sorted({"en"} | set(phrase_languages())), backend="lingua")
    detector.load()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for text in pool[:texts]:
        detector.detect(text)
    started = time.perf_counter()
    for text in pool[texts : 2 * texts]:
        detector.detect(text)
    ms = 1000 * (time.perf_counter() - started) / texts
    return {"ms": ms, "mib": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--caps", default="8,16,32", help="foreign models kept, comma-separated")
    p.add_argument("--texts", type=int, default=400, help="messages to warm up with, and as many timed")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--probe", type=int, help=argparse.SUPPRESS)  # one cap, in a child process
    args = p.parse_args(argv)
    if args.probe is not None:
        print(json.dumps(probe(args.probe, args.texts)))
        return 0
    import bot.language.backends as backends

    caps = [int(c) for c in args.caps.split(",")]
    runs: dict[int, list[dict[str, float]]] = {c: [] for c in caps}
    order = [c for _ in range(args.repeat) for c in caps]
    for i, cap in enumerate(order, 1):
        out = subprocess.run([sys.executable, __file__, "--probe", str(cap), "--texts", str(args.texts)], capture_output=True, text=True, check=True)
        runs[cap].append(json.loads(out.stdout.strip().splitlines()[-1]))
        progress("language churn", i, len(order))
    base = statistics.median(r["ms"] for r in runs[backends._MAX_FOREIGN_MODELS]) if backends._MAX_FOREIGN_MODELS in runs else None
    table(
        f"mixed-language detection (xSID traffic, {args.texts} messages timed after {args.texts} to warm up, {args.repeat} processes a cap)",
        ["foreign models kept", "ms a message min", "median", "x the product's cap", "peak memory growth MiB (median)"],
        [[f"{c}{' (product)' if c == backends._MAX_FOREIGN_MODELS else ''}", f"{min(r['ms'] for r in runs[c]):.1f}",
          f"{statistics.median(r['ms'] for r in runs[c]):.1f}",
          f"{statistics.median(r['ms'] for r in runs[c]) / base:.1f}" if base else "-",
          f"{statistics.median(r['mib'] for r in runs[c]):.0f}"] for c in caps],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
