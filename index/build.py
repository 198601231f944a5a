"""Building a search index snapshot: embed passages, write FAISS, tables and manifest.

A snapshot is a complete folder written next to the live one; `publish` then swaps the
live path (a symlink) to it in one atomic rename, so readers see the old index or the new
one and never half of either. A build that fails leaves the live index as it was.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import faiss
import numpy as np

try:
    import fcntl
except ImportError:  # Windows: abandoned build folders are not removed there
    fcntl = None  # type: ignore[assignment]

from bot.errors import SearchIndexError
from index.classifier import train_classifier
from index.embedding_cache import EmbeddingCache, text_key
from index.incremental import Rows, extend_previous
from index.encoders import Encoder
from index.kb import KnowledgeBase
from index.passages import KINDS, split_article

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
# Which part of an article speaks for it, and how loudly: measured in bench/retrieval.py.
# The prototype (mean of title and example questions over all language versions) is the
# most reliable; one close example question is nearly as good; a body passage matches
# generic wording more easily, so it is damped.
KIND_WEIGHTS = {"proto": 1.0, "title": 0.9, "question": 0.9, "passage": 0.85}


@dataclass(frozen=True)
class BuildReport:
    path: str
    articles: int
    versions: int
    vectors: int
    encoded: int
    reused: int
    index_type: str
    seconds: float


def builds_folder(index_dir: str | Path) -> Path:
    index_dir = Path(index_dir)
    return index_dir.parent / f"{index_dir.name}.builds"


def build_snapshot(
    kb: KnowledgeBase,
    encoder: Encoder,
    index_dir: str | Path,
    ann_min_vectors: int = 20000,
    show_progress: bool | None = None,
    workers: int = 1,
) -> tuple[Path, BuildReport]:
    """Write a complete, unpublished snapshot of `kb` next to `index_dir`."""
    started = time.perf_counter()
    folder = builds_folder(index_dir)
    folder.mkdir(parents=True, exist_ok=True)
    remove_abandoned_builds(folder)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    dest = folder / f"{stamp}-{kb.content_hash[:8]}"
    tmp = folder / f".tmp-{stamp}-{os.getpid()}"
    tmp.mkdir()
    lock = _lock(tmp)  # tells remove_abandoned_builds in other processes that this build is alive
    try:
        previous = Path(index_dir).resolve() if Path(index_dir).is_symlink() else None
        report = _write_snapshot(kb, encoder, tmp, folder, ann_min_vectors, show_progress, started, workers, previous)
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if lock is not None:
            os.close(lock)
    return dest, BuildReport(**{**report.__dict__, "path": str(dest)})


def _write_snapshot(kb, encoder, out: Path, cache_dir: Path, ann_min_vectors, show_progress, started, workers, previous) -> BuildReport:
    ids = list(kb.article_ids)
    position = {article_id: i for i, article_id in enumerate(ids)}
    langs = sorted(kb.languages)
    passages = [p for article in kb.articles for p in split_article(article)]
    texts = [p.text for p in passages]

    cache = EmbeddingCache(cache_dir, encoder.name, encoder.dim)
    bar = _progress(len(texts), "embedding", show_progress)
    vectors = cache.embed(texts, encoder, workers=workers, progress=bar.update if bar else None)
    if bar:
        bar.close()
    cache.save()

    rows, all_vectors = _rows(passages, vectors, position, langs)
    examples = np.isin(rows.kind, (KINDS.index("title"), KINDS.index("question")))
    classifier = train_classifier(all_vectors[examples], rows.article[examples])
    if classifier is not None:
        classifier.save(out / "classifier.npz")
    reused = extend_previous(previous, encoder.name, ids, langs, rows, all_vectors) if previous and len(all_vectors) >= ann_min_vectors else None
    if reused is not None:
        index, rows, appended = reused
        index_type = f"hnsw16 (previous graph, {appended} vectors added)"
    else:
        index, index_type = _faiss_index(all_vectors, ann_min_vectors)
    faiss.write_index(index, str(out / "vectors.faiss"))
    rows.save(out / "rows.npz")
    versions = {
        article_id: {
            a.lang: {"title": a.title, "body": a.body, "path": a.path, "updated": a.updated or _mtime(a.path), "questions": list(a.questions)}
            for a in kb.versions(article_id)
        }
        for article_id in ids
    }
    hashes = {
        article_id: hashlib.blake2b("".join(sorted(a.content_hash for a in kb.versions(article_id))).encode(), digest_size=8).hexdigest()
        for article_id in ids
    }
    (out / "article_hashes.json").write_text(json.dumps(hashes), encoding="utf-8")
    (out / "articles.json").write_text(json.dumps({"ids": ids, "langs": langs, "versions": versions}, ensure_ascii=False), encoding="utf-8")
    seconds = time.perf_counter() - started
    manifest = {
        "format": FORMAT_VERSION,
        "encoder": encoder.name,
        "dim": encoder.dim,
        "kb_hash": kb.content_hash,
        "kb_root": kb.root,
        "articles": len(ids),
        "versions": len(kb.articles),
        "languages": langs,
        "vectors": int(all_vectors.shape[0]),
        "dead_vectors": int((rows.article < 0).sum()),
        "index_type": index_type,
        "kind_weights": KIND_WEIGHTS,
        "classifier": classifier is not None,
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "build_seconds": round(seconds, 3),
        "encoded": len(texts) - cache.hits,
        "reused": cache.hits,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return BuildReport(str(out), len(ids), len(kb.articles), int(all_vectors.shape[0]), len(texts) - cache.hits, cache.hits, index_type, seconds)


def _rows(passages: list, vectors: np.ndarray, position: dict[str, int], langs: list[str]) -> tuple[Rows, np.ndarray]:
    """Row tables and vectors: every passage, then one prototype per article.

    The prototype is the normalised mean of an article's titles and example questions in all
    its languages; its key hashes its members' keys, so it changes exactly when they do.
    """
    keys = [text_key(p.text) for p in passages]
    sums: dict[int, np.ndarray] = {}
    members: dict[int, list[bytes]] = {}
    for passage, vector, key in zip(passages, vectors, keys):
        if passage.kind in ("title", "question"):
            i = position[passage.article_id]
            sums[i] = sums.get(i, 0) + vector
            members.setdefault(i, []).append(key)
    protos = sorted(sums)
    proto_vectors = [sums[i] / (np.linalg.norm(sums[i]) or 1.0) for i in protos]
    proto_keys = [hashlib.blake2b(b"".join(sorted(members[i])), digest_size=16).digest() for i in protos]
    rows = Rows(
        article=np.asarray([position[p.article_id] for p in passages] + protos, np.int32),
        kind=np.asarray([KINDS.index(p.kind) for p in passages] + [KINDS.index("proto")] * len(protos), np.int8),
        lang=np.asarray([langs.index(p.lang) for p in passages] + [-1] * len(protos), np.int16),
        key=np.frombuffer(b"".join(keys + proto_keys), dtype=np.uint8).reshape(-1, 16) if keys else np.zeros((0, 16), np.uint8),
    )
    all_vectors = np.vstack([vectors, np.stack(proto_vectors)]) if protos else vectors
    return rows, np.ascontiguousarray(all_vectors, dtype=np.float32)


def _faiss_index(vectors: np.ndarray, ann_min_vectors: int):
    dim = vectors.shape[1]
    if len(vectors) < ann_min_vectors:
        index = faiss.IndexFlatIP(dim)
        kind = "flat"
    else:
        # M=16, efConstruction=40: on 60,000 vectors, 3.8 s to build and the same top article
        # as exact search on 500 of 500 queries (bench/speed.py), at 0.4 ms instead of 6.7 ms.
        index = faiss.IndexHNSWFlat(dim, 16, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 40
        kind = "hnsw16"
    index.add(vectors)
    return index, kind


def publish(snapshot: Path, index_dir: str | Path, keep: int = 3) -> None:
    """Point `index_dir` at `snapshot` in one atomic rename, then prune old snapshots."""
    index_dir = Path(index_dir)
    if index_dir.exists() and not index_dir.is_symlink():
        raise SearchIndexError(f"{index_dir} is a folder, not a link made by reindex; remove it and reindex")
    link_tmp = index_dir.parent / f".{index_dir.name}.link-{os.getpid()}"
    if link_tmp.is_symlink() or link_tmp.exists():
        link_tmp.unlink()
    os.symlink(os.path.relpath(snapshot, index_dir.parent), link_tmp)
    os.replace(link_tmp, index_dir)
    _prune(snapshot.parent, keep, current=snapshot)


def _prune(folder: Path, keep: int, current: Path) -> None:
    snapshots = sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)
    for old in snapshots[:-keep]:
        if old.resolve() != current.resolve():
            shutil.rmtree(old, ignore_errors=True)


def remove_abandoned_builds(folder: Path) -> list[Path]:
    """Delete the half-written folders of builds that died; the folders removed.

    A build cleans up after itself unless it is killed (SIGKILL, SIGTERM, a power cut); its
    `.tmp-<stamp>-<pid>` folder, as big as a snapshot, would then stay forever: pruning skips
    hidden folders. A running build holds a lock on its folder, which the kernel drops when the
    process dies, whatever its process id or container; where locks do not work, nothing is removed.
    """
    removed = []
    for tmp in sorted(folder.glob(".tmp-*")):
        lock = _lock(tmp) if tmp.is_dir() else None
        if lock is None:  # a build under way (or no locks here)
            continue
        try:
            shutil.rmtree(tmp, ignore_errors=True)
        finally:
            os.close(lock)
        log.warning("removed %s, left by a reindex that did not finish", tmp)
        removed.append(tmp)
    return removed


def _lock(folder: Path) -> int | None:
    """An exclusive lock on a folder, held until the descriptor returned is closed; None if taken or unsupported."""
    if fcntl is None:
        return None
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # BlockingIOError: held by a build under way; others: a filesystem without locks
        os.close(fd)
        return None
    return fd


def _mtime(path: str) -> str:
    try:
        return datetime.fromtimestamp(os.path.getmtime(path), timezone.utc).date().isoformat()
    except OSError:
        return ""


class _Bar:
    def __init__(self, total: int, label: str) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=total, desc=label, unit="passage", file=sys.stderr)

    def update(self, n: int) -> None:
        self._bar.update(n)

    def close(self) -> None:
        self._bar.close()


def _progress(total: int, label: str, show: bool | None) -> "_Bar | None":
    if show is None:
        show = total >= 2000 and sys.stderr.isatty()
    return _Bar(total, label) if show else None
