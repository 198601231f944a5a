"""Helpers shared by the benchmarks: eval data, KB writing, timing, tables."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# Load from one address is what these benchmarks are: the server's rate limits and stream caps off.
from tests.served import NO_LIMITS  # noqa: E402


def eval_dir() -> Path:
    path = Path(os.environ.get("ANSWERDESK_EVAL_DIR", REPO.parent / "shared" / "eval"))
    if not path.is_dir():
        raise SystemExit(f"evaluation data not found at {path}: set ANSWERDESK_EVAL_DIR")
    return path


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_kb(root: Path, articles: Iterable[tuple[str, str, str, Sequence[str], str]]) -> Path:
    """Write (lang, id, title, questions, body) tuples in the KB article format."""
    for lang, article_id, title, questions, body in articles:
        folder = root / lang
        folder.mkdir(parents=True, exist_ok=True)
        front = {"id": article_id, "lang": lang, "title": title, "questions": list(questions)}
        lines = ["---"] + [f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in front.items()] + ["---", body, ""]
        (folder / f"{article_id}.md").write_text("\n".join(lines), encoding="utf-8")
    return root


def percentile_ms(samples: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples) * 1000, q))


def percentile_or_none(samples: Sequence[float], q: float) -> float | None:
    """percentile_ms, or None (shown as "-" by `table`) when there are no samples."""
    return percentile_ms(samples, q) if len(samples) else None


def spread(values: Iterable[float | None]) -> tuple[float | None, float | None]:
    """(min, median) of the values measured, None for rounds that measured nothing."""
    found = sorted(v for v in values if v is not None)
    return (found[0], float(np.median(found))) if found else (None, None)


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, or None when either is missing or b is zero."""
    return a / b if a is not None and b else None


def table(title: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    rows = [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(str(h)) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("  ".join(str(h).ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    sys.stdout.flush()


def _fmt(value: object) -> str:
    if value is None:  # no measurement (e.g. every request failed): the notes under the table say why
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def progress(label: str, done: int, total: int) -> None:
    if done == total or done % max(1, total // 20) == 0:
        print(f"\r  {label}: {done}/{total}", end="\n" if done == total else "", file=sys.stderr, flush=True)


class Timer:
    def __enter__(self) -> "Timer":
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


ANSWERDESK = Path(sys.executable).with_name("answerdesk")


def reindex_cli(kb: Path, index: Path) -> float:
    """`answerdesk reindex` in its own process, as a maintainer runs it; seconds taken. Of the
    environment's ANSWERDESK_ settings only the encoder is passed on (the server must find the index
    built with the encoder it serves with)."""
    import subprocess

    started = time.perf_counter()
    done = subprocess.run(
        [str(ANSWERDESK), "reindex", "--kb", str(kb), "--index", str(index)],
        capture_output=True, text=True, cwd=REPO, env={k: v for k, v in os.environ.items() if not k.startswith("ANSWERDESK_") or k == "ANSWERDESK_ENCODER"},
    )
    if done.returncode:
        raise SystemExit(f"answerdesk reindex --kb {kb} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def demo_index(tmp: Path) -> tuple[Path, Path]:
    """The demo KB copied into `tmp` and indexed there: (kb folder, index folder)."""
    import shutil

    kb, index = Path(shutil.copytree(REPO / "kb_source", tmp / "kb")), tmp / "index"
    print("indexing the demo KB...", file=sys.stderr, flush=True)
    reindex_cli(kb, index)
    return kb, index


@dataclass(frozen=True)
class Memory:
    rss: float
    pss: float
    uss: float


def memory_mib(pid: int) -> Memory:
    """One process's memory from /proc/PID/smaps_rollup, in MiB: RSS, PSS and USS (private)."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value, *_ = line.split()
        fields[name.rstrip(":")] = int(value) / 1024
    return Memory(fields["Rss"], fields["Pss"], fields["Private_Clean"] + fields["Private_Dirty"])


def change_interval(before: Sequence[bool], after: Sequence[bool], groups: Sequence[str], confidence: float = 0.95) -> tuple[float, float]:
    """A bootstrap interval, in percent points, for the change from `before` to `after` on the same
    questions. Questions of one group (translations of one sentence) are drawn together: they
    succeed or fail together, so counting them apart would make the interval too narrow."""
    from scipy.stats import bootstrap

    delta = np.asarray(after, dtype=float) - np.asarray(before, dtype=float)
    names = sorted(set(groups))
    where = {g: i for i, g in enumerate(names)}
    index = np.array([where[g] for g in groups])
    sums, counts = np.bincount(index, delta, len(names)), np.bincount(index, minlength=len(names)).astype(float)
    if len(names) < 2 or not np.any(sums):
        change = 100 * float(sums.sum() / max(1.0, counts.sum()))
        return change, change
    found = bootstrap((sums, counts), lambda s, c: 100 * s.sum() / c.sum(), paired=True, vectorized=False,
                      confidence_level=confidence, n_resamples=2000, method="percentile", random_state=0)
    return float(found.confidence_interval.low), float(found.confidence_interval.high)
