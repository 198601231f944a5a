"""Retrieval quality: CLINC150 10-shot (with out-of-scope) and xSID cross-lingual.

Each section builds a KB in the article format, reindexes it with the product's own
pipeline, asks every query through the engine, and runs the plain baselines in the same
process: cosine nearest neighbour over USE example questions, and BM25 alone.
Usage: python bench/retrieval.py [clinc] [xsid]
"""

from __future__ import annotations

import collections
import random
import sys
import tempfile
from pathlib import Path

import numpy as np

from common import eval_dir, progress, read_jsonl, table, write_kb  # noqa: E402  (adds the repo to sys.path)

from bot.calibration import Case, calibrate_labelled
from bot.config import Settings
from bot.decision import ANSWER, CLARIFY, HANDOFF
from bot.engine import Engine, Inbound
from bot.reindex import reindex, write_calibration
from index.encoders import USEEncoder
from index.search import LiveIndex

SHOTS = 10


def engine_for(kb_root: Path, encoder: USEEncoder) -> Engine:
    settings = Settings(kb_dir=str(kb_root), index_dir=str(kb_root.parent / "index"), languages="en")
    reindex(settings, encoder=encoder)
    return Engine(settings, encoder, LiveIndex(settings.index_dir))


def ask_all(engine: Engine, texts: list[str], label: str, hint: str | None = None) -> list:
    out = []
    for i, text in enumerate(texts, 1):
        out.append(engine.respond(Inbound(text, lang_hint=hint)).decision)
        progress(label, i, len(texts))
    return out


class NearestNeighbour:
    """Baseline: cosine nearest neighbour over the example questions."""

    def __init__(self, encoder: USEEncoder, questions: list[str], labels: list[str]) -> None:
        self.encoder, self.labels = encoder, np.array(labels)
        self.vectors = encoder.encode(questions)

    def scores(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        sims = self.encoder.encode(texts) @ self.vectors.T
        best = sims.argmax(1)
        return self.labels[best], sims.max(1)


class BM25:
    """Baseline: BM25 alone over the example questions."""

    def __init__(self, questions: list[str], labels: list[str]) -> None:
        import bm25s

        self.bm25s, self.labels = bm25s, np.array(labels)
        self.model = bm25s.BM25()
        self.model.index(bm25s.tokenize(questions, stopwords="en", show_progress=False), show_progress=False)

    def scores(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        tokens = self.bm25s.tokenize(texts, stopwords="en", show_progress=False)
        docs, sims = self.model.retrieve(tokens, k=1, show_progress=False, n_threads=1)
        return self.labels[docs[:, 0]], sims[:, 0]


def tuned_threshold(pred: np.ndarray, score: np.ndarray, gold: np.ndarray, oos_score: np.ndarray) -> float:
    """The threshold maximising in-scope accuracy + out-of-scope recall on a tuning split."""
    best, best_value = 0.0, -1.0
    for t in np.unique(np.concatenate([score, oos_score])):
        value = ((pred == gold) & (score >= t)).mean() + (oos_score < t).mean()
        if value > best_value:
            best, best_value = float(t), value
    return best


def clinc(encoder: USEEncoder, work: Path) -> None:
    data = eval_dir() / "clinc150"
    by_intent: dict[str, list[str]] = collections.defaultdict(list)
    for row in read_jsonl(data / "train.jsonl"):
        by_intent[row["intent"]].append(row["text"])
    rng = random.Random(0)
    shots, tune = {}, []
    for intent in sorted(by_intent):
        rows = by_intent[intent][:]
        rng.shuffle(rows)
        shots[intent] = rows[:SHOTS]
        tune += [(t, intent) for t in rows[SHOTS : SHOTS + 10]]
    oos_tune = [r["text"] for r in read_jsonl(data / "oos_train.jsonl")]
    val = read_jsonl(data / "val.jsonl")
    oos_val = [r["text"] for r in read_jsonl(data / "oos_val.jsonl")]
    val_texts, val_gold = [r["text"] for r in val], np.array([r["intent"] for r in val])

    kb = write_kb(work / "clinc" / "kb", ((("en", i, i.replace("_", " "), qs, "")) for i, qs in shots.items()))
    engine = engine_for(kb, encoder)
    rows = []

    def report(name: str, decisions_in: list, decisions_out: list) -> None:
        strict = np.mean([d.action == ANSWER and d.article_id == g for d, g in zip(decisions_in, val_gold)])
        lenient = np.mean([d.action in (ANSWER, CLARIFY) and d.candidates[0].article_id == g for d, g in zip(decisions_in, val_gold)])
        clar = np.mean([d.action == CLARIFY for d in decisions_in])
        top1 = np.mean([bool(d.candidates) and d.candidates[0].article_id == g for d, g in zip(decisions_in, val_gold)])
        recall = np.mean([d.action == HANDOFF for d in decisions_out])
        rows.append((name, top1, strict, lenient, clar, recall))

    cal = engine.index.current().calibration["thresholds"]
    print(f"  auto-calibrated thresholds: {cal}", file=sys.stderr)
    report("answerdesk, auto-calibrated (no labels)", ask_all(engine, val_texts, "clinc val"), ask_all(engine, oos_val, "clinc oos"))
    cases = [Case(t, i) for t, i in tune] + [Case(t, None) for t in oos_tune]
    calibration = calibrate_labelled(engine.index.current(), encoder, cases)
    write_calibration(engine.settings.index_dir, calibration)
    engine.index = LiveIndex(engine.settings.index_dir)  # pick up the new calibration
    print(f"  labelled thresholds: {calibration.thresholds}", file=sys.stderr)
    report("answerdesk, calibrated on train/oos_train", ask_all(engine, val_texts, "clinc val"), ask_all(engine, oos_val, "clinc oos"))

    questions = [q for qs in shots.values() for q in qs]
    labels = [i for i, qs in shots.items() for _ in qs]
    tune_texts, tune_gold = [t for t, _ in tune], np.array([i for _, i in tune])
    for name, model in (("baseline: USE nearest neighbour", NearestNeighbour(encoder, questions, labels)), ("baseline: BM25 alone", BM25(questions, labels))):
        pred_t, score_t = model.scores(tune_texts)
        _, oos_t = model.scores(oos_tune)
        threshold = tuned_threshold(pred_t, score_t, tune_gold, oos_t)
        pred, score = model.scores(val_texts)
        _, oos_score = model.scores(oos_val)
        strict = ((pred == val_gold) & (score >= threshold)).mean()
        rows.append((name + " (threshold tuned on train/oos_train)", (pred == val_gold).mean(), strict, strict, 0.0, (oos_score < threshold).mean()))
    table(
        f"CLINC150 {SHOTS}-shot: {len(val_texts)} in-scope val queries, {len(oos_val)} out-of-scope",
        ["system", "top-1 (no threshold)", "in-scope answered right", "right incl. clarify", "clarify rate", "oos handoff recall"],
        rows,
    )


WEAK = ("da", "kk", "sr")


def xsid(encoder: USEEncoder, work: Path) -> None:
    data = eval_dir() / "xsid"
    by_intent: dict[str, list[str]] = collections.defaultdict(list)
    weak_questions: dict[str, list[str]] = collections.defaultdict(list)
    for lang in ("en", *WEAK):
        for row in read_jsonl(data / f"{lang}.valid.jsonl"):
            if row["n"] % 2 == 0:
                (by_intent if lang == "en" else weak_questions)[row["intent"]].append(row["text"])
    kb = write_kb(work / "xsid" / "kb", (("en", i.replace("/", "-"), i.replace("/", " ").replace("_", " "), qs, "") for i, qs in by_intent.items()))
    engine = engine_for(kb, encoder)
    # What helps the languages the encoder does not know: example questions written in them
    # (even-n rows, so still no query is a translation of a KB question).
    kb_plus = write_kb(
        work / "xsid-plus" / "kb",
        (("en", i.replace("/", "-"), i.replace("/", " ").replace("_", " "), qs + weak_questions.get(i, []), "") for i, qs in by_intent.items()),
    )
    engine_plus = engine_for(kb_plus, encoder)
    questions = [q for qs in by_intent.values() for q in qs]
    labels = [i.replace("/", "-") for i, qs in by_intent.items() for _ in qs]
    nn, bm25 = NearestNeighbour(encoder, questions, labels), BM25(questions, labels)
    rows, ours_all, nn_all, plus_all = [], [], [], []
    langs = sorted(p.name.split(".")[0] for p in data.glob("*.valid.jsonl"))
    for lang in langs:
        queries = [r for r in read_jsonl(data / f"{lang}.valid.jsonl") if r["n"] % 2 == 1 and r["intent"].replace("/", "-") in engine.index.current().versions]
        texts, gold = [r["text"] for r in queries], np.array([r["intent"].replace("/", "-") for r in queries])
        decisions = ask_all(engine, texts, f"xsid {lang}")
        ours = np.mean([bool(d.candidates) and d.candidates[0].article_id == g for d, g in zip(decisions, gold)])
        plus = ask_all(engine_plus, texts, f"xsid+ {lang}")
        ours_plus = np.mean([bool(d.candidates) and d.candidates[0].article_id == g for d, g in zip(plus, gold)])
        plus_all.append(ours_plus)
        answered = np.mean([d.action == ANSWER and d.article_id == g for d, g in zip(decisions, gold)])
        base = (nn.scores(texts)[0] == gold).mean()
        lexical = (bm25.scores(texts)[0] == gold).mean()
        ours_all.append(ours)
        nn_all.append(base)
        rows.append((lang, len(texts), base, lexical, ours, answered, ours_plus))
    rows.append(("mean", "", float(np.mean(nn_all)), "", float(np.mean(ours_all)), "", float(np.mean(plus_all))))
    table(
        "xSID cross-lingual: English KB from even-n rows; queries are odd-n rows of each language (top-1 accuracy)",
        ["lang", "queries", "USE nearest neighbour", "BM25 alone", "answerdesk top-1", "answerdesk answered right", "top-1, KB with da/kk/sr questions too"],
        rows,
    )


def main(argv: list[str]) -> None:
    sections = argv or ["clinc", "xsid"]
    encoder = USEEncoder(threads=2)
    with tempfile.TemporaryDirectory() as tmp:
        if "clinc" in sections:
            clinc(encoder, Path(tmp))
        if "xsid" in sections:
            xsid(encoder, Path(tmp))


if __name__ == "__main__":
    main(sys.argv[1:])
