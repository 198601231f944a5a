"""The reindex learns each language's centre from what customers asked (index/centring.py)."""

import io
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from bot.config import Settings
from bot.reindex.run import reindex
from bot.store.connect import open_store
from bot.store.model import Store
from index.centring import MIN_MESSAGES
from tests.conftest import write_article


def ask(store: Store, lang: str, text: str) -> None:
    c = store.create_conversation("web", f"visitor-{lang}-{text}", lang)
    asked = store.add_message(c.id, "customer", text).message
    store.add_message(c.id, "bot", "…", lang=lang, action="answer", decision={"action": "answer", "lang": {"lang": lang}, "answers": asked.id})


def settings_for(tmp_path: Path) -> Settings:
    for topic in ("export", "import", "invoice", "backup"):
        write_article(tmp_path / "kb", "en", topic, f"About {topic}", f"All on {topic}.", [f"how do I {topic} {i}" for i in range(4)])
    return Settings(kb_dir=str(tmp_path / "kb"), index_dir=str(tmp_path / "index"), db=str(tmp_path / "desk.db"), encoder="hash")


def manifest(settings: Settings) -> dict:
    return json.loads((Path(settings.index_dir) / "manifest.json").read_text(encoding="utf-8"))


def test_customers_in_two_languages_centre_the_index_and_unchanged_traffic_keeps_it(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    store = open_store(settings.db)
    try:
        reindex(settings, store=store, out=io.StringIO())
        assert manifest(settings)["centring"] is None  # nobody has asked anything yet
        for i in range(MIN_MESSAGES):
            ask(store, "de", f"wie mache ich einen Export {i}")
            ask(store, "kk", f"экспорт қалай жасаймын {i}")
        reindex(settings, store=store, out=io.StringIO())
        first = manifest(settings)
        # Kazakh and German from the customers, English (theirs but for a misread or two) from the KB.
        assert first["centred_languages"] == ["de", "kk", "en"] and first["centring"]
        assert (Path(settings.index_dir) / "centring.npz").exists()
        ask(store, "de", "noch ein Export")  # one more message barely moves a mean: the index keeps its means
        reindex(settings, store=store, out=io.StringIO())
        assert manifest(settings)["centring"] == first["centring"]
        off = replace(settings, language_centring=False)
        reindex(off, store=store, out=io.StringIO())
        assert manifest(off)["centring"] is None and not (Path(off.index_dir) / "centring.npz").exists()
    finally:
        store.close()


def test_customers_in_one_language_leave_the_index_as_it_was(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    store = open_store(settings.db)
    try:
        for i in range(3 * MIN_MESSAGES):
            ask(store, "en", f"how do I export {i}")
        ask(store, "de", "wie exportiere ich")
        reindex(settings, store=store, out=io.StringIO())
        assert manifest(settings)["centring"] is None
        assert np.isfinite(manifest(settings)["fusion"]["background"][0]).all()
    finally:
        store.close()
