"""A classifier over the frozen embeddings, trained at reindex on titles and example questions.

Nearest-neighbour and prototype scores rank articles by one similarity each; a
logistic regression learns which directions separate this KB's articles from each other.
Its log-probability is added to the similarity score (bench/retrieval.py measures the
gain), so it sharpens the ranking while the score keeps its cosine scale for thresholds.
Large KBs skip it: training cost grows with articles × examples. So do KBs whose articles have
few examples: with a median under MIN_EXAMPLES (title and questions) a fit on 1-3 examples an
article was a gamble, as often worse than the similarities alone as better (see MIN_EXAMPLES). A model trained on exactly
the same vectors and labels before (an edit that touched only an article's body) is read back
from the cache folder instead of trained again.
"""

from __future__ import annotations

import hashlib
import os
import time
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WEIGHT = 0.05  # how much the log-probability moves a cosine score
# Training cost grows with examples × articles: CLINC150 10-shot (1,650 × 150) trains in about
# 1.5 s; beyond this budget the prototype alone ranks (measured in bench/speed.py).
MAX_WORK = 1_000_000
# Examples (title and questions) the median article needs. Chosen on the --dev splits of
# bench/suggestions_eval.py (docs/retrieval.md, "Learning from the desk"): the classifier's
# change to top-1 at a median of 2-3 (stackfaq, 7 runs) ranged from -3.2 to +1.3 points, -0.4
# on average; at a median of 4, 5 and 27 (CLINC150, xSID) it was +0.9, +1.3 and +1.8.
MIN_EXAMPLES = 4
REGULARISATION_C = 10.0
KEPT = 8  # trained models kept in the cache folder: this build's and a few before it
STALE_SECONDS = 3600  # a half-written model this old was left by a build that died


@dataclass(frozen=True)
class Classifier:
    weights: np.ndarray  # (dim, classes)
    bias: np.ndarray  # (classes,)
    articles: np.ndarray  # article index of each class

    def log_proba(self, vector: np.ndarray) -> dict[int, float]:
        """Log-probability of each article for one query vector."""
        logits = vector @ self.weights + self.bias
        logits -= logits.max()
        log_p = logits - np.log(np.exp(logits).sum())
        return dict(zip(self.articles.tolist(), log_p.tolist()))

    def save(self, path: Path) -> None:
        np.savez(path, weights=self.weights, bias=self.bias, articles=self.articles)

    @staticmethod
    def load(path: Path) -> "Classifier | None":
        if not path.exists():
            return None
        with np.load(path) as data:
            return Classifier(data["weights"], data["bias"], data["articles"])


def train_classifier(vectors: np.ndarray, labels: np.ndarray, cache_dir: Path | None = None, fold: bool = False) -> Classifier | None:
    """Multinomial logistic regression from example vectors to article indices, if worth it.

    With `cache_dir`, a model already trained on the same vectors and labels is read back.
    `fold`: calibration's model on part of the examples of a KB whose classifier was trained
    (it stands in for that classifier, so it is trained however few examples the part has)."""
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) < 2 or len(labels) * len(classes) > MAX_WORK:
        return None  # nothing to tell apart, or too costly
    if not fold and np.median(counts) < MIN_EXAMPLES:
        return None  # too few examples an article to learn from
    cached = _cache_path(cache_dir, vectors, labels) if cache_dir is not None else None
    if cached is not None and cached.exists():
        try:
            model = Classifier.load(cached)
            os.utime(cached)  # recently used: kept by the pruning below
            return model
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            pass  # a damaged entry only costs the training
    model = _fit(vectors, labels)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f"{cached.stem}.{os.getpid()}.tmp.npz")
        model.save(tmp)
        os.replace(tmp, cached)
        _prune(cached.parent)
    return model


def _fit(vectors: np.ndarray, labels: np.ndarray) -> Classifier:
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    model = LogisticRegression(C=REGULARISATION_C, max_iter=1000)
    # One thread for BLAS and for sklearn's OpenMP loss alike: these matrices are small
    # (examples × 900 dimensions × articles), and threads waking for each product made a fit
    # 5x slower on 2 cores when quiet, 40x under load (bench/reindex_impact.py).
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", UserWarning)  # sklearn's "looks like regression" for few examples per class
        model.fit(vectors, labels)
    weights, bias = model.coef_.T, model.intercept_
    if len(model.classes_) == 2:  # sklearn keeps one column for two classes: the second's logit against the first's 0
        weights, bias = np.hstack([np.zeros_like(weights), weights]), np.concatenate([[0.0], bias])
    return Classifier(weights.astype(np.float32).copy(), bias.astype(np.float32), model.classes_.astype(np.int32))


def _cache_path(cache_dir: Path, vectors: np.ndarray, labels: np.ndarray) -> Path:
    digest = hashlib.blake2b(digest_size=16)
    for part in (np.ascontiguousarray(vectors, dtype=np.float32), np.ascontiguousarray(labels, dtype=np.int64)):
        digest.update(str(part.shape).encode())
        digest.update(part.tobytes())
    digest.update(f"C={REGULARISATION_C} two-class-columns".encode())  # models before that had one column for two articles
    # A file beside the embedding caches, not a folder: folders there are snapshots.
    return cache_dir / f"classifier-{digest.hexdigest()}.npz"


def _prune(folder: Path) -> None:
    """Keep the KEPT most recently used models; drop what a killed build left half-written an
    hour ago or more (a build running beside this one may be writing a newer one)."""
    entries = sorted(folder.glob("classifier-*[0-9a-f].npz"), key=lambda p: p.stat().st_mtime, reverse=True)
    stale = [p for p in folder.glob("classifier-*.tmp.npz") if time.time() - p.stat().st_mtime > STALE_SECONDS]
    for old in [*entries[KEPT:], *stale]:
        old.unlink(missing_ok=True)
