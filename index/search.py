"""Loading a published index snapshot and searching it: a question in, articles scored out."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from bot.errors import SearchIndexError
from index.classifier import WEIGHT as CLASSIFIER_WEIGHT
from index.classifier import Classifier
from index.passages import KINDS

EF_SEARCH = 128


@dataclass(frozen=True)
class ArticleScore:
    article_id: str
    score: float
    kind: str  # which part of the article matched best
    lang: str  # the language version that matched ("*" for the cross-language prototype)


def read_vectors(path: Path) -> faiss.Index:
    """The FAISS index with its vectors memory-mapped, not copied: processes serving the same
    snapshot share one copy in the page cache, and loading is a few milliseconds. A snapshot's
    files are never rewritten (a reindex writes a new folder), so the mapping stays valid."""
    return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)


class SearchIndex:
    """One immutable snapshot: FAISS vectors, their rows, the articles and the manifest."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        self.path = path
        try:
            self.manifest: dict[str, Any] = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
            self.faiss = read_vectors(path / "vectors.faiss")
            with np.load(path / "rows.npz") as rows:
                self.row_article = rows["article"]
                self.row_kind = rows["kind"]
                self.row_lang = rows["lang"]
            articles = json.loads((path / "articles.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, RuntimeError) as e:
            raise SearchIndexError(f"cannot load the index at {path}: {e}; run 'answerdesk reindex'") from e
        self.ids: list[str] = articles["ids"]
        self.langs: list[str] = articles["langs"]
        self.versions: dict[str, dict[str, dict[str, Any]]] = articles["versions"]
        calibration = path / "calibration.json"
        self.calibration: dict[str, Any] = json.loads(calibration.read_text(encoding="utf-8")) if calibration.exists() else {}
        weights = self.manifest.get("kind_weights", {})
        self.kind_weight = np.array([weights.get(k, 1.0) for k in KINDS], dtype=np.float32)
        self.classifier = Classifier.load(path / "classifier.npz")
        if hasattr(self.faiss, "hnsw"):
            self.faiss.hnsw.efSearch = EF_SEARCH

    @property
    def encoder_name(self) -> str:
        return self.manifest["encoder"]

    def search(
        self,
        vector: np.ndarray,
        k: int = 5,
        hits: int = 64,
        exclude_rows: set[int] | None = None,
        classifier: Classifier | None | str = "own",
        extra: tuple[int, float, int] | None = None,
    ) -> list[ArticleScore]:
        """The `k` best articles for one query vector, each scored by its best-matching part.

        `exclude_rows`, `classifier` and `extra` (article, score, row) let calibration search
        as if one example question were not in the index.
        """
        query = np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32)
        sims, rows = self.faiss.search(query, min(hits, self.faiss.ntotal))
        best = self._best_per_article(sims[0], rows[0], exclude_rows)
        if extra is not None and (extra[0] not in best or extra[1] > best[extra[0]][0]):
            best[extra[0]] = (extra[1], extra[2])
        model = self.classifier if classifier == "own" else classifier
        if model is not None:
            log_p = model.log_proba(query[0])
            best = {a: (s + CLASSIFIER_WEIGHT * log_p.get(a, -20.0), row) for a, (s, row) in best.items()}
        return self._top(best, k)

    def rank(self, sims: np.ndarray, rows: np.ndarray, k: int) -> list[ArticleScore]:
        """Articles from raw FAISS hits by similarity alone (no classifier)."""
        return self._top(self._best_per_article(sims, rows, None), k)

    def _best_per_article(self, sims: np.ndarray, rows: np.ndarray, exclude_rows: set[int] | None) -> dict[int, tuple[float, int]]:
        """Group raw vector hits by article, weighting each by what kind of passage it is."""
        best: dict[int, tuple[float, int]] = {}
        for sim, row in zip(sims.tolist(), rows.tolist()):
            if row < 0 or (exclude_rows and row in exclude_rows):
                continue
            article = int(self.row_article[row])
            if article < 0:  # a dead row of an incrementally updated index
                continue
            score = sim * float(self.kind_weight[self.row_kind[row]])
            if article not in best or score > best[article][0]:
                best[article] = (score, row)
        return best

    def _top(self, best: dict[int, tuple[float, int]], k: int) -> list[ArticleScore]:
        ranked = sorted(best.items(), key=lambda item: -item[1][0])[:k]
        return [
            ArticleScore(
                self.ids[a],
                round(s, 6),
                KINDS[int(self.row_kind[row])],
                self.langs[int(self.row_lang[row])] if self.row_lang[row] >= 0 else "*",
            )
            for a, (s, row) in ranked
        ]

    def article(self, article_id: str, lang: str) -> dict[str, Any] | None:
        return self.versions.get(article_id, {}).get(lang)


class LiveIndex:
    """The index published at a path; moves to a new snapshot when reindex swaps the link."""

    def __init__(self, index_dir: str | Path) -> None:
        self.index_dir = Path(index_dir)
        self._lock = threading.Lock()
        self._target: str | None = None
        self._current: SearchIndex | None = None

    def current(self) -> SearchIndex:
        """The snapshot the link points at now, loading it the first time it is seen."""
        target = self._resolve()
        if target != self._target or self._current is None:
            with self._lock:
                if target != self._target or self._current is None:
                    loaded = SearchIndex(target)
                    self._current, self._target = loaded, target
        return self._current

    def _resolve(self) -> str:
        try:
            return os.path.realpath(self.index_dir, strict=True)
        except OSError as e:
            raise SearchIndexError(f"no index at {self.index_dir}: run 'answerdesk reindex' first") from e
