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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import faiss
import numpy as np

try:
    import fcntl
except ImportError:  # Windows: abandoned build folders are not removed there
    fcntl = None  # type: ignore[assignment]

from index.errors import SearchIndexError
from index.classifier import train_classifier
from index.centring import Centring, part_languages
from index.embedding_cache import SAVE_EVERY, EmbeddingCache, text_key
from index.encoders import Encoder, Encoders, as_encoders
from index.incremental import Rows, extend_previous
from index.kb import KnowledgeBase
from index.passages import KINDS, Passage, split_article
from index.scoring import HUB_WEIGHT, Fusion, background, default_weights, hub_scores
from index.search import FORMAT_VERSION, vector_table
from index.updated import last_updated
from index.spelling import kb_words

log = logging.getLogger(__name__)

# Example questions searched as customers ask them (query-encoded) give each part its hub score,
# each encoder its background, and calibration its held-out questions; a sample is enough.
MAX_REFERENCE = 2000


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
    encoder: Encoder | Encoders,
    index_dir: str | Path,
    ann_min_vectors: int = 20000,
    show_progress: bool | None = None,
    workers: int = 1,
    updated: Mapping[str, str] | None = None,
    translations: Mapping[tuple[str, str], Mapping[str, object]] | None = None,
    centring: Centring | None = None,
    language_of: Callable[[str], str] | None = None,
) -> tuple[Path, BuildReport]:
    """Write a complete, unpublished snapshot of `kb` next to `index_dir`.

    `updated` is each article path's date when the caller has it already (`last_updated`);
    `translations` adds fields to a version in articles.json (`index.translations.snapshot_fields`).
    `centring` takes each language's mean off every vector (index/centring.py); `language_of`
    reads an example question's language as the engine reads a customer's.
    Drafts (`draft: true`) are left out: they are validated, not served."""
    started = time.perf_counter()
    kb = kb.served()
    if not kb.articles:
        raise SearchIndexError("every article of the knowledge base is a draft: publish one (remove 'draft: true') and reindex")
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
        extra = (updated, translations or {}, centring, language_of)
        report = _write_snapshot(kb, as_encoders(encoder), tmp, folder, ann_min_vectors, show_progress, started, workers, previous, extra)
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if lock is not None:
            os.close(lock)
    return dest, BuildReport(**{**report.__dict__, "path": str(dest)})


def _write_snapshot(kb, encoders: Encoders, out: Path, cache_dir: Path, ann_min_vectors, show_progress, started, workers, previous, extra) -> BuildReport:
    ids = list(kb.article_ids)
    position = {article_id: i for i, article_id in enumerate(ids)}
    langs = sorted(kb.languages)
    passages: list[Passage] = []
    parts: list[int] = []
    for article in kb.articles:
        split = split_article(article)
        passages += split
        parts += range(len(split))
    texts = [p.text for p in passages]

    encoded, reused, vectors = 0, 0, []
    for encoder in encoders.members:
        cache = EmbeddingCache(cache_dir, encoder.name, encoder.dim)
        bar = _progress(len(texts), f"embedding ({encoder.name})", show_progress)
        vectors.append(cache.embed(texts, encoder, workers=workers, progress=bar.update if bar else None, save_every=SAVE_EVERY))
        if bar:
            bar.close()
        cache.save()
        encoded, reused = encoded + len(texts) - cache.hits, reused + cache.hits

    given_dates, translations, centring, language_of = extra
    part_langs = part_languages([p.lang for p in passages], [p.kind for p in passages], texts, language_of if centring else None)
    raw = vectors
    reference = _reference_rows(np.asarray([KINDS.index(p.kind) for p in passages], np.int8))
    queries = cached_queries(encoders, [texts[r] for r in reference], cache_dir, "query", show_progress)
    if centring is not None:
        reference_langs = [part_langs[r] for r in reference]
        centring = centring.with_kb_languages(reference_langs, [v[reference] for v in raw], queries)
    if centring is not None and not centring.langs:
        centring = None  # customers' languages are the KB's, and it has too few examples in them
    if centring is not None:
        vectors = [centring.centre(e, v, part_langs, "passage") for e, v in enumerate(raw)]
    rows, all_vectors = _rows(passages, parts, vectors, position, langs)
    # heldout.npz keeps them as encoded: calibration searches them as customers' questions, which
    # SearchIndex.search centres itself.
    centred_queries = [centring.centre(e, q, [part_langs[r] for r in reference], "query") for e, q in enumerate(queries)] if centring else queries
    examples = np.isin(rows.kind, (KINDS.index("title"), KINDS.index("question")))
    classifier = train_classifier(np.hstack([v[examples] for v in all_vectors]), rows.article[examples], cache_dir)
    if classifier is not None:
        classifier.save(out / "classifier.npz")
    reference_article = rows.article[reference]
    reused_index = (
        extend_previous(previous, encoders.name, ids, langs, rows, all_vectors, centring.key if centring else None)
        if previous and len(all_vectors[0]) >= ann_min_vectors
        else None
    )
    if reused_index is not None:
        indexes, rows, where, appended = reused_index
        index_type = f"hnsw16 (previous graph, {appended} vectors added)"
        fresh = where[where >= len(rows.article) - appended]
        reference = [int(where[r]) for r in reference]
    else:
        built = [_faiss_index(v, ann_min_vectors) for v in all_vectors]
        indexes, index_type = [i for i, _ in built], built[0][1]
        fresh = np.arange(len(rows.article), dtype=np.int64)
    fresh = fresh[rows.article[fresh] >= 0]
    live = np.flatnonzero(rows.article >= 0)
    backgrounds = []
    for e, (index, q) in enumerate(zip(indexes, centred_queries)):
        table = vector_table(index)
        rows.hub[e][fresh] = hub_scores(table[fresh], q, rows.article[fresh], reference_article)
        backgrounds.append(background(table[live], rows.hub[e][live] * HUB_WEIGHT, q, rows.article[live], reference_article))
        faiss.write_index(index, str(out / f"vectors-{e}.faiss"))
    fusion = Fusion(
        background=tuple(backgrounds),
        weights=default_weights(len(encoders.members)),
        languages=tuple(tuple(sorted(e.languages)) if e.languages is not None else None for e in encoders.members),
        passages=tuple(getattr(e, "reads_passages", True) or len(encoders.members) == 1 for e in encoders.members),
    )
    rows.save(out / "rows.npz")
    if centring is not None:
        centring.save(out)
    np.savez(out / "heldout.npz", rows=np.asarray(reference, np.int64), **{f"queries_{e}": q for e, q in enumerate(queries)})
    updated = given_dates or last_updated([a.path for a in kb.articles], {a.path: a.updated for a in kb.articles})
    versions = {
        article_id: {
            a.lang: {
                "title": a.title, "body": a.body, "path": a.path, "updated": updated[a.path], "questions": list(a.questions),
                **translations.get((article_id, a.lang), {}),
            }
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
    (out / "vocabulary.json").write_text(json.dumps(kb_words(texts), ensure_ascii=False), encoding="utf-8")
    seconds = time.perf_counter() - started
    manifest = {
        "format": FORMAT_VERSION,
        "encoder": encoders.name,
        "encoders": [e.name for e in encoders.members],
        "dims": [e.dim for e in encoders.members],
        "kb_hash": kb.content_hash,
        "kb_root": kb.root,
        "articles": len(ids),
        "versions": len(kb.articles),
        "languages": langs,
        "vectors": int(all_vectors[0].shape[0]),
        "dead_vectors": int((rows.article < 0).sum()),
        "index_type": index_type,
        "fusion": fusion.to_dict(),
        "classifier": classifier is not None,
        "centring": centring.key if centring else None,
        "centred_languages": list(centring.langs) if centring else [],
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "build_seconds": round(seconds, 3),
        "encoded": encoded,
        "reused": reused,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return BuildReport(str(out), len(ids), len(kb.articles), int(all_vectors[0].shape[0]), encoded, reused, index_type, seconds)


def _rows(passages: list[Passage], parts: list[int], vectors: list[np.ndarray], position: dict[str, int], langs: list[str]) -> tuple[Rows, list[np.ndarray]]:
    """Row tables and each encoder's vectors: every passage, then one prototype per article.

    The prototype is the normalised mean of an article's titles and example questions in all
    its languages; its key hashes its members' keys, so it changes exactly when they do.
    """
    keys = [text_key(p.text) for p in passages]
    members: dict[int, list[int]] = {}
    for i, passage in enumerate(passages):
        if passage.kind in ("title", "question"):
            members.setdefault(position[passage.article_id], []).append(i)
    protos = sorted(members)
    proto_keys = [hashlib.blake2b(b"".join(sorted(keys[i] for i in members[a])), digest_size=16).digest() for a in protos]
    rows = Rows(
        article=np.asarray([position[p.article_id] for p in passages] + protos, np.int32),
        kind=np.asarray([KINDS.index(p.kind) for p in passages] + [KINDS.index("proto")] * len(protos), np.int8),
        lang=np.asarray([langs.index(p.lang) for p in passages] + [-1] * len(protos), np.int16),
        key=np.frombuffer(b"".join(keys + proto_keys), dtype=np.uint8).reshape(-1, 16) if keys else np.zeros((0, 16), np.uint8),
        part=np.asarray(parts + [-1] * len(protos), np.int16),
        hub=[np.zeros(len(passages) + len(protos), np.float32) for _ in vectors],
    )
    out = []
    for v in vectors:
        proto_vectors = [_unit(v[members[a]].sum(axis=0)) for a in protos]
        out.append(np.ascontiguousarray(np.vstack([v, np.stack(proto_vectors)]) if protos else v, dtype=np.float32))
    return rows, out


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / (np.linalg.norm(vector) or 1.0)


def _reference_rows(kinds: np.ndarray) -> list[int]:
    """Up to MAX_REFERENCE titles and example questions (passages of `kinds`), spread over the KB (seeded)."""
    examples = np.flatnonzero(np.isin(kinds, (KINDS.index("title"), KINDS.index("question"))))
    if len(examples) > MAX_REFERENCE:
        examples = np.sort(np.random.default_rng(0).choice(examples, size=MAX_REFERENCE, replace=False))
    return [int(r) for r in examples]


def cached_queries(
    encoders: Encoders, texts: list[str], cache_dir: Path, purpose: str, show_progress: bool | None = None, as_passages: bool = False
) -> list[np.ndarray]:
    """`texts` encoded as customers' questions by each encoder (as passages with `as_passages`),
    through a cache kept per `purpose` (each cache keeps what its last use asked for, so
    purposes must not share one)."""
    out = []
    for encoder in encoders.members:
        cache = EmbeddingCache(cache_dir, f"{encoder.name}:{purpose}", encoder.dim)
        bar = _progress(len(texts), f"{'passages' if as_passages else 'questions'} ({encoder.name})", show_progress)
        out.append(cache.embed(texts, encoder if as_passages else _Queries(encoder), progress=bar.update if bar else None))
        if bar:
            bar.close()
        cache.save()
    return out


class _Queries:
    """An encoder seen through its question side, for the embedding cache."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder

    def encode(self, texts):
        return self.encoder.encode_queries(texts)


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
