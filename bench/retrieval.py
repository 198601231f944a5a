"""Retrieval quality of the answer engine against plain baselines, on the same data in one run.

Sets (bench/datasets.py): stackfaq (title-and-body help center), stackfaq-noisy, CLINC150
10-shot with out-of-scope, xSID cross-lingual (English KB) and xsid-noisy.
Systems:
- answerdesk with each encoder choice (ANSWERDESK_ENCODER: e5+use, e5, use), through the
  real engine (language, retrieval, decision) after a real reindex and its label-free
  calibration;
- the chosen pipeline with BM25 (bm25s) fused into its top 10, and with a rerank of its top 10
  by whole-article e5 similarity;
- baselines: nearest neighbour over the KB's parts with USE and with e5, and BM25 alone.
Figures: top-1 and top-3 (all rows, tuning half, held-out half), answered right, false
handoffs (a question the KB covers handed off) and, for CLINC, out-of-scope handoff recall.
Usage: python bench/retrieval.py [stackfaq] [clinc] [xsid] [--noisy-only] [--systems a,b]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from common import progress, table  # noqa: E402  (adds the repo to sys.path)
from datasets import EvalSet, Query, clinc, noisy, stackfaq, xsid

from bot.config import Settings
from bot.answer.decision import ANSWER, HANDOFF
from bot.answer.engine import Engine, Inbound
from bot.language.detect import fold_text
from bot.reindex.run import reindex
from index.encoders import E5Encoder, Encoders, USEEncoder
from index.kb import load_kb
from index.passages import plain_text, split_article
from index.search import LiveIndex

RERANK_DEPTH = 10
BM25_WEIGHT = 0.05
ARTICLE_WEIGHT = 0.5


@dataclass
class Result:
    """What one system said for each question: its ranked article ids, and its action if it decides."""

    ranked: list[list[str]]
    actions: list[str | None]
    seconds: float


class Product:
    """The real engine over a real reindex of the set's KB."""

    def __init__(self, kb: Path, work: Path, encoders: Encoders, spec: str, fusion: dict[str, object] | None = None, spelling: bool = True) -> None:
        # One index folder for every encoder choice, so they share the embedding cache; each
        # engine then reads its own snapshot through a link of its own.
        settings = Settings(kb_dir=str(kb), index_dir=str(work / "index"), encoder=spec)
        started = time.perf_counter()
        reindex(settings, encoder=encoders)
        self.build_seconds = time.perf_counter() - started
        link = work / f"index-{spec}"
        if link.is_symlink():
            link.unlink()
        link.symlink_to(Path(settings.index_dir).resolve())
        self.engine = Engine(settings.with_overrides(index_dir=str(link)), encoders, LiveIndex(link))
        snapshot = self.engine.snapshot()
        if fusion:  # tuning runs: scoring parameters other than the ones the build stored
            snapshot.fusion = replace(snapshot.fusion, **fusion)
        if not spelling:
            snapshot._speller = _AsTyped()

    def run(self, queries: Sequence[Query], label: str) -> Result:
        ranked, actions = [], []
        started = time.perf_counter()
        for i, q in enumerate(queries, 1):
            decision = self.engine.respond(Inbound(q.text)).decision
            ranked.append([c.article_id for c in decision.candidates])
            actions.append(decision.action)
            progress(label, i, len(queries))
        return Result(ranked, actions, time.perf_counter() - started)

    def top(self, text: str, k: int) -> tuple[list, str]:
        snapshot = self.engine.snapshot()
        lang = self.engine.detector(snapshot).detect(text).lang
        vectors = self.engine.encoders.encode_queries([text])
        return snapshot.search([v[0] for v in vectors], k=k, lang=lang), lang


class _AsTyped:
    def correct(self, text: str, lang: str | None) -> str:
        return text


class Rescored:
    """The chosen pipeline's top RERANK_DEPTH, re-scored with one more signal per article."""

    def __init__(self, product: Product, signal: Callable[[str, list[str]], np.ndarray], weight: float) -> None:
        self.product, self.signal, self.weight = product, signal, weight

    def run(self, queries: Sequence[Query], label: str) -> Result:
        ranked = []
        started = time.perf_counter()
        for i, q in enumerate(queries, 1):
            top, _ = self.product.top(q.text, RERANK_DEPTH)
            ids = [c.article_id for c in top]
            scores = np.array([c.score for c in top]) + self.weight * self.signal(q.text, ids) if ids else np.zeros(0)
            ranked.append([ids[j] for j in np.argsort(-scores, kind="stable")])
            progress(label, i, len(queries))
        return Result(ranked, [None] * len(queries), time.perf_counter() - started)


class Parts:
    """The KB's parts (titles, example questions, body passages) and their articles."""

    def __init__(self, kb: Path) -> None:
        parts = [p for a in load_kb(kb).articles for p in split_article(a)]
        self.texts = [p.text for p in parts]
        self.ids = np.array([p.article_id for p in parts])
        self.articles = {a.id: f"{a.title}\n\n{plain_text(a.body)}" for a in load_kb(kb).articles}

    def best_per_article(self, sims: np.ndarray) -> list[list[str]]:
        out = []
        for row in sims:
            order = np.argsort(-row)
            seen: dict[str, None] = {}
            for j in order:
                seen.setdefault(self.ids[j])
                if len(seen) == 3:
                    break
            out.append(list(seen))
        return out


class Nearest:
    """Baseline: the article of the nearest part, by one encoder's cosine."""

    def __init__(self, parts: Parts, encoder, name: str) -> None:
        self.parts, self.encoder = parts, encoder
        self.vectors = encoder.encode(parts.texts)

    def run(self, queries: Sequence[Query], label: str) -> Result:
        started = time.perf_counter()
        sims = self.encoder.encode_queries([q.text for q in queries]) @ self.vectors.T
        return Result(self.parts.best_per_article(sims), [None] * len(queries), time.perf_counter() - started)


class BM25:
    """Baseline: BM25 (bm25s) over the parts, words folded (case, accents)."""

    def __init__(self, parts: Parts) -> None:
        import bm25s

        self.bm25s, self.parts = bm25s, parts
        self.model = bm25s.BM25()
        self.model.index(bm25s.tokenize([fold_text(t) for t in parts.texts], show_progress=False), show_progress=False)

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        tokens = self.bm25s.tokenize([fold_text(t) for t in texts], show_progress=False)
        docs, sims = self.model.retrieve(tokens, k=len(self.parts.texts), show_progress=False, n_threads=1)
        out = np.zeros((len(texts), len(self.parts.texts)), np.float32)
        for i in range(len(texts)):
            out[i, docs[i]] = sims[i]
        return out

    def run(self, queries: Sequence[Query], label: str) -> Result:
        started = time.perf_counter()
        return Result(self.parts.best_per_article(self.scores([q.text for q in queries])), [None] * len(queries), time.perf_counter() - started)

    def per_article(self, text: str, ids: list[str]) -> np.ndarray:
        row = self.scores([text])[0]
        best = {a: float(row[self.parts.ids == a].max()) for a in ids}
        top = max(best.values()) or 1.0
        return np.array([best[a] / top for a in ids])


def metrics(result: Result, queries: Sequence[Query]) -> dict[str, float]:
    gold = [q.article_id for q in queries]
    inscope = [i for i, g in enumerate(gold) if g is not None]
    hit1 = np.array([bool(result.ranked[i]) and result.ranked[i][0] == gold[i] for i in inscope])
    hit3 = np.array([gold[i] in result.ranked[i][:3] for i in inscope])
    tuning = np.array([queries[i].tuning for i in inscope])
    out = {
        "top-1": hit1.mean(), "top-1 tune": hit1[tuning].mean(), "top-1 held-out": hit1[~tuning].mean() if (~tuning).any() else "", "top-3": hit3.mean(),
    }
    if result.actions[0] is not None:
        out["answered right"] = np.mean([result.actions[i] == ANSWER and hit1[n] for n, i in enumerate(inscope)])
        out["false handoff"] = np.mean([result.actions[i] == HANDOFF for i in inscope])
        oos = [i for i, g in enumerate(gold) if g is None]
        if oos:
            out["oos handoff recall"] = np.mean([result.actions[i] == HANDOFF for i in oos])
    return out


def by_language(result: Result, queries: Sequence[Query]) -> dict[str, float]:
    out: dict[str, list[bool]] = {}
    for r, q in zip(result.ranked, queries):
        out.setdefault(q.lang, []).append(bool(r) and r[0] == q.article_id)
    return {lang: float(np.mean(v)) for lang, v in out.items()}


COLUMNS = ["top-1", "top-1 tune", "top-1 held-out", "top-3", "answered right", "false handoff", "oos handoff recall"]


def run_set(dataset: EvalSet, work: Path, encoders: dict[str, object], systems: list[str], with_noisy: bool, fusion: dict[str, object], spelling: bool) -> None:
    kb = dataset.write(work)
    variants = [dataset, noisy(dataset)] if with_noisy else [dataset]
    parts = Parts(kb)
    runners: dict[str, object] = {}
    builds: list[tuple[str, float]] = []
    for spec in ("e5+use", "e5", "use"):
        if f"answerdesk {spec}" in systems or (spec == "e5+use" and any(s.startswith("e5+use +") for s in systems)):
            members = Encoders(tuple(encoders[name] for name in spec.split("+")))  # type: ignore[misc]
            product = Product(kb, work / dataset.name, members, spec, fusion, spelling)
            builds.append((spec, product.build_seconds))
            runners[f"answerdesk {spec}"] = product
    if "e5+use +BM25" in systems:
        runners["e5+use +BM25"] = Rescored(runners["answerdesk e5+use"], BM25(parts).per_article, BM25_WEIGHT)  # type: ignore[arg-type]
    if "e5+use +rerank" in systems:
        e5 = encoders["e5"]
        article_vectors = dict(zip(parts.articles, e5.encode(list(parts.articles.values()))))  # type: ignore[attr-defined]

        def whole_article(text: str, ids: list[str]) -> np.ndarray:
            q = e5.encode_queries([text])[0]  # type: ignore[attr-defined]
            return np.array([float(article_vectors[a] @ q) for a in ids])

        runners["e5+use +rerank"] = Rescored(runners["answerdesk e5+use"], whole_article, ARTICLE_WEIGHT)  # type: ignore[arg-type]
    if "USE NN" in systems:
        runners["USE NN"] = Nearest(parts, encoders["use"], "use")
    if "e5 NN" in systems:
        runners["e5 NN"] = Nearest(parts, encoders["e5"], "e5")
    if "BM25" in systems:
        runners["BM25"] = BM25(parts)
    for variant in variants:
        rows, langs = [], {}
        for name in systems:
            if name not in runners:
                continue
            result = runners[name].run(variant.queries, f"{variant.name} {name}")  # type: ignore[attr-defined]
            m = metrics(result, variant.queries)
            rows.append((name, *[m.get(c, "") for c in COLUMNS], result.seconds / len(variant.queries) * 1000))
            if variant.name.startswith("xsid"):
                langs[name] = by_language(result, variant.queries)
        table(f"{variant.name}: {len(variant.queries)} questions, {len(variant.articles)} articles", ["system", *COLUMNS, "ms/question"], rows)
        if langs:
            codes = sorted(next(iter(langs.values())))
            table(f"{variant.name}: top-1 per language", ["system", *codes, "mean"], [(n, *[v[c] for c in codes], float(np.mean(list(v.values())))) for n, v in langs.items()])
    if builds:
        table(f"{dataset.name}: reindex seconds (encoding cached across systems)", ["encoders", "seconds"], builds)


ALL_SYSTEMS = ["answerdesk e5+use", "answerdesk e5", "answerdesk use", "e5+use +BM25", "e5+use +rerank", "USE NN", "e5 NN", "BM25"]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sets", nargs="*", default=["stackfaq", "clinc", "xsid"])
    parser.add_argument("--systems", default=",".join(ALL_SYSTEMS), help="comma-separated, from: " + ", ".join(ALL_SYSTEMS))
    parser.add_argument("--no-noisy", action="store_true", help="skip the noisy variants")
    parser.add_argument("--work", help="keep KBs, indexes and embedding caches in this folder between runs (default: a temporary one)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="tuning: a scoring parameter of index/scoring.py Fusion")
    parser.add_argument("--no-spelling", action="store_true", help="tuning: search the questions as typed")
    parser.add_argument("--tuning-only", action="store_true", help="tuning: ask only the tuning half")
    args = parser.parse_args(argv)
    fusion = {name: tuple(float(v) for v in value.split(",")) if "," in value else float(value) for name, value in (item.split("=", 1) for item in args.set)}
    systems = args.systems.split(",")
    encoders = {"e5": E5Encoder(threads=2), "use": USEEncoder(threads=1)}
    loaders = {"stackfaq": stackfaq, "clinc": clinc, "xsid": xsid}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        for name in args.sets:
            dataset = loaders[name]()
            if args.tuning_only:
                dataset = EvalSet(dataset.name, dataset.articles, [q for q in dataset.queries if q.tuning])
            run_set(dataset, work, encoders, systems, not args.no_noisy and name != "clinc", fusion, not args.no_spelling)


if __name__ == "__main__":
    main(sys.argv[1:])
