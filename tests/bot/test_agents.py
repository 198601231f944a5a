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
