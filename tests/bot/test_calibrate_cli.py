"""`answerdesk calibrate CASES.jsonl`: thresholds from labelled questions, each read in its language."""

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.reindex.run import reindex
from bot.config import Settings
from tests.conftest import SMALL_KB, write_article


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for lang, article_id, title, body, questions in SMALL_KB:
        write_article(tmp_path / "kb", lang, article_id, title, body, questions)
    for name, value in {"ANSWERDESK_KB": tmp_path / "kb", "ANSWERDESK_INDEX": tmp_path / "index", "ANSWERDESK_ENCODER": "hash",
                        "ANSWERDESK_DB": tmp_path / "answerdesk.db"}.items():
        monkeypatch.setenv(name, str(value))
    settings = Settings.from_env()
    reindex(settings)
    return settings


def write_cases(path: Path, rows: list) -> Path:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)) + "\n" for row in rows), encoding="utf-8")
    return path


def test_labelled_cases_set_the_thresholds_and_unmarked_ones_count_in_their_own_language(site: Settings, tmp_path: Path, capsys) -> None:
    cases = write_cases(tmp_path / "cases.jsonl", [
        {"text": "I forgot my password", "article_id": "reset-password"},
        {"text": "Ich habe mein Passwort vergessen und kann mich nicht anmelden", "article_id": "reset-password"},
        {"text": "Şifremi unuttum, nasıl sıfırlarım?", "article_id": "reset-password", "lang": "tr"},
        {"text": "when will my order arrive", "article_id": "shipping"},
        {"text": "what is the capital of Peru", "article_id": None},
    ])
    assert main(["calibrate", str(cases)]) == 0
    assert "calibrated on 4 covered and 1 uncovered questions" in capsys.readouterr().out
    written = json.loads((Path(site.index_dir).resolve() / "calibration.json").read_text(encoding="utf-8"))
    assert written["source"] == "labelled"
    # No "lang" on the German case: it is read as the engine reads a customer's message.
    assert {lang: row["covered_questions"] for lang, row in written["per_language"].items() if row["covered_questions"]} == {"en": 2, "de": 1, "tr": 1}


def test_a_bad_line_is_named_and_the_calibration_is_left_as_it_was(site: Settings, tmp_path: Path, capsys) -> None:
    served = Path(site.index_dir).resolve() / "calibration.json"
    before = served.read_bytes()
    cases = write_cases(tmp_path / "cases.jsonl", [{"text": "I forgot my password", "article_id": "reset-password"}, "{not json"])
    assert main(["calibrate", str(cases)]) != 0
    assert f"{cases}:2: each line must be a JSON object with 'text' and 'article_id'" in capsys.readouterr().err
    unknown = write_cases(tmp_path / "unknown.jsonl", [{"text": "where is my parcel", "article_id": "parcels"}])
    assert main(["calibrate", str(unknown)]) != 0
    assert "article ids not in the index: parcels" in capsys.readouterr().err
    assert served.read_bytes() == before
