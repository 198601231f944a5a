"""Language centring (index/centring.py): the means, and what they change in a search."""

from pathlib import Path

import numpy as np
import pytest

from index.build import build_snapshot, publish
from index.centring import MIN_MESSAGES, SHARE, Centring
from index.kb import load_kb
from index.search import SearchIndex
from tests.conftest import write_article

TOPICS = ("export", "import", "invoice", "backup")
LANGS = ("en", "kk")


class LanguageEncoder:
    """A text's language ("[kk] " marks Kazakh) weighs more than its topic, as in a multilingual
    encoder whose sentences of one language sit near that language's centre."""

    name, dim, languages = "language-topics:1", 7, None

    def encode(self, texts):
        out = []
        for text in texts:
            lang = [1.5 * ((LANGS[1] if text.startswith("[kk] ") else LANGS[0]) == name) for name in LANGS]
            vector = np.array([*lang, *(text.count(t) for t in TOPICS), 0.1], dtype=np.float32)
            out.append(vector / np.linalg.norm(vector))
        return np.stack(out) if out else np.zeros((0, self.dim), np.float32)

    encode_queries = encode


def language_of(text: str) -> str:
    return "kk" if text.startswith("[kk] ") else "en"


def means(asked: list[tuple[str, str]], kb_langs: tuple[str, ...] = ()) -> Centring | None:
    """The means of `asked`, encoded by LanguageEncoder (the same vectors as questions and as passages)."""
    return Centring.from_messages(asked, lambda texts, passages: [LanguageEncoder().encode(texts)], kb_langs)


def messages(per_language: int = 12) -> list[tuple[str, str]]:
    """Customers' questions on every topic in both languages, newest first."""
    return [(lang, f"{'[kk] ' if lang == 'kk' else ''}about {TOPICS[i % len(TOPICS)]}") for i in range(per_language) for lang in LANGS]


def test_no_means_until_two_languages_have_enough_messages() -> None:
    assert means([m for m in messages() if m[0] == "en"]) is None
    few_kk = [m for m in messages() if m[0] == "en"] + [m for m in messages() if m[0] == "kk"][: MIN_MESSAGES - 1]
    assert means(few_kk) is None
    centring = means(messages())
    assert centring is not None and centring.langs == ("en", "kk")


def test_each_language_loses_its_own_mean_and_an_unknown_one_the_average(tmp_path: Path) -> None:
    encoder = LanguageEncoder()
    centring = means(messages())
    assert centring is not None
    kk_mean = encoder.encode([t for lang, t in messages() if lang == "kk"]).mean(axis=0)
    assert np.allclose(centring.query[0][1], kk_mean, atol=1e-6)
    assert np.allclose(centring.query[0][-1], (centring.query[0][0] + kk_mean) / 2, atol=1e-6)
    vector = encoder.encode(["[kk] about export"])
    centred = centring.centre(0, vector, ["kk"], "query")
    expected = vector[0] - SHARE * kk_mean
    assert np.allclose(centred[0], expected / np.linalg.norm(expected), atol=1e-6)
    unknown = centring.centre(0, vector, ["tr"], "query")
    expected = vector[0] - SHARE * centring.query[0][-1]
    assert np.allclose(unknown[0], expected / np.linalg.norm(expected), atol=1e-6)
    # What a snapshot keeps reads back the same, key and all.
    centring.save(tmp_path)
    loaded = Centring.load(tmp_path, 1)
    assert loaded is not None and loaded.langs == centring.langs and loaded.key == centring.key
    assert Centring.load(tmp_path / "none", 1) is None


def test_the_kbs_own_languages_take_their_means_from_its_examples() -> None:
    encoder = LanguageEncoder()
    # Customers wrote English and Kazakh; English is the KB's: its mean comes from the KB.
    centring = means(messages(), kb_langs=("en",))
    assert centring is not None and centring.langs == ("kk",)
    examples = [f"how do I {t}" for t in TOPICS] * 3
    vectors = encoder.encode(examples)
    completed = centring.with_kb_languages(["en"] * len(examples), [vectors], [vectors])
    assert completed.langs == ("kk", "en")
    assert np.allclose(completed.passage[0][1], vectors.mean(axis=0), atol=1e-6)
    assert np.allclose(completed.query[0][-1], (centring.query[0][0] + vectors.mean(axis=0)) / 2, atol=1e-6)
    assert completed.with_kb_languages(["en"] * len(examples), [vectors * 0], [vectors * 0]) is completed  # a mean it has is kept
    # Customers who all write the KB's languages give no means of their own.
    only_kb = means(messages(), kb_langs=("en", "kk"))
    assert only_kb is not None and only_kb.langs == ()


def test_means_that_barely_moved_are_close_and_new_languages_are_not() -> None:
    before = means(messages())
    same = means(messages()[2:])  # one message fewer per language
    assert same is not None and same.close_to(before)
    moved = means([(lang, f"{'[kk] ' if lang == 'kk' else ''}about invoice") for lang, _ in messages()])
    assert moved is not None and not moved.close_to(before)
    more = means(messages() + [("de", f"x {i}") for i in range(MIN_MESSAGES)])
    assert more is not None and not more.close_to(before)
    assert not same.close_to(None)


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    write_article(root, "en", "export", "Exporting data", "Press Export.", ["how do I export"])
    # A question the desk added in Kazakh: raw, every Kazakh question resembles it.
    write_article(root, "en", "import", "Importing data", "Press Import.", ["how do I import", "[kk] import"])
    write_article(root, "en", "invoice", "Your invoices", "Sent monthly.", ["where is my invoice"])
    write_article(root, "en", "backup", "Backups", "Nightly.", ["is there a backup"])
    return root


def _search(kb: Path, tmp_path: Path, name: str, centring: Centring | None) -> SearchIndex:
    snapshot, _ = build_snapshot(load_kb(kb), LanguageEncoder(), tmp_path / name, centring=centring, language_of=language_of)
    publish(snapshot, tmp_path / name)
    return SearchIndex(tmp_path / name)


def test_a_question_finds_the_article_about_it_not_the_one_with_a_question_in_its_language(kb: Path, tmp_path: Path) -> None:
    centring = means(messages())
    raw = _search(kb, tmp_path, "raw", None)
    centred = _search(kb, tmp_path, "centred", centring)
    question = LanguageEncoder().encode_queries(["[kk] export"])[0]
    assert raw.search([question], k=1, lang="kk", classifier=None)[0].article_id == "import"
    assert centred.search([question], k=1, lang="kk", classifier=None)[0].article_id == "export"
    assert centred.centring is not None and centred.manifest["centring"] == centred.centring.key
    assert raw.centring is None and raw.manifest["centring"] is None
    # An English question is answered as before.
    english = LanguageEncoder().encode_queries(["how do I import"])[0]
    assert centred.search([english], k=1, lang="en")[0].article_id == "import"


def test_an_edit_reuses_the_graph_only_while_the_means_stay_the_same(kb: Path, tmp_path: Path) -> None:
    centring = means(messages())
    other = means([(lang, f"{'[kk] ' if lang == 'kk' else ''}about invoice") for lang, _ in messages()])

    def build(means: Centring | None) -> str:
        snapshot, report = build_snapshot(load_kb(kb), LanguageEncoder(), tmp_path / "index", ann_min_vectors=1, centring=means, language_of=language_of)
        publish(snapshot, tmp_path / "index")
        return report.index_type

    assert build(centring) == "hnsw16"
    write_article(kb, "en", "users", "Adding a user", "Invite them.", ["how do I add a user"])
    assert build(centring).startswith("hnsw16 (previous graph")
    write_article(kb, "en", "users", "Adding a user", "Invite them from the Team page.", ["how do I add a user"])
    assert build(other) == "hnsw16"  # vectors centred with other means are not comparable
    assert build(None) == "hnsw16"
