"""Fusion, hub damping and the same-language preference, on small hand-made KBs."""

from dataclasses import replace
from pathlib import Path

import numpy as np

from bot.config import Settings
from bot.reindex.run import reindex
from index.encoders import HashEncoder
from index.scoring import Fusion, fuse, hub_scores
from index.search import SearchIndex

from tests.conftest import write_article


def test_a_part_like_every_question_has_a_high_hub_score() -> None:
    broad = np.array([1.0, 1.0, 1.0]) / np.sqrt(3)
    specific = np.array([1.0, 0.0, 0.0])
    questions = np.eye(3)  # one question per other article, each along one axis
    hub = hub_scores(np.stack([broad, specific]), questions, np.array([0, 1]), np.array([2, 3, 4]), k=2)
    assert hub[0] > hub[1]


def test_a_part_is_not_damped_by_its_own_articles_questions() -> None:
    part = np.array([[1.0, 0.0]])
    own, other = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    assert hub_scores(part, np.vstack([own, other]), np.array([0]), np.array([0, 1]), k=1)[0] == 0.0


def test_encoder_weights_follow_the_language() -> None:
    fusion = Fusion(background=((0.0, 1.0), (0.0, 1.0)), weights=(0.6, 0.4), languages=(None, ("en", "tr")))
    assert fusion.encoder_weights("tr").tolist() == [0.6, 0.4]
    assert fusion.encoder_weights("da").tolist() == [1.0, 0.0]  # the second encoder does not know Danish
    assert fusion.encoder_weights(None).tolist() == [0.6, 0.4]


def test_an_encoder_with_nothing_to_go_by_is_not_heard() -> None:
    # Calibration holds out the title of a title-and-body article: an encoder that reads only
    # titles has nothing left of it, and must not sink the article the other encoder finds.
    fusion = Fusion(background=((0.0, 1.0), (0.0, 1.0)), weights=(0.5, 0.5), languages=(None, None))
    has_examples = np.array([False, False])
    both = fuse([np.array([3.0, 1.0]), np.array([np.nan, 1.0])], fusion, "en", has_examples)
    assert both[0] == fuse([np.array([3.0]), np.array([3.0])], fusion, "en", has_examples[:1])[0]
    assert both[0] > both[1]
    assert fuse([np.array([np.nan]), np.array([np.nan])], fusion, "en", has_examples[:1])[0] == -1.0


TOPICS = ("export", "import", "backup", "invoice", "user")


class TopicEncoder:
    """Counts topic words: a stand-in for meaning, so a passage naming every topic is a hub."""

    name, dim, languages = "topics:1", 7, None

    def encode(self, texts):
        out = []
        for text in texts:
            counts = [text.lower().count(t) for t in TOPICS]
            vector = np.array([0.5 * max(max(counts), 1), *counts, 0.1], dtype=np.float32)
            out.append(vector / np.linalg.norm(vector))
        return np.stack(out)

    encode_queries = encode


HUB_KB = [
    # A broad article whose one passage names everything the specific ones are about.
    ("en", "what-is-acme", "What is Acme", "Acme does export, import, backup, invoice and user management in one place.", []),
    ("en", "acme-export", "Exporting your data", "Press Export in the toolbar to get a spreadsheet.", ["how do I export my acme data"]),
    ("en", "acme-import", "Importing data", "Press Import and choose a spreadsheet.", ["how do I import data into acme"]),
    ("en", "acme-backup", "Backups", "Backups run every night.", ["does acme keep a backup"]),
    ("en", "acme-billing", "Your invoices", "Every invoice is sent on the first of the month.", ["where is my acme invoice"]),
    ("en", "acme-users", "Adding a user", "Invite a user from the Team page.", ["how do I add an acme user"]),
]


def _index(tmp_path: Path, articles, encoder=None) -> SearchIndex:
    for lang, article_id, title, body, questions in articles:
        write_article(tmp_path / "kb", lang, article_id, title, body, questions)
    settings = Settings(kb_dir=str(tmp_path / "kb"), index_dir=str(tmp_path / "index"), encoder="hash")
    reindex(settings, encoder=encoder or HashEncoder())
    return SearchIndex(settings.index_dir)


def test_a_broad_article_does_not_beat_the_specific_one(tmp_path: Path) -> None:
    index = _index(tmp_path, HUB_KB, TopicEncoder())
    index.fusion = replace(index.fusion, second_share=0.0)  # the best part alone speaks for an article here
    # Mostly about exporting, naming importing and backups on the way.
    question = TopicEncoder().encode(["export export export export export, import import import import, backup backup backup backup"])
    damped = index.search([question[0]], k=2, classifier=None)
    index.fusion = replace(index.fusion, hub_weight=0.0)
    undamped = index.search([question[0]], k=2, classifier=None)
    assert undamped[0].article_id == "what-is-acme"  # without damping the broad passage wins
    assert damped[0].article_id == "acme-export"


def test_close_articles_prefer_the_customers_language(tmp_path: Path) -> None:
    # The same product name in both: the text alone cannot tell them apart.
    index = _index(tmp_path, [
        ("en", "acme-pro-en", "Acme Pro X200", "Acme Pro X200.", ["Acme Pro X200"]),
        ("de", "acme-pro-de", "Acme Pro X200", "Acme Pro X200.", ["Acme Pro X200"]),
        ("en", "other", "Something else entirely", "Nothing to do with it.", ["unrelated words here"]),
    ])
    question = HashEncoder().encode(["Acme Pro X200"])[0]
    assert index.search([question], k=1, lang="de", classifier=None)[0].article_id == "acme-pro-de"
    assert index.search([question], k=1, lang="en", classifier=None)[0].article_id == "acme-pro-en"


def test_the_best_passage_comes_with_the_answer(tmp_path: Path) -> None:
    index = _index(tmp_path, [
        ("en", "guide", "The guide", "## Printing\n\nPress the printer icon to print a page.\n\n## Sharing\n\nPress Share and pick a colleague.", []),
        ("en", "other", "Something else", "Unrelated.", []),
    ])
    best = index.search([HashEncoder().encode(["press share and pick a colleague"])[0]], k=1, classifier=None)[0]
    assert best.kind == "passage" and "Press Share and pick a colleague" in best.passage


def test_in_a_kb_with_body_only_articles_every_body_is_scored_by_its_parts(tmp_path: Path) -> None:
    """An intent (title and questions) is scored by its best question and their prototype. While
    some articles with a body have no questions, an article with a body and a few (accepted)
    questions is scored by its parts, as its body-only rivals are; once every one has questions,
    by its questions."""
    kb = [
        ("en", "intent", "Track an order", "", ["where is my parcel", "track my order"]),
        ("en", "guide", "Shipping", "Parcels ship within two days.", ["how long does shipping take"]),
        ("en", "plain", "Returns", "Send it back within 30 days.", []),
    ]
    index = _index(tmp_path / "mixed", kb)
    assert dict(zip(index.ids, index.has_examples.tolist())) == {"intent": True, "guide": False, "plain": False}
    kb[2] = ("en", "plain", "Returns", "Send it back within 30 days.", ["can I return it"])
    index = _index(tmp_path / "all", kb)
    assert dict(zip(index.ids, index.has_examples.tolist())) == {"intent": True, "guide": True, "plain": True}
