"""A small edit of a small KB: bounded threads, no classifier trained again, and calibration
carried over only while what it measured (titles, example questions, 1% of the parts) is the same."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_info

from bot.config import Settings
from bot.reindex.run import RECALIBRATE_SHARE, reindex
from index.classifier import train_classifier
from tests.conftest import write_article

TOPICS = ["invoice", "coupon", "warranty", "subscription", "gift wrap", "loyalty points", "store pickup", "price match"]
ARTICLES = 40  # one article is 2.5% of them: over the 1% of articles that carries calibration alone


def paragraph(topic: str, n: int, extra: str = "") -> str:
    return f"About {topic} case {n}, part {extra or 'one'}: open the {topic} page, choose option {n} and follow the steps."


def write_kb(kb: Path, edited: dict[int, str] | None = None, question: dict[int, str] | None = None) -> None:
    for n in range(ARTICLES):
        topic = TOPICS[n % len(TOPICS)]
        body = "\n\n".join(paragraph(topic, n, part) for part in ("one", "two", "three"))
        body += (edited or {}).get(n, "")
        questions = [f"how does {topic} {n} work", f"where is {topic} {n} explained", (question or {}).get(n, f"problem with {topic} number {n}")]
        write_article(kb, "en", f"{topic.replace(' ', '-')}-{n}", f"{topic.title()} case {n}", body, questions)


@pytest.fixture
def built(tmp_path: Path) -> Settings:
    write_kb(tmp_path / "kb")
    settings = Settings(kb_dir=str(tmp_path / "kb"), index_dir=str(tmp_path / "index"), encoder="hash")
    first = reindex(settings, out=io.StringIO())
    assert first.calibration is not None and first.calibration.carried_over is None
    return settings


def test_the_classifier_trains_with_one_thread_in_every_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    pools: list[dict[str, int]] = []
    fit = LogisticRegression.fit

    def watched(self: LogisticRegression, *args: object, **kwargs: object) -> LogisticRegression:
        pools.append({info["filepath"]: info["num_threads"] for info in threadpool_info()})
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(LogisticRegression, "fit", watched)
    labels = np.repeat(np.arange(3), 4)
    vectors = np.random.default_rng(0).normal(size=(12, 8)).astype(np.float32) + labels[:, None]
    assert train_classifier(vectors, labels) is not None
    assert len(pools) == 1 and pools[0] and set(pools[0].values()) == {1}, pools  # BLAS and OpenMP alike


def test_a_body_edit_of_one_article_keeps_the_calibration_and_trains_nothing(built: Settings, fits: list[int]) -> None:
    before = (Path(built.index_dir).resolve() / "calibration.json").read_text(encoding="utf-8")
    write_kb(Path(built.kb_dir), edited={7: "\n\nOne more sentence, as a maintainer's small fix."})
    report = reindex(built, out=io.StringIO())
    assert report.calibration is not None and report.calibration.carried_over == 1
    assert report.build is not None and report.build.encoded == 1  # the new passage alone
    assert fits == []  # the KB's classifier and the three fold models are the cached ones
    after = (Path(built.index_dir).resolve() / "calibration.json").read_text(encoding="utf-8")
    assert before.replace('"carried_over": null', '"carried_over": 1') == after


def test_a_changed_example_question_recalibrates(built: Settings, fits: list[int]) -> None:
    write_kb(Path(built.kb_dir), question={7: "my invoice is wrong"})
    report = reindex(built, out=io.StringIO())
    assert report.calibration is not None and report.calibration.carried_over is None
    # Its training data changed: the KB's classifier (a title and three questions an article, the
    # fewest it is trained on) is trained again, and the fold models whose examples include the
    # question (the others are cached).
    assert fits[0] == 4 * ARTICLES and 2 <= len(fits) <= 4, fits


def test_body_edits_recalibrate_once_they_add_up_past_the_share_of_parts(built: Settings) -> None:
    parts = reindex(built, out=io.StringIO()).build.vectors - ARTICLES  # less the prototypes
    per_edit = 1
    allowed = int(RECALIBRATE_SHARE * parts) // per_edit
    edited: dict[int, str] = {}
    for n in range(allowed):
        edited[n] = "\n\nOne more sentence."
        write_kb(Path(built.kb_dir), edited=edited)
        report = reindex(built, out=io.StringIO())
        assert report.calibration.carried_over == len(edited), n  # counted against the calibrated KB
    edited[allowed] = "\n\nOne more sentence."
    write_kb(Path(built.kb_dir), edited=edited)
    assert reindex(built, out=io.StringIO()).calibration.carried_over is None
    edited[0] += " And another."  # the count starts again from the new calibration
    write_kb(Path(built.kb_dir), edited=edited)
    assert reindex(built, out=io.StringIO()).calibration.carried_over == 1
