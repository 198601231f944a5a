import string
import tomllib
from importlib import resources

import pytest

from bot.answer.phrases import language_name, phrase, phrase_languages

REQUIRED_KEYS = {
    "greeting", "help", "clarify_prompt", "clarify_none_option", "answer_other_language",
    "handoff_not_covered", "handoff_requested", "handoff_after_negative_feedback", "agent_joined",
    "feedback_question", "feedback_yes", "feedback_no", "feedback_thanks", "offer_person",
    "outside_hours", "ask_email", "email_invalid", "ticket_created", "no_agent_available",
    "conversation_closed", "back_to_bot", "csat_question", "csat_thanks", "unsupported_content",
    "empty_message",
}
XSID_AND_SPANISH = {"ar", "da", "de", "en", "id", "it", "ja", "kk", "nl", "sr", "tr", "zh", "es"}


def load(lang: str) -> dict:
    text = resources.files("bot").joinpath("phrases", f"{lang}.toml").read_text("utf-8")
    return tomllib.loads(text)


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def test_the_bot_speaks_at_least_these_languages() -> None:
    assert {"en", "ar", "tr", "es"} <= phrase_languages()


def test_english_has_every_required_key() -> None:
    assert REQUIRED_KEYS <= set(load("en")["phrases"])


@pytest.mark.parametrize("lang", sorted(phrase_languages()))
def test_language_file_matches_english(lang: str) -> None:
    english, other = load("en")["phrases"], load(lang)["phrases"]
    assert set(other) == set(english)
    for key, template in english.items():
        assert placeholders(other[key]) == placeholders(template), key
        fields = {name: "X" for name in placeholders(template)}
        assert other[key].format(**fields).strip()


@pytest.mark.parametrize("lang", sorted(phrase_languages()))
def test_language_names_cover_the_served_languages(lang: str) -> None:
    names = load(lang)["language_names"]
    assert XSID_AND_SPANISH <= set(names)
    assert set(names) == set(load("en")["language_names"])


def test_phrase_fills_placeholders() -> None:
    assert phrase("ticket_created", "en", ticket="42", email="a@example.com") == (
        "Thanks! Ticket #42 is open; we'll reply to a@example.com."
    )
    assert "Ayşe" in phrase("agent_joined", "tr", agent="Ayşe")


def test_regional_codes_use_the_language_file() -> None:
    assert phrase("feedback_yes", "es-MX") == phrase("feedback_yes", "es") == "Sí"


def test_unknown_language_falls_back_to_english() -> None:
    assert phrase("clarify_prompt", "fi") == "Did you mean one of these?"


def test_unknown_key_names_the_key() -> None:
    with pytest.raises(KeyError, match="no_such_phrase"):
        phrase("no_such_phrase", "en")


def test_missing_field_names_the_field() -> None:
    with pytest.raises(KeyError, match="agent"):
        phrase("agent_joined", "en")


def test_language_name() -> None:
    assert language_name("tr", "en") == "Turkish"
    assert language_name("en", "tr") == "İngilizce"
    assert language_name("es", "es") == "español"
    assert language_name("kk", "ar") == "الكازاخية"
    assert language_name("sr", "fi") == "Serbian"
    assert language_name("xx", "en") == "xx"


def test_answer_other_language_reads_well() -> None:
    names = {"lang_name": language_name("ar", "ar"), "article_lang_name": language_name("en", "ar")}
    text = phrase("answer_other_language", "ar", **names)
    assert "باللغة العربية" in text and "باللغة الإنجليزية" in text
