"""Reindexing: validate the KB, build a snapshot, calibrate it, publish it atomically.

Any failure before `publish` removes the half-made snapshot and leaves the live index,
and every server reading it, exactly as it was.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from bot.calibration import Calibration, calibrate_estimated
from bot.config import Settings
from index.build import BuildReport, build_snapshot, publish
from index.encoders import Encoder, make_encoder
from index.kb import KnowledgeBase, load_kb
from index.search import SearchIndex


@dataclass(frozen=True)
class ReindexReport:
    kb: KnowledgeBase
    build: BuildReport | None
    calibration: Calibration | None


def reindex(settings: Settings, check: bool = False, encoder: Encoder | None = None, show_progress: bool | None = None) -> ReindexReport:
    """Rebuild the index from settings.kb_dir into settings.index_dir (or only validate)."""
    kb = load_kb(settings.kb_dir)
    if check:
        return ReindexReport(kb, None, None)
    # One BLAS thread per encoding process: on 2 cores two processes beat one with two threads.
    encoder = encoder or make_encoder(settings.encoder, threads=1)
    snapshot, build = build_snapshot(kb, encoder, settings.index_dir, settings.ann_min_vectors, show_progress, workers=settings.build_threads)
    try:
        calibration = calibrate_estimated(SearchIndex(snapshot), encoder)
        (snapshot / "calibration.json").write_text(calibration.to_json(), encoding="utf-8")
        publish(snapshot, settings.index_dir)
    except BaseException:
        shutil.rmtree(snapshot, ignore_errors=True)
        raise
    return ReindexReport(kb, build, calibration)


def write_calibration(index_dir: str | Path, calibration: Calibration) -> Path:
    """Store a recalibration beside the live snapshot it was computed on."""
    target = Path(index_dir).resolve() / "calibration.json"
    tmp = target.with_suffix(".tmp")
    tmp.write_text(calibration.to_json(), encoding="utf-8")
    tmp.replace(target)
    return target
