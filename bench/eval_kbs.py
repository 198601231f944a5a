"""The evaluation sets as thin KBs, a traffic pool and a held-out set, for bench/suggestions_eval.py.

Each set is split once, with a fixed seed, into three parts that share no row (and, for xSID,
no translation of a row): what the KB lists, what simulated customers ask (the traffic pool),
and what is measured (held out). Nothing is tuned on the held-out rows.

- stackfaq: title and body only, no example questions; queries split 50/50 per article.
- clinc150: in-scope intents only; an article per intent titled from its name ("transfer money")
  with 3 training rows as example questions; traffic from the other training rows; held out
  from the validation rows.
- xsid: the English KB from the English rows with even n (eval README's cross-lingual use);
  traffic from the other languages' rows with n % 4 == 1, held out from those with n % 4 == 3.
"""

from __future__ import annotations

import collections
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from common import eval_dir, read_jsonl

CLINC_SHOTS = 3
XSID_LANGS = ("ar", "da", "de", "id", "it", "ja", "kk", "nl", "sr", "tr", "zh")  # every language but the KB's


@dataclass(frozen=True)
class Ask:
    text: str
    article_id: str  # the right article
    lang: str
    group: str = ""  # asks that are translations of one sentence (xSID's n): never split apart


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    questions: tuple[str, ...]
    body: str


@dataclass(frozen=True)
class SplitSet:
    name: str
    articles: list[Article]  # all English
    traffic: list[Ask]  # what simulated customers ask
    held_out: list[Ask]  # what is measured; never in the KB nor in the traffic

    def write(self, kb: Path) -> Path:
        """The articles as `<kb>/en/<id>.md`: front matter id, lang, title (and questions when it has some)."""
        folder = kb / "en"
        folder.mkdir(parents=True, exist_ok=True)
        for a in self.articles:
            lines = ["---", f"id: {a.id}", "lang: en", f"title: {json.dumps(a.title, ensure_ascii=False)}"]
            if a.questions:
                lines += ["questions:"] + [f"  - {json.dumps(q, ensure_ascii=False)}" for q in a.questions]
            (folder / f"{a.id}.md").write_text("\n".join([*lines, "---", a.body, ""]), encoding="utf-8")
        return kb


def spread_sample(asks: Sequence[Ask], n: int | None, seed: int) -> list[Ask]:
    """At most `n` of the asks, taken evenly across articles (round robin over shuffled per-article lists)."""
    if n is None or n >= len(asks):
        return list(asks)
    rng = random.Random(seed)
    by_article: dict[str, list[Ask]] = collections.defaultdict(list)
    for a in asks:
        by_article[a.article_id].append(a)
    ranked = []
    for article in sorted(by_article):
        rows = by_article[article][:]
        rng.shuffle(rows)
        ranked += [(rank, rng.random(), a) for rank, a in enumerate(rows)]
    return [a for _, _, a in sorted(ranked, key=lambda r: (r[0], r[1]))[:n]]


def stackfaq(seed: int) -> SplitSet:
    data = eval_dir() / "stackfaq"
    articles = [Article(a["id"], a["title"], (), a["body"]) for a in read_jsonl(data / "articles.jsonl")]
    by_article: dict[str, list[Ask]] = collections.defaultdict(list)
    for q in read_jsonl(data / "queries.jsonl"):
        by_article[q["article_id"]].append(Ask(q["text"], q["article_id"], "en"))
    traffic, held_out = _halves(by_article, random.Random(seed))
    return SplitSet("stackfaq", articles, traffic, held_out)


def _halves(by_article: dict[str, list[Ask]], rng: random.Random) -> tuple[list[Ask], list[Ask]]:
    """Each article's rows (or groups of translations) shuffled and halved; odd counts: the extra one alternates between the halves."""
    first, second = [], []
    for i, article in enumerate(sorted(by_article)):
        rows = by_article[article][:]
        if any(r.group for r in rows):  # translations of one sentence go to the same half
            groups = sorted({r.group for r in rows})
            rng.shuffle(groups)
            kept = set(groups[: (len(groups) + i % 2) // 2])
            first += [r for r in rows if r.group in kept]
            second += [r for r in rows if r.group not in kept]
            continue
        rng.shuffle(rows)
        half = (len(rows) + i % 2) // 2
        first += rows[:half]
        second += rows[half:]
    return first, second


def clinc150(seed: int) -> SplitSet:
    data = eval_dir() / "clinc150"
    by_intent: dict[str, list[str]] = collections.defaultdict(list)
    for row in read_jsonl(data / "train.jsonl"):
        by_intent[row["intent"]].append(row["text"])
    rng = random.Random(seed)
    articles, traffic = [], []
    for intent in sorted(by_intent):
        rows = by_intent[intent][:]
        rng.shuffle(rows)
        title = intent.replace("_", " ")
        articles.append(Article(intent, title, tuple(rows[:CLINC_SHOTS]), ""))
        traffic += [Ask(t, intent, "en") for t in rows[CLINC_SHOTS:]]
    held_out = [Ask(r["text"], r["intent"], "en") for r in read_jsonl(data / "val.jsonl") if r["intent"] in by_intent]
    return SplitSet("clinc150", articles, traffic, held_out)


def xsid(seed: int) -> SplitSet:
    data = eval_dir() / "xsid"
    by_intent: dict[str, list[str]] = collections.defaultdict(list)
    for row in read_jsonl(data / "en.valid.jsonl"):
        if row["n"] % 2 == 0:
            by_intent[row["intent"]].append(row["text"])
    articles = [Article(_xsid_id(i), i.replace("/", " ").replace("_", " "), tuple(qs), "") for i, qs in sorted(by_intent.items())]
    traffic, held_out = [], []
    for lang in XSID_LANGS:
        for row in read_jsonl(data / f"{lang}.valid.jsonl"):
            if row["intent"] not in by_intent or row["n"] % 2 == 0:
                continue
            (traffic if row["n"] % 4 == 1 else held_out).append(Ask(row["text"], _xsid_id(row["intent"]), lang, str(row["n"])))
    return SplitSet("xsid", articles, traffic, held_out)


def _xsid_id(intent: str) -> str:
    return intent.replace("/", "-")


def dev_split(split: SplitSet, seed: int) -> SplitSet:
    """For tuning: the traffic pool alone, halved per article into traffic and what is measured.
    The held-out rows are not read, so nothing chosen on this split has seen them."""
    by_article: dict[str, list[Ask]] = collections.defaultdict(list)
    for ask in split.traffic:
        by_article[ask.article_id].append(ask)
    traffic, measured = _halves(by_article, random.Random(seed + 1))
    return SplitSet(f"{split.name}-dev", split.articles, traffic, measured)


SETS: dict[str, Callable[[int], SplitSet]] = {"stackfaq": stackfaq, "clinc150": clinc150, "xsid": xsid}
