import os
import time
from pathlib import Path

import numpy as np

import index.classifier
from index.classifier import train_classifier


def examples(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), 4)
    vectors = rng.normal(size=(12, 8)).astype(np.float32) + labels[:, None]
    return vectors, labels


def test_the_same_examples_are_trained_once(tmp_path: Path, fits: list[int]) -> None:
    vectors, labels = examples()
    first = train_classifier(vectors, labels, tmp_path)
    again = train_classifier(vectors.copy(), labels.copy(), tmp_path)
    assert len(fits) == 1
    assert first is not None and again is not None and np.array_equal(first.weights, again.weights)
    train_classifier(*examples(seed=1), tmp_path)
    assert len(fits) == 2  # other vectors: trained


def test_a_damaged_cached_model_is_trained_again(tmp_path: Path, fits: list[int]) -> None:
    vectors, labels = examples()
    first = train_classifier(vectors, labels, tmp_path)
    for entry in tmp_path.glob("classifier-*.npz"):
        entry.write_bytes(entry.read_bytes()[:100])  # cut short, as a full disk leaves it
    again = train_classifier(vectors, labels, tmp_path)
    assert len(fits) == 2
    assert first is not None and again is not None and np.allclose(first.weights, again.weights)


def test_only_the_latest_models_are_kept(tmp_path: Path, fits: list[int]) -> None:
    stale, fresh = tmp_path / "classifier-0123.42.tmp.npz", tmp_path / "classifier-4567.43.tmp.npz"
    stale.write_bytes(b"left by a build that died")
    fresh.write_bytes(b"being written by a build running now")
    os.utime(stale, (time.time() - 2 * index.classifier.STALE_SECONDS,) * 2)
    for seed in range(index.classifier.KEPT + 3):
        train_classifier(*examples(seed), tmp_path)
    assert len(list(tmp_path.glob("classifier-*[0-9a-f].npz"))) == index.classifier.KEPT
    assert list(tmp_path.glob("*.tmp.npz")) == [fresh]


def test_articles_with_few_examples_get_no_classifier_but_a_calibration_fold_does(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    three = np.repeat(np.arange(5), 3)  # a title and two questions an article: median 3
    vectors = rng.normal(size=(len(three), 8)).astype(np.float32) + three[:, None]
    assert train_classifier(vectors, three, tmp_path) is None
    assert train_classifier(vectors, three, tmp_path, fold=True) is not None  # stands in for a KB's trained classifier
    four = np.concatenate([three, np.arange(5)])  # one more question each: median 4
    more = np.vstack([vectors, rng.normal(size=(5, 8)).astype(np.float32) + np.arange(5)[:, None]])
    assert train_classifier(more, four, tmp_path) is not None
    mixed = np.array([0] * 9 + [1, 2, 3, 4] + [1, 2])  # one article with many, the median article with one or two
    assert train_classifier(rng.normal(size=(len(mixed), 8)).astype(np.float32), mixed, tmp_path) is None


def test_a_kb_of_two_articles_gets_a_model_that_tells_them_apart(tmp_path: Path) -> None:
    # sklearn keeps one weight column for two classes: read as it is, the second article was
    # "unseen" for every question and the first always led.
    a = (np.random.default_rng(0).normal(size=(5, 8)) + np.eye(1, 8)[0]).astype(np.float32)
    model = train_classifier(np.vstack([a, -a]), np.array([0] * 5 + [1] * 5), tmp_path)
    assert model is not None
    near_first, near_second = model.log_proba(a.mean(axis=0)), model.log_proba(-a.mean(axis=0))
    assert sorted(near_first) == sorted(near_second) == [0, 1]
    assert near_first[0] > near_first[1] and near_second[1] > near_second[0]
    assert abs(np.exp(near_first[0]) + np.exp(near_first[1]) - 1) < 1e-5
