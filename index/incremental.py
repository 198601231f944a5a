"""Reusing the previous snapshot's approximate indexes when only a few passages changed.

Rebuilding an HNSW graph of 60,000 vectors takes seconds; an edit to one article changes
a handful. So a reindex copies the previous graphs (one per encoder), marks the rows whose
passage is gone as dead (article -1: search skips them) and appends the new ones. When dead
rows pass MAX_DEAD of the index, the next reindex builds it afresh.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

MAX_DEAD = 0.1


@dataclass
class Rows:
    """One row per vector: which article (-1: dead), kind, language index, identity key, the
    part's place in its article version, and each encoder's hub score (index/scoring.py)."""

    article: np.ndarray  # int32
    kind: np.ndarray  # int8
    lang: np.ndarray  # int16, -1 for the cross-language prototype
    key: np.ndarray  # (n, 16) uint8
    part: np.ndarray  # int16, -1 for the prototype
    hub: list[np.ndarray] = field(default_factory=list)  # float32 per encoder

    def save(self, path: Path) -> None:
        hubs = {f"hub_{i}": h for i, h in enumerate(self.hub)}
        np.savez(path, article=self.article, kind=self.kind, lang=self.lang, key=self.key, part=self.part, **hubs)

    @staticmethod
    def load(path: Path, encoders: int) -> "Rows":
        with np.load(path) as data:
            return Rows(data["article"], data["kind"], data["lang"], data["key"], data["part"], [data[f"hub_{i}"] for i in range(encoders)])


def extend_previous(
    previous: Path, encoder_name: str, ids: list[str], langs: list[str], rows: Rows, vectors: list[np.ndarray], centring: str | None = None
) -> tuple[list[faiss.Index], Rows, np.ndarray, int] | None:
    """The previous indexes with dead rows marked and new rows appended, or None to rebuild.

    Also returns where each of `rows` sits in the merged table, and how many were appended.
    `centring` is the key of the language means the vectors were centred with (None: not
    centred): vectors centred with other means are not comparable, so the graph is rebuilt.
    """
    try:
        manifest = json.loads((previous / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("encoder") != encoder_name or manifest.get("centring") != centring or not str(manifest.get("index_type", "")).startswith("hnsw"):
            return None
        old = Rows.load(previous / "rows.npz", len(vectors))
        old_meta = json.loads((previous / "articles.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError):
        return None
    old_ids, old_langs = old_meta["ids"], old_meta["langs"]
    free: dict[tuple, list[int]] = defaultdict(list)
    for row in np.flatnonzero(old.article >= 0):
        identity = (old_ids[old.article[row]], old_langs[old.lang[row]] if old.lang[row] >= 0 else "*", int(old.kind[row]), old.key[row].tobytes())
        free[identity].append(int(row))
    n_old = len(old.article)
    article = np.full(n_old, -1, np.int32)
    lang, part = old.lang.copy(), old.part.copy()
    where = np.empty(len(rows.article), np.int64)
    appended: list[int] = []
    for i in range(len(rows.article)):
        identity = (ids[rows.article[i]], langs[rows.lang[i]] if rows.lang[i] >= 0 else "*", int(rows.kind[i]), rows.key[i].tobytes())
        if free.get(identity):
            row = free[identity].pop()
            article[row], lang[row], part[row] = rows.article[i], rows.lang[i], rows.part[i]
            where[i] = row
        else:
            where[i] = n_old + len(appended)
            appended.append(i)
    total = n_old + len(appended)
    dead = n_old - (len(rows.article) - len(appended))
    if dead > MAX_DEAD * total:
        return None
    indexes = []
    for e, v in enumerate(vectors):
        index = faiss.read_index(str(previous / f"vectors-{e}.faiss"))
        if appended:
            index.add(np.ascontiguousarray(v[appended], dtype=np.float32))
        indexes.append(index)
    merged = Rows(
        np.concatenate([article, rows.article[appended]]).astype(np.int32),
        np.concatenate([old.kind, rows.kind[appended]]).astype(np.int8),
        np.concatenate([lang, rows.lang[appended]]).astype(np.int16),
        np.concatenate([old.key, rows.key[appended]]).astype(np.uint8),
        np.concatenate([part, rows.part[appended]]).astype(np.int16),
        [np.concatenate([h, np.zeros(len(appended), np.float32)]) for h in old.hub],
    )
    return indexes, merged, where, len(appended)
