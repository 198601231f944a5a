"""Loading a published index snapshot and searching it: a question in, articles scored out.

FAISS finds each encoder's nearest parts; the articles they belong to are the candidates,
and every candidate is then scored on all its parts by every encoder (index/scoring.py), so
an article one encoder missed still gets the others' evidence.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import faiss
import numpy as np

from index.errors import SearchIndexError
from index.centring import Centring
from index.classifier import Classifier
from index.kb import Article
from index.passages import KINDS, split_article
from index.scoring import Fusion, article_scores, damp, fuse
from index.spelling import Speller

FORMAT_VERSION = 2
EF_SEARCH = 128
HITS = 64  # nearest parts per encoder whose articles become candidates


_thread_state = threading.local()


def one_search_thread() -> None:
    """Searches here are one question each: more FAISS threads gain nothing, and a second OpenMP
    pool spinning beside the encoder's steals its cores. OpenMP's thread count is per calling
    thread, and a server's request threads start at "all cores": set it once on each thread."""
    if not getattr(_thread_state, "omp_single", False):
        faiss.omp_set_num_threads(1)
        _thread_state.omp_single = True


@dataclass(frozen=True)
class ArticleScore:
    article_id: str
    score: float
    kind: str  # which part of the article matched best
    lang: str  # the language version that matched ("*" for the cross-language prototype)
    part: int = -1  # that part's place among the version's parts (index/passages.py), -1 for the prototype
    passage: str = ""  # the body passage that matched best, when it was one


def read_vectors(path: Path) -> faiss.Index:
    """The FAISS index with its vectors memory-mapped, not copied: processes serving the same
    snapshot share one copy in the page cache, and loading is a few milliseconds. A snapshot's
    files are never rewritten (a reindex writes a new folder), so the mapping stays valid."""
    return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)


def vector_table(index: faiss.Index) -> np.ndarray:
    """The stored vectors of a flat or HNSW index as a read-only array, without a copy."""
    flat = faiss.downcast_index(index.storage) if hasattr(index, "storage") else index
    table = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d).reshape(flat.ntotal, flat.d)
    table.flags.writeable = False
    return table


class SearchIndex:
    """One immutable snapshot: FAISS vectors per encoder, their rows, the articles and the manifest."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        self.path = path
        try:
            self.manifest: dict[str, Any] = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
            if self.manifest.get("format") != FORMAT_VERSION:
                raise ValueError(f"format {self.manifest.get('format')!r}, this version reads format {FORMAT_VERSION}")
            self.indexes = [read_vectors(path / f"vectors-{i}.faiss") for i in range(len(self.manifest["encoders"]))]
            with np.load(path / "rows.npz") as rows:
                self.row_article = rows["article"]
                self.row_kind = rows["kind"]
                self.row_lang = rows["lang"]
                self.row_part = rows["part"]
                self.row_hub = [rows[f"hub_{i}"] for i in range(len(self.indexes))]
            self.centring = Centring.load(path, len(self.indexes))
            articles = json.loads((path / "articles.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, RuntimeError) as e:
            raise SearchIndexError(f"cannot load the index at {path}: {e}; run 'answerdesk reindex'") from e
        self.tables = [vector_table(index) for index in self.indexes]
        self.ids: list[str] = articles["ids"]
        self.langs: list[str] = articles["langs"]
        self.versions: dict[str, dict[str, dict[str, Any]]] = articles["versions"]
        calibration = path / "calibration.json"
        self.calibration: dict[str, Any] = json.loads(calibration.read_text(encoding="utf-8")) if calibration.exists() else {}
        self.fusion = Fusion.from_dict(self.manifest["fusion"])
        self.classifier = Classifier.load(path / "classifier.npz")
        self._speller: Speller | None = None
        for index in self.indexes:
            if hasattr(index, "hnsw"):
                index.hnsw.efSearch = EF_SEARCH
        self._group_rows()

    def _group_rows(self) -> None:
        """Each article's live parts as one contiguous range of `part_rows`, and its prototype row."""
        live = self.row_article >= 0
        is_proto = self.row_kind == KINDS.index("proto")
        parts = np.flatnonzero(live & ~is_proto)
        self.part_rows = parts[np.argsort(self.row_article[parts], kind="stable")]
        counts = np.bincount(self.row_article[self.part_rows], minlength=len(self.ids))
        self.part_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.proto_row = np.full(len(self.ids), -1, np.int64)
        protos = np.flatnonzero(live & is_proto)
        self.proto_row[self.row_article[protos]] = protos
        # An article is scored by its example questions (best question blended with their
        # prototype) as an intent is. In a KB where some articles with a body have no questions
        # (a help center whose questions are still coming, one accepted suggestion at a time),
        # every article with a body is scored by its parts, questions among them, as its rivals
        # are: scored the intent way, an article given a few questions beat body-only rivals it
        # should not (bench/suggestions_eval.py; docs/retrieval.md).
        questions = np.flatnonzero(live & (self.row_kind == KINDS.index("question")))
        passages = np.flatnonzero(live & (self.row_kind == KINDS.index("passage")))
        has_questions = np.zeros(len(self.ids), bool)
        has_questions[self.row_article[questions]] = True
        has_body = np.zeros(len(self.ids), bool)
        has_body[self.row_article[passages]] = True
        mixed = bool((has_body & ~has_questions).any())
        self.has_examples = has_questions & ~has_body if mixed else has_questions
        self.article_langs = [frozenset(self.versions.get(article_id, {})) for article_id in self.ids]
        self._written_in: dict[str, np.ndarray] = {}

    @property
    def speller(self) -> Speller:
        """Puts customers' typing right against this KB's words (loaded on first use)."""
        if self._speller is None:
            try:
                words = json.loads((self.path / "vocabulary.json").read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise SearchIndexError(f"cannot load the index at {self.path}: {e}; run 'answerdesk reindex'") from e
            self._speller = Speller(words)
        return self._speller

    @property
    def encoder_name(self) -> str:
        return self.manifest["encoder"]

    def search(
        self,
        vectors: Sequence[np.ndarray],
        k: int = 5,
        lang: str | None = None,
        hits: int = HITS,
        exclude_rows: set[int] | frozenset[int] = frozenset(),
        classifier: Classifier | None | str = "own",
        prototypes: dict[int, list[np.ndarray | None]] | None = None,
    ) -> list[ArticleScore]:
        """The `k` best articles for one question, given its vector from each encoder.

        `lang` is the question's language (weights the encoders, and favours articles written
        in it). `exclude_rows`, `classifier` and `prototypes` (article -> a replacement
        prototype vector per encoder) let calibration search as if one example were not there.
        `vectors` are as the encoders gave them: a snapshot built with language means
        (index/centring.py) takes the question's language's off first.
        """
        queries = [np.ascontiguousarray(v.reshape(1, -1), dtype=np.float32) for v in vectors]
        if self.centring is not None:
            queries = [self.centring.centre(e, q, [lang], "query") for e, q in enumerate(queries)]
        candidates = self._candidates(queries, hits, exclude_rows, prototypes)
        if not len(candidates):
            return []
        scores, best_rows = self._score(queries, candidates, lang, exclude_rows, prototypes)
        model = self.classifier if classifier == "own" else classifier
        if model is not None:
            log_p = model.log_proba(np.concatenate([q[0] for q in queries]))
            # An article the model never saw (calibration's fold model without a title-only
            # article's one example) is neither favoured nor ruled out: a uniform guess.
            unseen = -float(np.log(len(log_p) + 1))
            scores = scores + self.fusion.classifier_weight * np.array([log_p.get(int(a), unseen) for a in candidates])
        if lang is not None and self.fusion.same_language_bonus:
            scores = scores + self.fusion.same_language_bonus * np.array([lang in self.article_langs[a] for a in candidates])
        order = np.argsort(-scores, kind="stable")[:k]
        return [self._result(int(candidates[i]), float(scores[i]), int(best_rows[i]), first=n == 0) for n, i in enumerate(order)]

    def _candidates(self, queries: list[np.ndarray], hits: int, exclude_rows, prototypes) -> np.ndarray:
        one_search_thread()
        found: set[int] = set(prototypes or ())
        for index, query in zip(self.indexes, queries):
            _, rows = index.search(query, min(hits, index.ntotal))
            for row in rows[0].tolist():
                if row >= 0 and row not in exclude_rows and self.row_article[row] >= 0:
                    found.add(int(self.row_article[row]))
        return np.array(sorted(found), dtype=np.int64)

    def _score(self, queries, candidates: np.ndarray, lang, exclude_rows, prototypes) -> tuple[np.ndarray, np.ndarray]:
        """Fused scores of the candidate articles, and the row that matched best in each (primary encoder)."""
        spans = [self.part_rows[self.part_start[a] : self.part_start[a + 1]] for a in candidates]
        if exclude_rows:
            spans = [s[~np.isin(s, list(exclude_rows))] for s in spans]
        rows = np.concatenate(spans) if spans else np.zeros(0, np.int64)
        lengths = np.array([len(s) for s in spans], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        per_encoder, best_rows = [], None
        for e, (table, query) in enumerate(zip(self.tables, queries)):
            sims = table[rows] @ query[0] if len(rows) else np.zeros(0, np.float32)
            proto = np.array([self._proto_sim(e, int(a), query[0], exclude_rows, prototypes) for a in candidates])
            foreign = self._foreign_parts(rows, lang) * (self.fusion.other_language_penalty * self.fusion.background[e][1])
            per_encoder.append(article_scores(
                sims - foreign, self.row_kind[rows], self.row_hub[e][rows], lengths, proto, self.has_examples[candidates],
                self.fusion, self.fusion.reads_passages(e),
            ))
            if e == 0:
                best_rows = self._best_rows(sims, rows, starts, lengths, candidates)
        return fuse(per_encoder, self.fusion, lang, self.has_examples[candidates]), best_rows

    def _foreign_parts(self, rows: np.ndarray, lang: str | None) -> np.ndarray:
        """1 for a part written in another language than the question, of an article that has a
        version in the question's language (its own-language parts speak for it), else 0."""
        if lang is None or lang not in self.langs or not self.fusion.other_language_penalty:
            return np.zeros(len(rows), np.float32)
        has_own = self._written_in.get(lang)
        if has_own is None:  # worked out once per language and snapshot
            has_own = self._written_in[lang] = np.array([lang in langs for langs in self.article_langs])
        return ((self.row_lang[rows] != self.langs.index(lang)) & has_own[self.row_article[rows]]).astype(np.float32)

    def _proto_sim(self, encoder: int, article: int, query: np.ndarray, exclude_rows, prototypes) -> float:
        row = self.proto_row[article]
        hub = float(self.row_hub[encoder][row]) if row >= 0 else 0.0
        if prototypes is not None and article in prototypes:
            vector = prototypes[article][encoder]
            return damp(float(vector @ query), hub, self.fusion) if vector is not None else float("nan")
        if row < 0 or row in exclude_rows:
            return float("nan")
        return damp(float(self.tables[encoder][row] @ query), hub, self.fusion)

    def _best_rows(self, sims: np.ndarray, rows: np.ndarray, starts: np.ndarray, lengths: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        best = np.empty(len(candidates), np.int64)
        for i, (start, length) in enumerate(zip(starts.tolist(), lengths.tolist())):
            best[i] = rows[start + int(np.argmax(sims[start : start + length]))] if length else self.proto_row[candidates[i]]
        return best

    def _result(self, article: int, score: float, row: int, first: bool) -> ArticleScore:
        if row < 0:
            return ArticleScore(self.ids[article], round(score, 6), "proto", "*")
        lang = self.langs[int(self.row_lang[row])] if self.row_lang[row] >= 0 else "*"
        kind, part = KINDS[int(self.row_kind[row])], int(self.row_part[row])
        passage = self.passage_text(self.ids[article], lang, part) if first and kind == "passage" else ""
        return ArticleScore(self.ids[article], round(score, 6), kind, lang, part, passage)

    def passage_text(self, article_id: str, lang: str, part: int) -> str:
        """The text of one part of an article version, as it was embedded."""
        version = self.article(article_id, lang)
        if version is None or part < 0:
            return ""
        parts = split_article(Article(article_id, lang, version["title"], version["body"], tuple(version.get("questions", ()))))
        return parts[part].text if part < len(parts) else ""

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
