"""Turning the Slack channel on and off: configuration, start-up messages, Socket Mode."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.config import Settings, describe_settings
from bot.desk.desk import Desk
from bot.answer.engine import Engine
from bot.errors import ConfigError
from bot.desk.hours import parse_hours
from bot.store.connect import open_store
from channels.slack.app import EXTENSION, SlackChannel, register_slack, socket_mode_handler
from channels.slack.config import SlackConfig
from channels.web.app import create_app
from tests.channels.slack.conftest import Rig, slack_settings
from tests.channels.slack.fake_slack import FakeSlack


@pytest.fixture
def desk(tmp_path: Path, slack_engine: Engine) -> Desk:
    store = open_store(str(tmp_path / "desk.db"))
    yield Desk(slack_engine, store, parse_hours("24/7", "UTC", ""), timedelta(seconds=180))
    store.close()


def test_without_token_and_secret_the_channel_is_off_and_says_so(slack_base: Settings, desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(slack_base, desk=desk)
    with caplog.at_level(logging.INFO, logger="channels.slack.app"):
        assert register_slack(app, slack_base, desk) is False
    assert "Slack channel off: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET not set" in caplog.text
    assert EXTENSION not in app.extensions
    assert app.test_client().post("/slack/events", data="{}").status_code == 404
    assert app.test_client().get("/healthz").status_code == 200  # the rest runs


@pytest.mark.parametrize(
    "overrides, variable",
    [
        ({"slack_signing_secret": ""}, "SLACK_SIGNING_SECRET"),
        ({"slack_bot_token": ""}, "SLACK_BOT_TOKEN"),
        ({"slack_socket_mode": True}, "SLACK_APP_TOKEN"),
        ({"slack_api_url": "slack.com/api"}, "SLACK_API_URL"),
    ],
)
def test_half_a_configuration_stops_start_up_naming_the_variable(slack_base: Settings, fake_slack: FakeSlack, overrides: dict[str, object], variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        SlackConfig.from_settings(slack_settings(slack_base, fake_slack, **overrides))
    assert caught.value.name == variable


def test_a_token_slack_refuses_stops_start_up(slack_base: Settings, fake_slack: FakeSlack, desk: Desk) -> None:
    settings = slack_settings(slack_base, fake_slack, slack_bot_token="xoxb-wrong")
    with pytest.raises(ConfigError) as caught:
        register_slack(create_app(settings, desk=desk), settings, desk)
    assert caught.value.name == "SLACK_BOT_TOKEN" and "xoxb-wrong" not in str(caught.value)


def test_registering_twice_mounts_once(rig: Rig) -> None:
    assert register_slack(rig.app, rig.settings, rig.desk) is True
    assert [r.rule for r in rig.app.url_map.iter_rules()].count("/slack/events") == 1


def test_url_verification_is_answered(rig: Rig) -> None:
    import json

    from tests.channels.slack.fake_slack import signature_headers

    body = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "legacy"})
    response = rig.client().post("/slack/events", data=body, headers=signature_headers(body), content_type="application/json")
    assert response.status_code == 200 and "abc123" in response.get_data(as_text=True)


def test_socket_mode_builds_a_handler(slack_base: Settings, fake_slack: FakeSlack, desk: Desk) -> None:
    settings = slack_settings(slack_base, fake_slack, slack_signing_secret="", slack_socket_mode=True, slack_app_token="xapp-test")
    channel = SlackChannel(SlackConfig.from_settings(settings), desk)
    handler = socket_mode_handler(channel)
    try:
        assert isinstance(handler, SocketModeHandler) and handler.app is channel.app and handler.app_token == "xapp-test"
    finally:
        handler.close()
        channel.close()


def test_the_slack_config_reads_every_slack_setting_with_its_default() -> None:
    declared = {env: default for env, default, _help in describe_settings() if env.startswith("SLACK_")}
    assert set(declared) == {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_AGENTS_CHANNEL", "SLACK_API_URL", "SLACK_SOCKET_MODE", "SLACK_APP_TOKEN"}
    config = SlackConfig.from_settings(Settings())
    assert config == SlackConfig() and not config.enabled  # Settings' defaults are the config's: Slack off
    assert declared["SLACK_API_URL"] == repr(config.api_url)
