"""The evaluation sets as benchmark KBs and questions (see ../shared/eval/README.md).

- stackfaq: help-center articles with a title and a body and no example questions; its
  users' questions are never put in the KB.
- clinc: CLINC150, 10 example questions per intent (10-shot), queried with the validation
  rows plus the out-of-scope rows, which should be handed off.
- xsid: an English KB from the even-n rows; queries are the odd-n rows of every language,
  so no query is a translation of a KB question.
Every set is split into a tuning half (even positions) and a held-out half (odd ones):
parameters are chosen on the first, and the second is reported beside it.
"""

from __future__ import annotations

import collections
import random
from dataclasses import dataclass
from pathlib import Path

from common import eval_dir, read_jsonl, write_kb

SHOTS = 10
XSID_LANGS = ("ar", "da", "de", "en", "id", "it", "ja", "kk", "nl", "sr", "tr", "zh")


@dataclass(frozen=True)
class Query:
    text: str
    article_id: str | None  # None: out of scope, should be handed off
    lang: str
    tuning: bool  # in the tuning half


@dataclass(frozen=True)
class EvalSet:
    name: str
    articles: list[tuple[str, str, str, list[str], str]]  # (lang, id, title, questions, body)
    queries: list[Query]

    def write(self, root: Path) -> Path:
        return write_kb(root / self.name / "kb", self.articles)


def _split(rows: list[tuple[str, str | None, str]]) -> list[Query]:
    return [Query(text, article, lang, i % 2 == 0) for i, (text, article, lang) in enumerate(rows)]


def stackfaq() -> EvalSet:
    data = eval_dir() / "stackfaq"
    articles = [("en", a["id"], a["title"], [], a["body"]) for a in read_jsonl(data / "articles.jsonl")]
    queries = [(q["text"], q["article_id"], "en") for q in read_jsonl(data / "queries.jsonl")]
    return EvalSet("stackfaq", articles, _split(queries))


def clinc() -> EvalSet:
    data = eval_dir() / "clinc150"
    by_intent: dict[str, list[str]] = collections.defaultdict(list)
    for row in read_jsonl(data / "train.jsonl"):
        by_intent[row["intent"]].append(row["text"])
    rng = random.Random(0)
    articles = []
    for intent in sorted(by_intent):
        rows = by_intent[intent][:]
        rng.shuffle(rows)
        articles.append(("en", intent, intent.replace("_", " "), rows[:SHOTS], ""))
    queries = [(r["text"], r["intent"], "en") for r in read_jsonl(data / "val.jsonl")]
    queries += [(r["text"], None, "en") for r in read_jsonl(data / "oos_val.jsonl")]
    return EvalSet("clinc", articles, _split(queries))


def xsid() -> EvalSet:
    data = eval_dir() / "xsid"
    by_intent: dict[str, list[str]] = collections.defaultdict(list)
    for row in read_jsonl(data / "en.valid.jsonl"):
        if row["n"] % 2 == 0:
            by_intent[row["intent"]].append(row["text"])
    articles = [("en", i.replace("/", "-"), i.replace("/", " ").replace("_", " "), qs, "") for i, qs in by_intent.items()]
    known = {a[1] for a in articles}
    queries = []
    for lang in XSID_LANGS:
        for row in read_jsonl(data / f"{lang}.valid.jsonl"):
            intent = row["intent"].replace("/", "-")
            if row["n"] % 2 == 1 and intent in known:
                queries.append((row["text"], intent, lang))
    return EvalSet("xsid", articles, _split(queries))


def noisy(dataset: EvalSet, seed: int = 0) -> EvalSet:
    """The same set with every question typed as customers type (bench/noise.py)."""
    from noise import noisy_all

    texts = noisy_all([q.text for q in dataset.queries], [q.lang for q in dataset.queries], seed=seed)
    queries = [Query(t, q.article_id, q.lang, q.tuning) for t, q in zip(texts, dataset.queries)]
    return EvalSet(f"{dataset.name}-noisy", dataset.articles, queries)
