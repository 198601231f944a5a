"""Reusing the previous snapshot's approximate index when only a few passages changed.

Rebuilding an HNSW graph of 60,000 vectors takes seconds; an edit to one article changes
a handful. So a reindex copies the previous graph, marks the rows whose passage is gone as
dead (article -1: search skips them) and appends the new ones. When dead rows pass
MAX_DEAD of the index, the next reindex builds it afresh.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

MAX_DEAD = 0.1


@dataclass
class Rows:
    """One row per vector: which article (-1: dead), kind, language index and identity key."""

    article: np.ndarray  # int32
    kind: np.ndarray  # int8
    lang: np.ndarray  # int16, -1 for the cross-language prototype
    key: np.ndarray  # (n, 16) uint8

    def save(self, path: Path) -> None:
        np.savez(path, article=self.article, kind=self.kind, lang=self.lang, key=self.key)


def extend_previous(previous: Path, encoder_name: str, ids: list[str], langs: list[str], rows: Rows, vectors: np.ndarray) -> tuple[faiss.Index, Rows, int] | None:
    """The previous index with dead rows marked and new rows appended, or None to rebuild."""
    try:
        manifest = json.loads((previous / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("encoder") != encoder_name or not str(manifest.get("index_type", "")).startswith("hnsw"):
            return None
        with np.load(previous / "rows.npz") as data:
            old = Rows(data["article"], data["kind"], data["lang"], data["key"]) if "key" in data else None
        old_meta = json.loads((previous / "articles.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError):
        return None
    if old is None:
        return None
    old_ids, old_langs = old_meta["ids"], old_meta["langs"]
    free: dict[tuple, list[int]] = defaultdict(list)
    for row in np.flatnonzero(old.article >= 0):
        identity = (old_ids[old.article[row]], old_langs[old.lang[row]] if old.lang[row] >= 0 else "*", int(old.kind[row]), old.key[row].tobytes())
        free[identity].append(int(row))
    n_old = len(old.article)
    article = np.full(n_old, -1, np.int32)
    kind, lang, key = old.kind.copy(), old.lang.copy(), old.key.copy()
    appended: list[int] = []
    for i in range(len(rows.article)):
        identity = (ids[rows.article[i]], langs[rows.lang[i]] if rows.lang[i] >= 0 else "*", int(rows.kind[i]), rows.key[i].tobytes())
        if free.get(identity):
            row = free[identity].pop()
            article[row], lang[row] = rows.article[i], rows.lang[i]
        else:
            appended.append(i)
    total = n_old + len(appended)
    dead = n_old - (len(rows.article) - len(appended))
    if dead > MAX_DEAD * total:
        return None
    index = faiss.read_index(str(previous / "vectors.faiss"))
    if appended:
        index.add(np.ascontiguousarray(vectors[appended], dtype=np.float32))
    merged = Rows(
        np.concatenate([article, rows.article[appended]]).astype(np.int32),
        np.concatenate([kind, rows.kind[appended]]).astype(np.int8),
        np.concatenate([lang, rows.lang[appended]]).astype(np.int16),
        np.concatenate([key, rows.key[appended]]).astype(np.uint8),
    )
    return index, merged, len(appended)
