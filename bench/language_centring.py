"""Would taking each language's mean vector off help cross-lingual answers? A probe on a kept KB.

Multilingual encoders put the sentences of one language near that language's own centre, so a
Kazakh question resembles every Kazakh example more than their meanings warrant, and an article
that was given Kazakh questions by the desk draws Kazakh questions it should not. Centring
(Libovicky et al. 2020, "On the language neutrality of pre-trained multilingual
representations") takes each language's mean off before comparing.

This probe reads a KB kept by `suggestions_eval.py --keep` and ranks its measured questions four
ways, in one process on the same vectors:
  served        the snapshot as built;
  centred       each part's vector minus its language's passage mean, each question's minus its
                language's query mean (both re-normalised), prototypes, hub damping and the
                score scale recomputed on the centred vectors;
  parts only    the parts centred, the questions as they are;
  questions only  the questions centred, the parts as they are.
The classifier reads the vectors as they are in every row (it was trained on them). The
language means come from what customers asked (at least 10 messages in a language; English's
from the KB when the traffic has none): the set's whole traffic pool, or with --messages N the
first N customers the suggestions bench sent (the same seeded order), which is what the desk's
store holds after N conversations. A part's language is the one the engine's detector reads in it.

The product centres its index itself now (index/centring.py: half of each mean, the KB's own
languages' from the KB); this probe compares full centring on an index built without it.
Choose nothing on the held-out rows: run it on --dev folders.
  python bench/suggestions_eval.py --sets xsid --dev --seed 7 --steps 0 --cache /tmp/c --keep /tmp/d0 --no-centring
  python bench/language_centring.py /tmp/d0/xsid --set xsid --dev --seed 7
"""

from __future__ import annotations

import argparse
import collections
import itertools
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np

from common import progress, table  # noqa: E402  (adds the repo to sys.path)
from eval_kbs import SETS, dev_split, spread_sample
from suggestions_eval import traffic_order

from bot.answer.engine import Engine, message_encoders
from bot.config import Settings
from index.classifier import Classifier
from index.passages import KINDS
from index.scoring import HUB_WEIGHT, background, hub_scores
from index.search import LiveIndex, SearchIndex

MIN_MESSAGES = 10
QUESTION, TITLE, PROTO = KINDS.index("question"), KINDS.index("title"), KINDS.index("proto")


def unit(m: np.ndarray) -> np.ndarray:
    return m / np.maximum(np.linalg.norm(m, axis=-1, keepdims=True), 1e-9)


class RawClassifier:
    """The snapshot's classifier, always fed the question's vectors as they were encoded."""

    def __init__(self, inner: Classifier) -> None:
        self.inner, self.raw = inner, np.zeros(0)

    def log_proba(self, _features: np.ndarray) -> dict[int, float]:
        return self.inner.log_proba(self.raw)


class Probe:
    def __init__(self, folder: Path, traffic: Sequence[str]) -> None:
        settings = replace(Settings(), kb_dir=str(folder / "kb"), index_dir=str(folder / "index"), db=str(folder / "desk.db"), encoder="e5+use", threads=2)
        self.engine = Engine(settings, message_encoders(settings), LiveIndex(settings.index_dir))
        self.s: SearchIndex = self.engine.snapshot()
        if self.s.centring is not None:
            raise SystemExit(f"{folder}: its index is centred already; keep one made with suggestions_eval.py --no-centring")
        self.detector = self.engine.detector(self.s)
        self.members = self.engine.encoders.members
        s = self.s
        self.live = np.flatnonzero(s.row_article >= 0)
        self.text = {int(r): s.passage_text(s.ids[s.row_article[r]], s.langs[int(s.row_lang[r])], int(s.row_part[r]))
                     for r in self.live if s.row_kind[r] != PROTO}
        self.lang = {r: (self.detector.detect(t).lang if s.row_kind[r] == QUESTION else s.langs[int(s.row_lang[r])]) for r, t in self.text.items()}
        by_lang: dict[str, list[str]] = collections.defaultdict(list)
        for message in traffic:
            by_lang[self.detector.detect(message).lang].append(message)
        kb_by_lang: dict[str, list[str]] = collections.defaultdict(list)
        for r, t in self.text.items():
            kb_by_lang[self.lang[r]].append(t)
        self.mu_q: list[dict[str, np.ndarray]] = []
        self.mu_p: list[dict[str, np.ndarray]] = []
        for encoder in self.members:
            sources = {lang: texts for lang, texts in by_lang.items() if len(texts) >= MIN_MESSAGES}
            if "en" not in sources:
                sources["en"] = kb_by_lang["en"]
            mq = {lang: encoder.encode_queries(texts).mean(0) for lang, texts in sources.items()}
            mp = {lang: encoder.encode(texts).mean(0) for lang, texts in sources.items()}
            mq["*"], mp["*"] = np.mean(list(mq.values()), 0), np.mean(list(mp.values()), 0)
            self.mu_q.append(mq)
            self.mu_p.append(mp)
        self.languages = sorted(k for k in self.mu_q[0] if k != "*")
        # The KB's titles and questions read as questions: what hub damping and the scale compare parts with.
        self.references = [r for r in self.live if s.row_kind[r] in (QUESTION, TITLE)]
        self.reference_vectors = [encoder.encode_queries([self.text[r] for r in self.references]) for encoder in self.members]
        self.served = (s.tables, s.row_hub, s.fusion)
        self.classifier = s.classifier

    def variant(self, parts: bool, questions: bool) -> tuple[list[np.ndarray], list[np.ndarray], object]:
        s = self.s
        tables0, hubs0, fusion0 = self.served
        references = self.references
        tables, hubs, backgrounds = [], [], []
        for e in range(len(self.members)):
            t = tables0[e].copy()
            if parts:
                for r in self.text:
                    t[r] = unit(tables0[e][r] - self.mu_p[e].get(self.lang[r], self.mu_p[e]["*"]))
            for a in range(len(s.ids)):
                members = [r for r in s.part_rows[s.part_start[a] : s.part_start[a + 1]] if s.row_kind[r] in (QUESTION, TITLE)]
                if s.proto_row[a] >= 0 and members:
                    t[s.proto_row[a]] = unit(t[members].sum(axis=0))
            q = self.reference_vectors[e]
            if questions:
                q = unit(q - np.stack([self.mu_q[e].get(self.lang[r], self.mu_q[e]["*"]) for r in references]))
            hub = hubs0[e].copy()
            hub[self.live] = hub_scores(t[self.live], q, s.row_article[self.live], s.row_article[references])
            backgrounds.append(background(t[self.live], hub[self.live] * HUB_WEIGHT, q, s.row_article[self.live], s.row_article[references]))
            tables.append(t.astype(np.float32))
            hubs.append(hub)
        return tables, hubs, replace(fusion0, background=tuple(backgrounds))

    def top1(self, asks, setup, questions: bool, label: str) -> float:
        s = self.s
        s.tables, s.row_hub, s.fusion = setup
        raw = RawClassifier(self.classifier) if self.classifier is not None else None
        s.classifier = raw
        right = 0
        for i, (ask, lang, vectors) in enumerate(asks, 1):
            if raw is not None:
                raw.raw = np.concatenate([v[0] for v in vectors])
            query = [unit(v[0] - self.mu_q[e].get(lang, self.mu_q[e]["*"])).astype(np.float32) if questions else v[0] for e, v in enumerate(vectors)]
            found = s.search(query, k=3, lang=lang)
            right += bool(found) and found[0].article_id == ask.article_id
            progress(label, i, len(asks))
        s.tables, s.row_hub, s.fusion = self.served
        s.classifier = self.classifier
        return 100 * right / max(1, len(asks))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", help="a set's folder kept by suggestions_eval.py --keep (holds kb/, index/)")
    p.add_argument("--set", default="xsid", choices=sorted(SETS))
    p.add_argument("--seed", type=int, default=7, help="the seed the folder was made with")
    p.add_argument("--dev", action="store_true", help="the folder was made with --dev (measure its dev half)")
    p.add_argument("--held-out", type=int, default=1000)
    p.add_argument("--messages", type=int, help="take the means from the first N customers' messages (default: the whole traffic pool)")
    args = p.parse_args(argv)
    split = SETS[args.set](args.seed)
    if args.dev:
        split = dev_split(split, args.seed)
    measured = spread_sample(split.held_out, args.held_out, args.seed)
    traffic = [ask.text for ask in (itertools.islice(traffic_order(split.traffic, args.seed), args.messages) if args.messages else split.traffic)]
    probe = Probe(Path(args.folder), traffic)
    asks = []
    for ask in measured:
        lang = probe.detector.detect(ask.text).lang
        asks.append((ask, lang, probe.engine.encoders.encode_queries([probe.s.speller.correct(ask.text, lang)])))
    rows = [["served", f"{probe.top1(asks, probe.served, False, 'served'):.1f}"]]
    for label, parts, questions in (("centred", True, True), ("parts only", True, False), ("questions only", False, True)):
        rows.append([label, f"{probe.top1(asks, probe.variant(parts, questions), questions, label):.1f}"])
    source = f"the first {args.messages} messages" if args.messages else "the whole traffic pool"
    table(f"{args.folder} ({split.name}, seed {args.seed}, {len(asks)} questions; means from {source}, for {', '.join(probe.languages)}): top-1",
          ["vectors", "top-1"], rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
