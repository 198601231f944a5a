"""Settings read from the environment: ANSWERDESK_PUBLIC_URL must be an address chat platforms can link to."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.errors import ConfigError


@pytest.mark.parametrize("url", ["", "https://help.example.com", "http://127.0.0.1:8000/help/"])
def test_a_public_url_is_an_http_address_or_nothing(url: str) -> None:
    assert Settings.from_env({"ANSWERDESK_PUBLIC_URL": url}).public_url == url


@pytest.mark.parametrize("url", ["help.example.com", "javascript:alert(1)", "https://help example.com"])
def test_a_bad_public_url_stops_start_up_naming_the_variable(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"ANSWERDESK_PUBLIC_URL": url})
    assert str(caught.value).startswith(f"Config 'ANSWERDESK_PUBLIC_URL' has value {url!r}. Use an http:// or https://")


def test_the_agent_name_style_is_one_of_three() -> None:
    assert Settings.from_env({"ANSWERDESK_AGENT_NAMES": "first"}).agent_names == "first"
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"ANSWERDESK_AGENT_NAMES": "nickname"})
    assert caught.value.name == "ANSWERDESK_AGENT_NAMES" and "full, first, team" in str(caught.value)
