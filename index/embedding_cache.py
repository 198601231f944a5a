"""Embeddings of passages already encoded, keyed by encoder and text hash.

Reindexing looks every passage up here first, so editing one article of ten thousand
encodes only that article's passages. What is missing is encoded in batches, spread over
`workers` processes when there is enough of it to pay for them (an encoder with its own
OpenMP threads, such as e5, encodes in-process: OpenMP does not survive a fork). The cache is
saved every SAVE_EVERY new vectors, so an interrupted build resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import numpy as np

if TYPE_CHECKING:
    from index.encoders import Encoder

PARALLEL_MIN_TEXTS = 2000
BATCH = 512
SAVE_EVERY = 4096
_worker_encoder: "Encoder | None" = None  # set before forking, so workers share the loaded model


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class EmbeddingCache:
    def __init__(self, folder: str | Path, encoder_name: str, dim: int) -> None:
        slug = hashlib.sha1(encoder_name.encode()).hexdigest()[:16]
        self.path = Path(folder) / f"embeddings-{slug}.npz"
        self.dim = dim
        self.hits = 0
        self._used: set[bytes] = set()
        self._vectors: dict[bytes, np.ndarray] = {}
        if self.path.exists():
            try:
                with np.load(self.path) as data:
                    keys, vectors = data["keys"], data["vectors"]
                self._vectors = {k.tobytes(): v for k, v in zip(keys, vectors) if v.shape == (dim,)}
            except (OSError, ValueError, KeyError):
                self._vectors = {}  # a damaged cache only costs time: rebuild it

    def embed(
        self,
        texts: Sequence[str],
        encoder: "Encoder",
        workers: int = 1,
        progress: Callable[[int], None] | None = None,
        save_every: int | None = None,
    ) -> np.ndarray:
        """Vectors for `texts`, encoding only the ones not cached yet."""
        keys = [text_key(t) for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts) if k not in self._vectors}.items())
        if progress and len(texts) > len(missing):
            progress(len(texts) - len(missing))
        chunks = [missing[i : i + BATCH] for i in range(0, len(missing), BATCH)]
        unsaved = 0
        for chunk, vectors in zip(chunks, _encode_chunks(encoder, [[t for _, t in c] for c in chunks], workers, len(missing))):
            for (key, _), vector in zip(chunk, vectors):
                self._vectors[key] = vector.astype(np.float16)
            unsaved += len(chunk)
            if save_every and unsaved >= save_every:
                self.save(keys)
                unsaved = 0
            if progress:
                progress(len(chunk))
        self.hits = len(texts) - len(missing)
        self._used = set(keys)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, key in enumerate(keys):
            out[i] = self._vectors[key]
        return out

    def save(self, wanted: Sequence[bytes] | None = None) -> None:
        """Write the entries the last build used (or those of `wanted` encoded so far), atomically."""
        keys = sorted({k for k in wanted if k in self._vectors} if wanted is not None else (self._used or self._vectors))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp.npz")
        # Raw uint8 rows: numpy "S" strings would drop trailing zero bytes of a key.
        keys_array = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(-1, 16) if keys else np.zeros((0, 16), np.uint8)
        vectors = np.stack([self._vectors[k] for k in keys]) if keys else np.zeros((0, self.dim), np.float16)
        np.savez(tmp, keys=keys_array, vectors=vectors)
        os.replace(tmp, self.path)


def _encode_chunks(encoder: "Encoder", chunks: list[list[str]], workers: int, total: int) -> Iterator[np.ndarray]:
    forkable = getattr(encoder, "forkable", True)
    if workers <= 1 or not forkable or total < PARALLEL_MIN_TEXTS or "fork" not in multiprocessing.get_all_start_methods():
        for chunk in chunks:
            yield encoder.encode(chunk)
        return
    # Forked workers share the parent's loaded weights copy-on-write: no model load per worker.
    global _worker_encoder
    _worker_encoder = encoder
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            yield from pool.imap(_encode_in_worker, chunks)
    finally:
        _worker_encoder = None


def _encode_in_worker(texts: list[str]) -> np.ndarray:
    assert _worker_encoder is not None
    return _worker_encoder.encode(texts)
