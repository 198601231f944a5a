import os
from pathlib import Path

import pytest

from bot.config import Settings
from bot.errors import KBErrors
from bot.reindex.run import reindex
from index.encoders import HashEncoder
from index.search import LiveIndex, SearchIndex

from tests.conftest import SMALL_KB, write_article


def settings_for(kb: Path, tmp_path: Path) -> Settings:
    return Settings(kb_dir=str(kb), index_dir=str(tmp_path / "var" / "index"), encoder="hash")


def test_build_writes_a_complete_snapshot(small_kb: Path, tmp_path: Path) -> None:
    settings = settings_for(small_kb, tmp_path)
    report = reindex(settings, encoder=HashEncoder())
    index = SearchIndex(settings.index_dir)
    m = index.manifest
    assert m["encoder"] == "hash-3gram:1" and m["dims"] == [256] and m["articles"] == 5 and m["versions"] == 7
    assert m["vectors"] == index.indexes[0].ntotal == report.build.vectors
    assert m["kb_hash"] and m["built_at"] and m["index_type"] == "flat"
    assert index.calibration["thresholds"]["handoff"] <= index.calibration["thresholds"]["answer"]
    assert os.path.islink(settings.index_dir)


def test_exact_match_finds_its_article(small_kb: Path, tmp_path: Path) -> None:
    settings = settings_for(small_kb, tmp_path)
    encoder = HashEncoder()
    reindex(settings, encoder=encoder)
    index = SearchIndex(settings.index_dir)
    [best, *_] = index.search([encoder.encode(["how much is delivery"])[0]])
    assert best.article_id == "shipping" and best.kind == "question"


def test_reindex_reuses_unchanged_embeddings(small_kb: Path, tmp_path: Path) -> None:
    settings = settings_for(small_kb, tmp_path)
    first = reindex(settings, encoder=HashEncoder()).build
    write_article(small_kb, "en", "shipping", "Shipping times", "Orders ship the same day.", ["when will my order arrive"])
    second = reindex(settings, encoder=HashEncoder()).build
    assert first.encoded == first.vectors - 5 - first.reused  # prototypes are computed, not encoded
    assert second.encoded == 2 and second.reused == second.vectors - 5 - 2  # its new title and passage


def test_failed_reindex_leaves_the_old_index_serving(small_kb: Path, tmp_path: Path) -> None:
    settings = settings_for(small_kb, tmp_path)
    reindex(settings, encoder=HashEncoder())
    live = LiveIndex(settings.index_dir)
    before = live.current()
    (small_kb / "en" / "broken.md").write_text("no front matter", encoding="utf-8")
    with pytest.raises(KBErrors):
        reindex(settings, encoder=HashEncoder())
    assert live.current() is before
    assert before.search([HashEncoder().encode(["refund policy"])[0]])[0].article_id == "refund"


def test_build_failure_midway_keeps_old_snapshot(small_kb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_for(small_kb, tmp_path)
    reindex(settings, encoder=HashEncoder())
    target = os.path.realpath(settings.index_dir)

    class Exploding(HashEncoder):
        def encode(self, texts):
            raise RuntimeError("encoder crashed")

    write_article(small_kb, "en", "new", "A new article", "Body", ["new question"])
    with pytest.raises(RuntimeError):
        reindex(settings, encoder=Exploding())
    assert os.path.realpath(settings.index_dir) == target
    builds = Path(target).parent
    assert not [p for p in builds.iterdir() if p.name.startswith(".tmp")]


def test_live_index_moves_to_new_snapshot(small_kb: Path, tmp_path: Path) -> None:
    settings = settings_for(small_kb, tmp_path)
    reindex(settings, encoder=HashEncoder())
    live = LiveIndex(settings.index_dir)
    first = live.current()
    write_article(small_kb, "en", "gift-cards", "Gift cards", "Buy gift cards in the shop.", ["do you sell gift cards"])
    reindex(settings, encoder=HashEncoder())
    second = live.current()
    assert second is not first and "gift-cards" in second.versions and "gift-cards" not in first.versions


def test_approximate_index_above_threshold(small_kb: Path, tmp_path: Path) -> None:
    settings = settings_for(small_kb, tmp_path).with_overrides(ann_min_vectors=10)
    reindex(settings, encoder=HashEncoder())
    index = SearchIndex(settings.index_dir)
    assert index.manifest["index_type"].startswith("hnsw")
    assert index.search([HashEncoder().encode(["I forgot my password"])[0]])[0].article_id == "reset-password"


def test_edit_reuses_the_approximate_index_and_marks_old_rows_dead(small_kb: Path, tmp_path: Path) -> None:
    settings = settings_for(small_kb, tmp_path).with_overrides(ann_min_vectors=10)
    encoder = HashEncoder()
    for i in range(30):  # enough rows that one edit stays under the dead-row limit
        write_article(small_kb, "en", f"filler-{i}", f"Filler article {i}", f"Body {i}.", [f"filler question {i}"])
    reindex(settings, encoder=encoder)
    first = SearchIndex(settings.index_dir)
    write_article(small_kb, "en", "shipping", "Shipping times", "Orders ship the same day.", ["when will my order arrive", "is shipping free"])
    reindex(settings, encoder=encoder)
    second = SearchIndex(settings.index_dir)
    assert "previous graph" in second.manifest["index_type"]
    assert second.manifest["dead_vectors"] > 0
    assert second.indexes[0].ntotal > first.indexes[0].ntotal
    [best, *_] = second.search([encoder.encode(["is shipping free"])[0]])
    assert best.article_id == "shipping"
    old_title = encoder.encode(["Shipping times and costs"])[0]
    assert all(r.kind != "title" or r.article_id != "shipping" or r.score < 0.99 for r in second.search([old_title]))


def test_many_changes_rebuild_the_approximate_index(small_kb: Path, tmp_path: Path) -> None:
    settings = settings_for(small_kb, tmp_path).with_overrides(ann_min_vectors=10)
    reindex(settings, encoder=HashEncoder())
    for lang, article_id, title, body, questions in SMALL_KB:
        write_article(small_kb, lang, article_id, title + " (edited)", body + " Edited.", questions)
    reindex(settings, encoder=HashEncoder())
    index = SearchIndex(settings.index_dir)
    assert index.manifest["index_type"] == "hnsw16" and index.manifest["dead_vectors"] == 0


def test_small_edit_keeps_calibration_and_many_edits_recalibrate(small_kb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.reindex.run

    settings = settings_for(small_kb, tmp_path)
    first = reindex(settings, encoder=HashEncoder()).calibration
    assert first.carried_over is None and len(first.base) == 5
    monkeypatch.setattr(bot.reindex.run, "RECALIBRATE_SHARE", 0.25)  # 1 of 5 articles is within it
    write_article(small_kb, "en", "shipping", "Shipping times", "Orders ship the same day.", ["when will my order arrive"])
    second = reindex(settings, encoder=HashEncoder()).calibration
    assert second.carried_over == 1 and second.thresholds == first.thresholds and second.base == first.base
    write_article(small_kb, "en", "refund", "Refunds", "Within 60 days.", ["refund please"])
    third = reindex(settings, encoder=HashEncoder()).calibration
    assert third.carried_over is None  # 2 of 5 changed since the calibration was made


TITLE_AND_BODY = [
    ("reset-password", "How do I reset my password?", "Open Settings, choose Security and press Reset password. We e-mail you a link that works for one hour."),
    ("refunds", "Can I get my money back for an order?", "Return any item within 30 days for a full refund; the money reaches your card within five working days."),
    ("delivery", "When will my parcel arrive?", "Parcels leave our warehouse the next working day and arrive in two to four days; the tracking link is in your e-mail."),
    ("invoice", "Where do I find my invoice?", "Invoices are under Account, Orders: press Download next to the order to get a PDF for your accounts."),
    ("delete-account", "How do I close my account?", "Write to support from the address of the account; we delete it and its data within 30 days."),
]


def test_calibration_of_a_title_and_body_kb_with_the_ensemble(tmp_path: Path, real_encoders) -> None:
    # How most help centers are written: no example questions. Calibration asks each held-out
    # title; USE reads titles only, so it has nothing left of that article and must not sink it.
    kb = tmp_path / "kb"
    for article_id, title, body in TITLE_AND_BODY:
        write_article(kb, "en", article_id, title, body)
    settings = Settings(kb_dir=str(kb), index_dir=str(tmp_path / "index"), encoder="e5+use")
    calibration = reindex(settings, encoder=real_encoders).calibration
    assert calibration.per_language["en"]["precision"] >= 0.8
    assert calibration.per_language["en"]["answered"] >= 0.6


class CountingEncoder(HashEncoder):
    def __init__(self) -> None:
        super().__init__()
        self.queries: list[str] = []

    def encode_queries(self, texts):
        self.queries += list(texts)
        return super().encode(texts)


def test_the_off_topic_probes_are_encoded_once_not_at_every_reindex(small_kb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.reindex.run
    from bot.answer.calibration import load_probes

    monkeypatch.setattr(bot.reindex.run, "RECALIBRATE_SHARE", 0.0)  # every edit recalibrates
    settings, encoder = settings_for(small_kb, tmp_path), CountingEncoder()
    first = reindex(settings, encoder=encoder).calibration
    probes = {q for _, q in load_probes()}
    assert probes <= set(encoder.queries)
    encoder.queries.clear()
    write_article(small_kb, "en", "shipping", "Shipping times", "Orders ship the same day.", ["when will my order arrive"])
    second = reindex(settings, encoder=encoder).calibration
    assert second.carried_over is None and not probes & set(encoder.queries)
    assert second.uncovered == first.uncovered  # the cached vectors score as the fresh ones did


def test_an_edit_to_a_body_reuses_the_trained_classifiers(small_kb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fits: list[int]) -> None:
    import bot.reindex.run

    monkeypatch.setattr(bot.reindex.run, "RECALIBRATE_SHARE", 0.0)  # every edit recalibrates
    settings = settings_for(small_kb, tmp_path)
    reindex(settings, encoder=HashEncoder())
    trained = len(fits)
    assert trained >= 2  # the KB's classifier and calibration's fold models
    before = SearchIndex(settings.index_dir).classifier

    title, body, questions = SMALL_KB[0][2:]
    write_article(small_kb, "en", "reset-password", title, body + " The link is valid for one hour.", questions)
    reindex(settings, encoder=HashEncoder())
    after = SearchIndex(settings.index_dir).classifier
    assert len(fits) == trained  # titles and example questions are as they were: nothing to learn again
    assert before is not None and after is not None and (after.weights == before.weights).all()

    write_article(small_kb, "en", "reset-password", title, body, [*questions, "my password does not work"])
    reindex(settings, encoder=HashEncoder())
    assert len(fits) > trained  # a new example question is new training data
    snapshots = [p for p in Path(f"{settings.index_dir}.builds").iterdir() if p.is_dir() and not p.name.startswith(".")]
    # The cached models take none of the three snapshots' places.
    assert len(snapshots) == 3 and all((p / "manifest.json").is_file() for p in snapshots)
