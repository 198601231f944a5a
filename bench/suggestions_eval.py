"""Does accepting the desk's suggestions improve answers? Simulated traffic, accepted suggestions, held-out retrieval.

For each set (bench/eval_kbs.py: a thin KB, a traffic pool and a held-out set, split once with
--seed), in a temp folder: the KB is indexed (in process, `bot.reindex.run.reindex`) and a real
Desk runs on a SQLite store. Then, step by step (--steps, cumulative: the first 100 customers,
measure, on to 500, ...):

  customers  each opens a new web conversation (its language as the hint) and asks one question
             drawn from the traffic pool (reshuffled passes once the pool is used up). When the
             bot offers choices (clarify) and the right article is among them, the customer
             picks it (`Desk.choose`). With --agents (the default; --no-agents for picks alone)
             the rest of the desk's loop runs too: a wrong answer is rated "not helpful", and a
             handed-off customer (after that "no", or not covered) is answered by an agent with
             the right article (the console's "Answer with an article": `Desk.agent_reply` with
             `article_id`). A right answer is left as it is.
  review     every QUESTION suggestion of `Review.listing()` is accepted, an article's group at a
             time as the console's "Accept all" does (`Review.accept_many`, which writes them into
             the article's `questions:`); notes and drafts are counted, not taken.
  reindex    in process, with the store (so it also asks the accepted questions again); timed,
             the part up to publishing ("build") and the whole.
  measure    each held-out question through `Engine.respond(Inbound(text))` (no hint, no
             history): top-1 and top-3 are the ranking of the engine's own search for it (the
             `Engine.search` call `respond` makes), "answered" the share answered directly with
             the right article.

The table gives each step's figures and their change in points against step 0, with a 95%
bootstrap interval for that change (the held-out questions re-drawn, an xSID sentence's
translations together: they pass or fail together), then the
issue's targets: top-1 on stackfaq up at least 5 points after 500 conversations, and no figure
worse than step 0 on the other sets. A missed target is printed as MISSED with its numbers.
The last column is the snapshot's calibrated answer/handoff thresholds and clarify margin: with
answer = handoff and margin 0 the bot never offers choices, so no "picked" suggestion can arise.

Usage: python bench/suggestions_eval.py [--sets stackfaq,clinc150,xsid] [--steps 0,100,500,2000]
       [--held-out 1000] [--encoder e5+use] [--seed 7] [--threads 2] [--cache DIR] [--keep DIR] [--dev] [--close-call X]

--dev is for choosing anything (a parameter, a rule) on these sets: each set's traffic pool is
halved per article, customers come from one half and the other half is measured; the held-out
rows are never read.
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from common import change_interval, progress, table  # noqa: E402  (adds the repo to sys.path)
from eval_kbs import SETS, Ask, SplitSet, dev_split, spread_sample

from bot.answer.decision import ANSWER, CLARIFY, HANDOFF, MAX_CHOICES
from bot.answer.engine import Engine, Inbound, message_encoders
from bot.config import Settings
from bot.desk.desk import Desk, build_desk
from bot.errors import AnswerdeskError
from bot.store.model import Message, Store
from bot.reindex.run import reindex
from bot.suggestions import mine as mine_module
from bot.suggestions.command import per_article
from bot.suggestions.model import DRAFT, NOTE, QUESTION
from bot.suggestions.review import Review
from index.build import builds_folder
from index.encoders import Encoder, Encoders
from index.kb_edit import Author
from index.search import ArticleScore, LiveIndex, SearchIndex

TARGET_SET, TARGET_STEP, TARGET_POINTS = "stackfaq", 500, 5.0
REVIEWER = Author("suggestions bench", "bench@localhost")


class Measured(Engine):
    """The real engine, remembering the ranking of its last search (what `respond` decided from)."""

    last: list[ArticleScore] = []  # replaced, never changed in place

    def search(self, snapshot: SearchIndex, text: str, lang: str | None, k: int = MAX_CHOICES) -> list[ArticleScore]:
        found = super().search(snapshot, text, lang, k)
        self.last = found
        return found


class _Remembered:
    """An encoder that encodes each passage text once: `Review.accept_many` mines the whole period again
    for every suggestion, and groups its gaps (for drafts) with the encoder each time."""

    def __init__(self, encoder: Encoder) -> None:
        self.inner, self.name, self.dim, self.languages = encoder, encoder.name, encoder.dim, encoder.languages
        self._seen: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        new = list(dict.fromkeys(t for t in texts if t not in self._seen))
        if new:
            self._seen.update(zip(new, self.inner.encode(new)))
        return np.stack([self._seen[t] for t in texts]) if texts else np.zeros((0, self.dim), dtype=np.float32)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.encode_queries(texts)


@dataclass(frozen=True)
class Figures:
    conversations: int
    accepted: int  # QUESTION suggestions accepted so far
    top1: float
    top3: float
    answered: float  # answered directly with the right article
    build_seconds: float | None  # reindex up to publishing
    reindex_seconds: float | None  # the whole reindex, asking the accepted questions again included
    proven: str  # accepted questions the reindex found answered with their article, "n/m"
    thresholds: str  # the snapshot's calibrated answer / handoff thresholds and clarify margin
    intervals: dict[str, tuple[float, float]]  # per figure: 95% interval of its change against step 0


@dataclass(frozen=True)
class Outcomes:
    top1: list[bool]
    top3: list[bool]
    answered: list[bool]

    @staticmethod
    def percent(flags: list[bool]) -> float:
        return 100 * sum(flags) / max(1, len(flags))


@dataclass
class Traffic:
    """What the simulated customers met, so far."""

    answered_right: int = 0
    answered_wrong: int = 0
    offered_right: int = 0  # a clarify that offered the right article: picked
    offered_other: int = 0
    handed_off: int = 0
    rated_no: int = 0  # a wrong answer the customer said did not help (--agents)
    rated_yes: int = 0  # a right answer the customer said helped (--ratings)
    agent_gave: int = 0  # handed-off customers an agent answered with the right article (--agents)
    other: int = 0  # small talk

    def add(self, replies: Sequence[Message], gold: str) -> bool:
        """Count one turn; True when the customer should pick `gold` from its choices."""
        for r in replies:
            if r.action == ANSWER:
                self.answered_right += r.article_id == gold
                self.answered_wrong += r.article_id != gold
                return False
            if r.action == CLARIFY:
                offered = gold in [c.article_id for c in r.choices]
                self.offered_right += offered
                self.offered_other += not offered
                return offered
            if r.action == HANDOFF:
                self.handed_off += 1
                return False
        self.other += 1
        return False


class Run:
    """One set's KB, index, store, engine, desk and review in a work folder."""

    def __init__(self, split: SplitSet, work: Path, encoder: str, threads: int, cache: Path | None = None, centring: bool = True) -> None:
        self.split = split
        kb = split.write(work / "kb")
        self.settings = replace(Settings(), kb_dir=str(kb), index_dir=str(work / "index"), db=str(work / "desk.db"), encoder=encoder, threads=threads,
                                language_centring=centring)
        self.cache = cache
        if cache is not None:  # vectors of an earlier run: the first build then costs what an unchanged reindex does
            copy_vectors(cache, builds_folder(self.settings.index_dir))
        print(f"[{split.name}] loading encoders {encoder}...", file=sys.stderr, flush=True)
        self.encoders = message_encoders(self.settings)
        self.first_build = self._reindex(store=None)
        self.engine = Measured(self.settings, self.encoders, LiveIndex(self.settings.index_dir))
        self.desk: Desk = build_desk(self.settings, engine=self.engine)
        review_encoder = Encoders(tuple(_Remembered(e) for e in self.encoders.members))  # type: ignore[arg-type]
        self.review = Review(self.settings, self.desk.store, engine=self.engine, encoder=review_encoder)
        self.traffic = Traffic()
        self.accepted = 0
        self.skipped = {NOTE: 0, DRAFT: 0}
        self.failed: list[str] = []

    def _reindex(self, store: Store | None) -> tuple[float, float, str]:
        """(seconds to publish, seconds in all, "answered/accepted" of the re-asked questions)."""
        marks: dict[str, float] = {}
        started = time.perf_counter()
        done = reindex(self.settings, encoder=self.encoders, store=store, out=io.StringIO(),
                       progress=lambda step: marks.setdefault(step, time.perf_counter()))
        total = time.perf_counter() - started
        build = marks.get("asking accepted suggestions again", started + total) - started
        return build, total, f"{sum(p.answered for p in done.proofs)}/{len(done.proofs)}"

    def customers(self, asks: Sequence[Ask], first: int, agents: bool = True, ratings: bool = True) -> None:
        """Each ask from one new customer, through the desk; a right article among the choices is
        picked; with `agents`, a wrong answer is rated "no" and an agent gives the right article."""
        agent = self.agent() if agents else None
        for i, ask in enumerate(asks):
            conversation = self.desk.open("web", f"customer-{first + i}", ask.lang)
            turn = self.desk.receive(conversation.id, ask.text)
            if self.traffic.add(turn.replies, ask.article_id):
                self.desk.choose(conversation.id, ask.article_id)
            elif agent is not None:
                answer = next((r for r in turn.replies if r.action == ANSWER), None)
                if answer is not None and answer.article_id == ask.article_id and ratings:
                    self.desk.rate_answer(conversation.id, answer.id, helpful=True)
                    self.traffic.rated_yes += 1
                elif answer is not None and answer.article_id != ask.article_id:
                    self.desk.rate_answer(conversation.id, answer.id, helpful=False)
                    self.traffic.rated_no += 1
                    self._agent_gives(conversation.id, agent, ask.article_id)
                elif answer is None and any(r.action == HANDOFF for r in turn.replies):
                    self._agent_gives(conversation.id, agent, ask.article_id)
            progress(f"[{self.split.name}] customers {first}..{first + len(asks)}", i + 1, len(asks))

    def agent(self) -> str:
        """The one agent, signed in (so a handoff waits for her instead of being missed)."""
        found = self.desk.store.get_agent_by_email(REVIEWER.email)
        agent_id = found.id if found else self.desk.store.add_agent(REVIEWER.name, REVIEWER.email, "!", []).id
        self.desk.seen(agent_id)
        return agent_id

    def _agent_gives(self, conversation_id: str, agent: str, article_id: str) -> None:
        self.desk.seen(agent)
        if self.desk.take(conversation_id, agent, REVIEWER.name):
            self.desk.agent_reply(conversation_id, agent, "This article answers it.", article_id=article_id)
            self.desk.close(conversation_id, agent)
            self.traffic.agent_gave += 1

    def accept_all(self) -> int:
        """Accept every open QUESTION suggestion; count the notes and drafts left; how many were accepted now."""
        listing = self.review.listing()
        questions = [s for s in listing.open if s.kind == QUESTION]
        for kind in (NOTE, DRAFT):
            self.skipped[kind] = sum(s.kind == kind for s in listing.open)
        accepted = 0
        groups = per_article(questions)
        for i, (_, group) in enumerate(groups, 1):  # an agent's "Accept all" on each article's group
            for s, d in zip(group, self.review.accept_many([s.id for s in group], REVIEWER)):
                if isinstance(d, AnswerdeskError):  # reported under the table: a suggestion that cannot be written is a finding
                    self.failed.append(f"{s.id} {s.article_id} {s.text!r}: {type(d).__name__}: {d}")
                else:
                    accepted += 1
            progress(f"[{self.split.name}] accepting, per article", i, len(groups))
        self.accepted += accepted
        return accepted

    def measure(self, asks: Sequence[Ask], label: str) -> Outcomes:
        """Each held-out question's outcome: right at top-1, within top-3, answered right."""
        found = Outcomes([], [], [])
        for i, ask in enumerate(asks, 1):
            self.engine.last = []
            decision = self.engine.respond(Inbound(ask.text)).decision
            ranked = [c.article_id for c in self.engine.last]
            found.top1.append(bool(ranked) and ranked[0] == ask.article_id)
            found.top3.append(ask.article_id in ranked[:3])
            found.answered.append(decision.action == ANSWER and decision.article_id == ask.article_id)
            progress(label, i, len(asks))
        return found

    def close(self) -> None:
        self.desk.store.close()
        if self.cache is not None:
            copy_vectors(builds_folder(self.settings.index_dir), self.cache)


def copy_vectors(source: Path, target: Path) -> None:
    """The embedding caches (`*.npz` beside the snapshots) from one folder to another."""
    target.mkdir(parents=True, exist_ok=True)
    for path in source.glob("*.npz"):
        if not path.name.endswith(".tmp.npz"):
            shutil.copy2(path, target / path.name)


def traffic_order(pool: Sequence[Ask], seed: int) -> Iterator[Ask]:
    """The pool in a seeded random order, reshuffled for each further pass."""
    rng = random.Random(seed)
    while True:
        order = list(pool)
        rng.shuffle(order)
        yield from order


def run_set(name: str, args: argparse.Namespace) -> list[Figures]:
    split = SETS[name](args.seed)
    if args.dev:
        split = dev_split(split, args.seed)
    held_out = spread_sample(split.held_out, args.held_out, args.seed)
    print(f"\n{name}: seed {args.seed}; {len(split.articles)} articles, {sum(len(a.questions) for a in split.articles)} example questions in the KB; "
          f"traffic pool {len(split.traffic)}; held out {len(split.held_out)}, measured {len(held_out)}", flush=True)
    work = Path(args.keep) / name if args.keep else Path(tempfile.mkdtemp(prefix=f"suggestions-{name}-"))
    if args.keep:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
    run = Run(split, work, args.encoder, args.threads, Path(args.cache) / name / args.encoder if args.cache else None, args.centring)
    rows: list[Figures] = []
    try:
        asks = traffic_order(split.traffic, args.seed)
        done = 0
        first: Outcomes | None = None  # step 0's outcomes, which every later step is compared with
        groups = [ask.group or f"row {i}" for i, ask in enumerate(held_out)]  # translations of one sentence are drawn together
        for step in args.steps:
            build = total = None
            proven = "-"
            if step > done:
                run.customers([next(asks) for _ in range(step - done)], done, agents=args.agents, ratings=args.ratings)
                done = step
                started = time.perf_counter()
                now = run.accept_all()
                print(f"[{name}] {step} conversations: accepted {now} questions in {time.perf_counter() - started:.1f}s "
                      f"(open notes {run.skipped[NOTE]}, drafts {run.skipped[DRAFT]} skipped; {len(run.failed)} failed so far)", file=sys.stderr, flush=True)
                build, total, proven = run._reindex(store=run.desk.store)
                print(f"[{name}] reindex {total:.1f}s (published after {build:.1f}s)", file=sys.stderr, flush=True)
            elif step == 0:
                build, total, proven = run.first_build
            now_found = run.measure(held_out, f"[{name}] held out after {step}")
            first = first or now_found
            top1, top3, answered = (Outcomes.percent(f) for f in (now_found.top1, now_found.top3, now_found.answered))
            print(f"[{name}] after {step}: top-1 {top1:.1f}, top-3 {top3:.1f}, answered right {answered:.1f}", file=sys.stderr, flush=True)
            t = run.engine.thresholds(run.engine.snapshot())
            intervals = {label: change_interval(getattr(first, field), getattr(now_found, field), groups)
                         for label, field in (("top-1", "top1"), ("top-3", "top3"), ("answered right", "answered"))}
            rows.append(Figures(step, run.accepted, top1, top3, answered, build, total, proven, f"{t.answer:.3f}/{t.handoff:.3f}/{t.margin:.3f}", intervals))
        report(split.name, rows, run)
    finally:
        run.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return rows


def report(name: str, rows: list[Figures], run: Run) -> None:
    base = rows[0]
    table(
        f"{name}: held-out retrieval after accepting the desk's suggestions (percent; change in points against step {base.conversations})",
        ["conversations", "accepted", "top-1", "top-3", "answered right", "d top-1", "d top-1 95%", "d top-3", "d answered", "d answered 95%",
         "reindex s", "build s", "re-asked answered", "answer/handoff/margin"],
        [[f.conversations, f.accepted, f"{f.top1:.1f}", f"{f.top3:.1f}", f"{f.answered:.1f}", f"{f.top1 - base.top1:+.1f}", _interval(f.intervals["top-1"]),
          f"{f.top3 - base.top3:+.1f}", f"{f.answered - base.answered:+.1f}", _interval(f.intervals["answered right"]),
          _seconds(f.reindex_seconds), _seconds(f.build_seconds), f.proven, f.thresholds]
         for f in rows],
    )
    print("95%: a bootstrap interval of the change against the first step, re-drawing the held-out questions "
          "(translations of one sentence together); an interval that holds 0 is a change this set cannot tell from none")
    t = run.traffic
    seen = max(1, t.answered_right + t.answered_wrong + t.offered_right + t.offered_other + t.handed_off + t.other)
    print(f"traffic: {seen} customers; answered right {t.answered_right}, answered wrong {t.answered_wrong}, "
          f"offered choices with the right one (picked) {t.offered_right}, choices without it {t.offered_other}, "
          f"handed off {t.handed_off}, other {t.other}; wrong answers rated \"no\" {t.rated_no}, right ones rated \"helpful\" {t.rated_yes}, handed-off customers an agent gave the right article {t.agent_gave}")
    print(f"suggestions: {run.accepted} questions accepted; open and skipped at the last review: {run.skipped[NOTE]} notes, {run.skipped[DRAFT]} drafts")
    if run.failed:
        print(f"accepting failed for {len(run.failed)}:")
        print("\n".join(f"  {line}" for line in run.failed[:10]))
    for line in verdicts(name, rows):
        print(line)


def _interval(bounds: tuple[float, float]) -> str:
    return f"{bounds[0]:+.1f}..{bounds[1]:+.1f}"


def _seconds(value: float | None) -> str | None:
    return None if value is None else f"{value:.1f}"


def verdicts(name: str, rows: list[Figures]) -> list[str]:
    base = rows[0]
    lines = []
    if name == TARGET_SET:  # not on a --dev split: its figures are for tuning, not the issue's target
        at = next((f for f in rows if f.conversations == TARGET_STEP), None)
        if at is None:
            lines.append(f"target (top-1 +{TARGET_POINTS:.0f} points after {TARGET_STEP} conversations): not measured, add {TARGET_STEP} to --steps")
        else:
            gain = at.top1 - base.top1
            verdict = "met" if gain >= TARGET_POINTS else "MISSED"
            lines.append(f"target top-1 +{TARGET_POINTS:.0f} points after {TARGET_STEP} conversations: {verdict} "
                         f"({base.top1:.1f} -> {at.top1:.1f}, {gain:+.1f} points; 95% {_interval(at.intervals['top-1'])})")
    worse = [(f.conversations, label, before, after, f.intervals[label]) for f in rows[1:]
             for label, before, after in (("top-1", base.top1, f.top1), ("top-3", base.top3, f.top3), ("answered right", base.answered, f.answered))
             if after < before]
    if worse:
        lines += [f"target nothing worse than step {base.conversations}: MISSED after {n} conversations, {label} {b:.1f} -> {a:.1f} "
                  f"({a - b:+.1f} points; 95% {_interval(bounds)})"
                  for n, label, b, a, bounds in worse]
    elif len(rows) > 1:
        lines.append(f"target nothing worse than step {base.conversations}: met")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", default="stackfaq,clinc150,xsid", help=f"comma-separated, of {', '.join(SETS)}")
    p.add_argument("--steps", default="0,100,500,2000", help="conversations simulated before each measurement, cumulative")
    p.add_argument("--held-out", type=int, default=1000, help="measure at most this many held-out questions (spread over articles); 0: all")
    p.add_argument("--encoder", default=Settings().encoder, help="ANSWERDESK_ENCODER for the KB and the engine (default: the product's)")
    p.add_argument("--seed", type=int, default=7, help="the splits' and the traffic's seed")
    p.add_argument("--threads", type=int, default=2, help="ANSWERDESK_THREADS for encoding and the build")
    p.add_argument("--cache", help="keep the embedding caches in this folder across runs (step 0's reindex is then a cached one)")
    p.add_argument("--agents", action=argparse.BooleanOptionalAction, default=True,
                   help="wrong answers rated 'no' and handed-off customers answered by an agent with the right article (default); --no-agents: picks alone")
    p.add_argument("--ratings", action=argparse.BooleanOptionalAction, default=True,
                   help="with --agents, a right answer is rated 'helpful' (default); --no-ratings: only wrong ones are rated")
    p.add_argument("--dev", action="store_true",
                   help="tune, never read the held-out rows: customers from half of each article's traffic pool, measured on the other half")
    p.add_argument("--close-call", type=float,
                   help="for tuning with --dev: bot/suggestions/mine.py CLOSE_CALL, how close a runner-up makes a helpful answer's question a suggestion (default: the product's)")
    p.add_argument("--centring", action=argparse.BooleanOptionalAction, default=True,
                   help="ANSWERDESK_LANGUAGE_CENTRING for the reindexes (default: on, the product's); --no-centring to compare")
    p.add_argument("--keep", help="work in this folder and keep it (the KB as edited, the index, the store), instead of a temp folder")
    args = p.parse_args(argv)
    names = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [s for s in names if s not in SETS]
    if unknown:
        p.error(f"--sets: unknown {', '.join(unknown)}; use {', '.join(SETS)}")
    try:
        args.steps = sorted({int(s) for s in args.steps.split(",")})
    except ValueError:
        p.error(f"--steps {args.steps!r}: write numbers separated by commas, such as 0,100,500")
    if args.steps[0] != 0:
        args.steps = [0, *args.steps]  # every change is against the KB as it was
    args.held_out = args.held_out or None
    if args.close_call is not None:
        mine_module.CLOSE_CALL = args.close_call
    print(f"suggestions eval: seed {args.seed}, encoder {args.encoder}, steps {args.steps}, close call {mine_module.CLOSE_CALL}, centring {'on' if args.centring else 'off'}, held out at most {args.held_out or 'all'}, {('picks, agents and ratings' if args.ratings else 'picks and agents') if args.agents else 'picks alone'}", flush=True)
    for name in names:
        started = time.perf_counter()
        run_set(name, args)
        print(f"{name}: {time.perf_counter() - started:.0f} s in all", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
