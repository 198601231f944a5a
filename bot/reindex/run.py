"""Reindexing: validate the KB, build a snapshot, calibrate it, publish it atomically.

Any failure before `publish` removes the half-made snapshot and leaves the live index,
and every server reading it, exactly as it was.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from bot.answer.calibration import Calibration, calibrate_estimated
from bot.config import Settings
from index.build import BuildReport, build_snapshot, builds_folder, publish
from index.encoders import Encoder, Encoders, make_encoders
from index.kb import KnowledgeBase, ParsedArticles, load_kb
from index.search import SearchIndex


RECALIBRATE_SHARE = 0.01  # recalibrate once this share of articles changed since the last time


@dataclass(frozen=True)
class ReindexReport:
    kb: KnowledgeBase
    build: BuildReport | None
    calibration: Calibration | None


def reindex(settings: Settings, check: bool = False, encoder: Encoder | Encoders | None = None, show_progress: bool | None = None) -> ReindexReport:
    """Rebuild the index from settings.kb_dir into settings.index_dir (or only validate)."""
    parsed = ParsedArticles(builds_folder(settings.index_dir) / "parsed-articles.pickle")
    kb = load_kb(settings.kb_dir, parsed)
    if check:
        return ReindexReport(kb, None, None)
    parsed.save(kb)
    # One BLAS thread per encoding process: on 2 cores two processes beat one with two threads;
    # an encoder that cannot be forked (e5) takes the build's threads itself.
    encoder = encoder or make_encoders(settings.encoder, threads=1, unforkable_threads=settings.build_threads)
    snapshot, build = build_snapshot(kb, encoder, settings.index_dir, settings.ann_min_vectors, show_progress, workers=settings.build_threads)
    try:
        calibration = _carried_forward(settings.index_dir, snapshot) or calibrate_estimated(SearchIndex(snapshot), encoder)
        if calibration.carried_over is None:
            calibration.base = snapshot_hashes(snapshot)
        (snapshot / "calibration.json").write_text(calibration.to_json(), encoding="utf-8")
        publish(snapshot, settings.index_dir)
    except BaseException:
        shutil.rmtree(snapshot, ignore_errors=True)
        raise
    return ReindexReport(kb, build, calibration)


def snapshot_hashes(snapshot: Path) -> dict[str, str]:
    """The per-article content hashes a snapshot was built from."""
    return json.loads((snapshot / "article_hashes.json").read_text(encoding="utf-8"))


def _carried_forward(index_dir: str, snapshot: Path) -> Calibration | None:
    """The live calibration, if the KB changed too little since it was made to move it.

    Calibration estimates score distributions over the whole KB; editing a few of ten
    thousand articles does not move them, and recomputing them is most of a one-edit reindex.
    The share is counted against the KB as it was calibrated, so many small edits add up.
    """
    live = Path(index_dir)
    try:
        previous = json.loads((live.resolve() / "calibration.json").read_text(encoding="utf-8"))
        old_manifest = json.loads((live.resolve() / "manifest.json").read_text(encoding="utf-8"))
        new_manifest = json.loads((snapshot / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if old_manifest.get("encoder") != new_manifest.get("encoder") or not previous.get("base"):
        return None
    if _scoring(old_manifest) != _scoring(new_manifest):
        return None  # scores are on another scale: the thresholds do not carry
    current = snapshot_hashes(snapshot)
    base = previous["base"]
    changed = sum(1 for k in set(base) | set(current) if base.get(k) != current.get(k))
    if changed > RECALIBRATE_SHARE * len(current):
        return None
    calibration = Calibration.from_dict(previous)
    calibration.carried_over = changed
    return calibration


def _scoring(manifest: dict) -> dict:
    """The scoring parameters of a snapshot, without what its KB's content moves a little."""
    return {k: v for k, v in manifest.get("fusion", {}).items() if k != "background"}


def write_calibration(index_dir: str | Path, calibration: Calibration) -> Path:
    """Store a recalibration beside the live snapshot it was computed on."""
    calibration.base = snapshot_hashes(Path(index_dir).resolve())
    target = Path(index_dir).resolve() / "calibration.json"
    tmp = target.with_suffix(".tmp")
    tmp.write_text(calibration.to_json(), encoding="utf-8")
    tmp.replace(target)
    return target
