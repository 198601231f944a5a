"""Agent accounts: scrypt hashes with their parameters, validation that names the field."""

import pytest

from bot.desk.agents import AgentError, create_agent, hash_password, verify_password
from bot.store.connect import open_store


def test_hash_round_trip_and_salting() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second and first.startswith("scrypt$16384$8$1$")
    assert verify_password(first, "correct horse") and verify_password(second, "correct horse")
    assert not verify_password(first, "correct hors")


@pytest.mark.parametrize("stored", ["", "plain", "scrypt$x$8$1$AAAA$AAAA", "scrypt$1073741824$8$1$AAAA$AAAA", "bcrypt$16384$8$1$AAAA$AAAA"])
def test_malformed_or_hostile_hashes_never_match(stored: str) -> None:
    assert verify_password(stored, "anything") is False


@pytest.mark.parametrize(
    "email,name,password,languages,field",
    [
        ("not-an-address", "A", "long enough", ["en"], "email"),
        ("a@example.com", " ", "long enough", ["en"], "name"),
        ("a@example.com", "A", "short", ["en"], "password"),
        ("a@example.com", "A", "long enough", [], "languages"),
        ("a@example.com", "A", "long enough", "en,tr", "languages"),
        ("a@example.com", "A", "long enough", ["english"], "languages"),
    ],
)
def test_create_agent_names_the_bad_field(email: str, name: str, password: str, languages: object, field: str) -> None:
    store = open_store(":memory:")
    with pytest.raises(AgentError) as caught:
        create_agent(store, email, name, password, languages)  # type: ignore[arg-type]
    assert caught.value.field == field and str(caught.value).startswith(f"{field}: ")


def test_create_agent_stores_a_verifiable_hash() -> None:
    store = open_store(":memory:")
    agent = create_agent(store, " Ayse@Example.com ", "Ayşe", "correct horse", ["TR", "en"])
    assert agent.email == "ayse@example.com" and agent.languages == ("tr", "en")
    stored = store.get_agent_by_email("ayse@example.com")
    assert stored is not None and verify_password(stored.password_hash, "correct horse")


def test_an_agent_is_listed_and_changed_but_never_added_twice(store) -> None:  # both databases (tests/bot/conftest.py)
    from bot.desk.agents import reset_password, set_languages

    ayse = create_agent(store, "Ayse@example.com", "Ayşe", "correct horse", ["tr", "en"])
    create_agent(store, "omar@example.com", "Omar", "battery staple", ["ar"])
    with pytest.raises(AgentError, match="ayse@example.com already has an account; change it with 'answerdesk agent reset-password"):
        create_agent(store, "ayse@example.com", "Ayşe", "another one", ["tr"])
    assert [(a.email, a.languages) for a in store.list_agents()] == [("ayse@example.com", ("tr", "en")), ("omar@example.com", ("ar",))]

    changed = reset_password(store, "AYSE@example.com", "a new password")
    assert changed.id == ayse.id and verify_password(changed.password_hash, "a new password") and not verify_password(changed.password_hash, "correct horse")
    assert set_languages(store, "ayse@example.com", ["EN", "de"]).languages == ("en", "de")
    with pytest.raises(AgentError, match="password: must be at least 8"):
        reset_password(store, "ayse@example.com", "short")
    with pytest.raises(AgentError, match="languages: english"):
        set_languages(store, "ayse@example.com", ["english"])
    with pytest.raises(AgentError, match="no agent has the address 'nobody@example.com'; see 'answerdesk agent list'"):
        set_languages(store, "nobody@example.com", ["en"])
    assert store.update_agent("no-such-id", languages=["en"]) is None


def test_a_short_password_is_refused_before_it_is_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    from bot.cli import _new_password

    asked: list[str] = []
    monkeypatch.setattr(getpass, "getpass", lambda prompt: asked.append(prompt) or "short")
    with pytest.raises(AgentError, match="password: must be at least 8 characters"):
        _new_password(from_stdin=False)
    assert asked == ["password: "]
