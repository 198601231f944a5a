"""Reindexing: validate the KB, check its translations, build a snapshot, calibrate it, publish
it atomically.

Any failure before `publish` removes the half-made snapshot and leaves the live index,
and every server reading it, exactly as it was.

Translations (`index/translations.py`) are compared with what the store recorded of them
(`bot/store/sql_translations.py`): one written since is recorded against its source as it is
now; one whose source changed since is stale: the snapshot marks it (articles.json, `stale`),
so answers from it say so, and the reindex prints it with the way to clear it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import sys
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

import numpy as np
from threadpoolctl import threadpool_limits

from bot.answer.calibration import Calibration, calibrate_estimated
from bot.answer.engine import language_detector
from bot.config import Settings
from bot.store.connect import open_store
from bot.store.model import Store, utc_now
from bot.store.sql_translations import SQLTranslationChecks, open_translation_checks
from bot.suggestions.proof import Proof, after_reindex, describe_proofs
from index.build import BuildReport, build_snapshot, builds_folder, cached_queries, publish
from index.centring import Centring
from index.encoders import Encoder, Encoders, as_encoders, make_encoders
from index.kb import KnowledgeBase, ParsedArticles, load_kb
from index.passages import KINDS
from index.search import SearchIndex
from index.translations import STALE, WRITTEN, Translation, judge, remembered_originals, snapshot_fields, translations
from index.updated import last_updated


log = logging.getLogger(__name__)
CENTRING_MESSAGES = 5000  # the last customer messages each language's centre is learnt from
RECALIBRATE_SHARE = 0.01  # recalibrate once this share of articles (or of parts) changed since the last time
BASE_ROWS = "calibration-rows.npz"  # the parts a calibration was computed on, beside calibration.json


@dataclass(frozen=True)
class TranslationReport:
    translations: int  # versions translated from another version
    written: int  # recorded now: new, edited, or translated from another language than before
    stale: tuple[Translation, ...]  # their source changed since they were written or checked
    unchecked: str = ""  # why they were not compared (no store yet), else ""


@dataclass(frozen=True)
class ReindexReport:
    kb: KnowledgeBase
    build: BuildReport | None
    calibration: Calibration | None
    translations: TranslationReport | None = None
    proofs: tuple[Proof, ...] = ()  # the accepted suggestions' questions, asked again of the new index


def reindex(
    settings: Settings,
    check: bool = False,
    encoder: Encoder | Encoders | None = None,
    show_progress: bool | None = None,
    store: Store | None = None,
    out: TextIO | None = None,
    clock: Callable[[], datetime] = utc_now,
    checked: tuple[TranslationReport, dict[tuple[str, str], dict[str, object]]] | None = None,
    progress: Callable[[str], None] | None = None,
) -> ReindexReport:
    """Rebuild the index from settings.kb_dir into settings.index_dir (or only validate).

    Translations are checked against `store`, else against the store ANSWERDESK_DB names when
    the KB has translations and that store exists (a reindex creates no conversation store);
    stale ones are printed to `out` (default: standard output). `checked` is that comparison when
    the caller made it already (the console's job, in the process that has the store); `progress`
    is told each step as it starts.

    Every BLAS and OpenMP pool (numpy's products, sklearn, FAISS, e5) uses at most
    settings.threads threads meanwhile, the classifier one."""
    parsed = ParsedArticles(builds_folder(settings.index_dir) / "parsed-articles.pickle")
    kb = load_kb(settings.kb_dir, parsed)
    if check:
        return ReindexReport(kb, None, None)
    parsed.save(kb)
    updated = last_updated([a.path for a in kb.articles], {a.path: a.updated for a in kb.articles})
    report, flags = checked or _check_translations(settings, kb, updated, store, clock)
    tell = progress or (lambda step: None)
    # One BLAS thread per encoding process: on 2 cores two processes beat one with two threads;
    # an encoder that cannot be forked (e5) takes the build's threads itself, within settings.threads.
    threads = max(1, min(settings.threads, settings.build_threads))
    encoder = encoder or make_encoders(settings.encoder, threads=1, unforkable_threads=threads)
    with threadpool_limits(limits=max(1, settings.threads)):
        tell("reading the customers' languages")
        centring = _language_centring(settings, encoder, store, clock, kb.served().languages)
        detector = language_detector(settings, sorted(kb.served().languages))  # as the engine reads the snapshot's
        tell("building the index")
        snapshot, build = build_snapshot(
            kb, encoder, settings.index_dir, settings.ann_min_vectors, show_progress, workers=settings.build_threads, updated=updated,
            translations=flags, centring=centring, language_of=lambda text: detector.detect(text).lang,
        )
        try:
            tell("calibrating")
            calibration = _carried_forward(settings.index_dir, snapshot)
            if calibration is None:
                built = SearchIndex(snapshot)
                calibration = calibrate_estimated(built, encoder, detector=detector)
                calibration.base = snapshot_hashes(snapshot)
                _save_base_rows(snapshot, snapshot)
            else:
                _save_base_rows(Path(settings.index_dir).resolve(), snapshot)
            (snapshot / "calibration.json").write_text(calibration.to_json(), encoding="utf-8")
            tell("publishing")
            publish(snapshot, settings.index_dir)
        except BaseException:
            shutil.rmtree(snapshot, ignore_errors=True)
            raise
    if report.stale or report.unchecked:
        print("\n".join(describe_stale(report.stale) if report.stale else [report.unchecked]), file=out or sys.stdout)
    tell("asking accepted suggestions again")
    proofs = _reask(settings, encoder, store, clock)
    if proofs:
        print("\n".join(describe_proofs(proofs)), file=out or sys.stdout)
    return ReindexReport(kb, build, calibration, report, tuple(proofs))


def check_kb_translations(
    settings: Settings, store: Store | None = None, clock: Callable[[], datetime] = utc_now
) -> tuple[TranslationReport, dict[tuple[str, str], dict[str, object]]]:
    """The first steps of `reindex` alone: validate the KB and compare its translations with their
    records (for `reindex(checked=...)` in another process)."""
    parsed = ParsedArticles(builds_folder(settings.index_dir) / "parsed-articles.pickle")
    kb = load_kb(settings.kb_dir, parsed)
    parsed.save(kb)
    updated = last_updated([a.path for a in kb.articles], {a.path: a.updated for a in kb.articles})
    return _check_translations(settings, kb, updated, store, clock)


def check_translations(
    kb: KnowledgeBase, updated: dict[str, str], default_lang: str, checks: SQLTranslationChecks
) -> tuple[TranslationReport, dict[tuple[str, str], dict[str, object]]]:
    """Compare every translation with its record: record those written since, find the stale ones;
    with each version's fields for the snapshot."""
    recorded = {key: check.recorded for key, check in checks.all().items()}
    found = translations(kb, updated, default_lang, remembered_originals(recorded))
    states = {(t.article_id, t.lang): judge(t, recorded.get((t.article_id, t.lang))) for t in found}
    written = [t for t in found if states[(t.article_id, t.lang)] == WRITTEN]
    checks.record(written)
    checks.forget(key for key in recorded if key not in states)
    stale = tuple(t for t in found if states[(t.article_id, t.lang)] == STALE)
    flags = {(t.article_id, t.lang): snapshot_fields(t, states[(t.article_id, t.lang)]) for t in found}
    return TranslationReport(len(found), len(written), stale), flags


def describe_stale(stale: tuple[Translation, ...]) -> list[str]:
    """The reindex's lines about stale translations: each file, its source, and how to clear it."""
    lines = [f"{len(stale)} translation(s) may be out of date: the version they were translated from changed since they were written or checked"]
    for t in stale:
        since = f" (updated {t.source_updated})" if t.source_updated else ""
        lines.append(f"  {t.path} [{t.lang}]: its source {t.source_path} [{t.source_lang}]{since} changed")
    lines.append(
        "  to clear one: update the translation and reindex, or, if it still says the same, mark it checked in the agent "
        "console (Translations, /agent/translations); the bot notes it under answers until the next reindex after that"
    )
    return lines


def _check_translations(
    settings: Settings, kb: KnowledgeBase, updated: dict[str, str], store: Store | None, clock: Callable[[], datetime]
) -> tuple[TranslationReport, dict[tuple[str, str], dict[str, object]]]:
    if all(len(kb.versions(article_id)) < 2 for article_id in kb.article_ids):
        return TranslationReport(0, 0, ()), {}
    if store is not None:
        return check_translations(kb, updated, settings.default_language, open_translation_checks(store, clock))
    missing = _missing_store(settings.db)
    if missing:
        why = (f"translations not checked: the store ANSWERDESK_DB names ({missing}) does not exist yet; "
               "'answerdesk serve' creates it: reindex again after")
        return TranslationReport(0, 0, (), why), {}
    own = open_store(settings.db, clock=clock, busy_timeout=settings.db_busy_timeout, synchronous=settings.sqlite_synchronous)
    try:
        return check_translations(kb, updated, settings.default_language, open_translation_checks(own, clock))
    finally:
        own.close()


def _language_centring(
    settings: Settings, encoder: Encoder | Encoders, store: Store | None, clock: Callable[[], datetime], kb_langs: Collection[str]
) -> Centring | None:
    """Each language's centre, from the customer messages in `store` (else in the store
    ANSWERDESK_DB names, if it exists); None when switched off or too few languages have enough."""
    if not settings.language_centring or (store is None and _missing_store(settings.db)):
        return None
    own = store or open_store(settings.db, clock=clock, busy_timeout=settings.db_busy_timeout, synchronous=settings.sqlite_synchronous)
    try:
        messages = own.recent_customer_texts(CENTRING_MESSAGES)
    finally:
        if store is None:
            own.close()
    encoders, cache = as_encoders(encoder), builds_folder(settings.index_dir)
    # Kept beside the snapshots, as the probes' vectors are: a reindex encodes only new questions.
    encode = lambda texts, passages: cached_queries(encoders, texts, cache, "centring-" + ("passage" if passages else "query"), as_passages=passages)  # noqa: E731
    centring = Centring.from_messages(messages, encode, kb_langs)
    if centring is not None and Path(settings.index_dir).is_dir():
        # Means that barely moved keep the live ones: the index's vectors, its graph and its
        # calibration then carry over, and answers do not shift with every day's traffic.
        live = Centring.load(Path(settings.index_dir).resolve(), len(encoders.members))
        if centring.close_to(live):
            return live
    return centring


def _reask(settings: Settings, encoder: Encoder | Encoders, store: Store | None, clock: Callable[[], datetime]) -> list[Proof]:
    """Ask every accepted suggestion's question of the index just published (bot/suggestions/proof.py),
    in `store`, else in the store ANSWERDESK_DB names if it exists. The index is served already:
    a failure here is reported, not raised."""
    if store is None and _missing_store(settings.db):
        return []
    own = store or open_store(settings.db, clock=clock, busy_timeout=settings.db_busy_timeout, synchronous=settings.sqlite_synchronous)
    try:
        return after_reindex(settings, encoder, own, clock)
    except Exception:  # noqa: BLE001 - the new index is published; the proof waits for the next reindex
        log.warning("asking the accepted suggestions again failed", exc_info=True)
        return []
    finally:
        if store is None:
            own.close()


def snapshot_hashes(snapshot: Path) -> dict[str, str]:
    """The per-article content hashes a snapshot was built from."""
    return json.loads((snapshot / "article_hashes.json").read_text(encoding="utf-8"))


def _carried_forward(index_dir: str, snapshot: Path) -> Calibration | None:
    """The live calibration, if the KB changed too little since it was made to move it.

    Calibration estimates score distributions over the whole KB; editing a few of ten
    thousand articles does not move them, and recomputing them is most of a one-edit reindex.
    In a small KB one article is over 1%; there an edit that changed no title or example
    question (what calibration holds out and the classifier learns from) and at most 1% of
    the parts carries it too: its questions, probes and classifiers are the same, and a few
    body passages of a thousand do not move the quantiles (bench/reindex_impact.py compares
    the thresholds carried with a full recalibration's). Both shares are counted against the
    KB as it was calibrated, so many small edits add up.
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
    if changed > RECALIBRATE_SHARE * len(current) and not _few_parts_changed(live.resolve(), snapshot):
        return None
    calibration = Calibration.from_dict(previous)
    calibration.carried_over = changed
    return calibration


def _few_parts_changed(calibrated: Path, snapshot: Path) -> bool:
    """No title or example question changed since `calibrated`'s calibration was made, and at
    most RECALIBRATE_SHARE of the parts; False when that calibration did not keep its parts."""
    try:
        with np.load(calibrated / BASE_ROWS) as data:
            base_examples, base_parts = Counter(data["examples"].tolist()), Counter(data["parts"].tolist())
    except (OSError, KeyError, ValueError):
        return False
    examples, parts = _row_identities(snapshot)
    if Counter(examples) != base_examples:
        return False
    changed = sum(((base_parts - Counter(parts)) + (Counter(parts) - base_parts)).values())
    return changed <= RECALIBRATE_SHARE * (len(examples) + len(parts))


def _row_identities(snapshot: Path) -> tuple[list[str], list[str]]:
    """Each live row of a snapshot as its article's id and its text's key, hashed: (titles and
    example questions, body passages). Prototypes follow their examples and are left out."""
    ids = json.loads((snapshot / "articles.json").read_text(encoding="utf-8"))["ids"]
    with np.load(snapshot / "rows.npz") as data:
        article, kind, key = data["article"], data["kind"], data["key"]
    examples: list[str] = []
    parts: list[str] = []
    example_kinds = (KINDS.index("title"), KINDS.index("question"))
    for row in np.flatnonzero((article >= 0) & (kind != KINDS.index("proto"))).tolist():
        identity = hashlib.blake2b(ids[article[row]].encode() + b"\0" + key[row].tobytes(), digest_size=16).hexdigest()
        (examples if kind[row] in example_kinds else parts).append(identity)
    return examples, parts


def _save_base_rows(calibrated: Path, snapshot: Path) -> None:
    """Record in `snapshot` the parts of the KB its calibration was made on: `calibrated`'s own
    when it is the snapshot, else the record `calibrated` kept (none if it kept none)."""
    if calibrated != snapshot:
        if (calibrated / BASE_ROWS).exists():
            shutil.copyfile(calibrated / BASE_ROWS, snapshot / BASE_ROWS)
        return
    examples, parts = _row_identities(snapshot)
    np.savez(snapshot / BASE_ROWS, examples=np.array(examples, dtype="U32"), parts=np.array(parts, dtype="U32"))


def _scoring(manifest: dict) -> dict:
    """The scoring parameters of a snapshot, without what its KB's content moves a little."""
    return {**{k: v for k, v in manifest.get("fusion", {}).items() if k != "background"}, "centring": manifest.get("centring")}


def write_calibration(index_dir: str | Path, calibration: Calibration) -> Path:
    """Store a recalibration beside the live snapshot it was computed on."""
    calibration.base = snapshot_hashes(Path(index_dir).resolve())
    _save_base_rows(Path(index_dir).resolve(), Path(index_dir).resolve())
    target = Path(index_dir).resolve() / "calibration.json"
    tmp = target.with_suffix(".tmp")
    tmp.write_text(calibration.to_json(), encoding="utf-8")
    tmp.replace(target)
    return target


def _missing_store(url: str) -> str:
    """The SQLite file `url` names when it does not exist yet (or is in memory), else "".

    The reindex records in the store the server keeps its conversations in, and creates none:
    an index built where no server runs (or in a test) writes nothing beside itself."""
    target = url.strip()
    if target.startswith(("postgresql://", "postgres://")):
        return ""
    if target.startswith("sqlite://"):  # read as bot.store.connect.open_store reads it
        path = target[len("sqlite://"):]
        path = path[1:] if path.startswith("/") else ""
    else:
        path = "" if "://" in target else target
    if not path:
        return ""  # open_store says what is wrong with it
    return path if path == ":memory:" or not Path(path).is_file() else ""
