"""The Slack channel's settings, read from `bot.config.Settings` (environment and TOML file).

`SLACK_SETTINGS` declares each one as bot/config.py does (field, variable, default, help);
until bot/config.py declares them, `Settings` has none of these fields and Slack stays off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.errors import ConfigError
from channels.slack import messages

DEFAULT_API_URL = "https://slack.com/api/"

SLACK_SETTINGS: tuple[tuple[str, str, Any, str], ...] = (
    ("slack_bot_token", "SLACK_BOT_TOKEN", "", "Slack bot token (xoxb-...); with SLACK_SIGNING_SECRET it turns the Slack channel on."),
    ("slack_signing_secret", "SLACK_SIGNING_SECRET", "", "Slack app's Signing Secret: requests to /slack/events are verified with it."),
    ("slack_agents_channel", "SLACK_AGENTS_CHANNEL", "", "Slack channel id (C0123...) where every handoff, from any channel, is posted as a card; empty: none."),
    ("slack_api_url", "SLACK_API_URL", DEFAULT_API_URL, "Base URL of the Slack Web API (tests point it at a local fake)."),
    ("slack_socket_mode", "SLACK_SOCKET_MODE", False, "1: receive Slack events over Socket Mode (no public URL) instead of /slack/events."),
    ("slack_app_token", "SLACK_APP_TOKEN", "", "Slack app-level token (xapp-...) for Socket Mode."),
)


@dataclass(frozen=True)
class SlackConfig:
    bot_token: str = ""
    signing_secret: str = ""
    agents_channel: str = ""
    api_url: str = DEFAULT_API_URL
    socket_mode: bool = False
    app_token: str = ""

    @classmethod
    def from_settings(cls, settings: object) -> "SlackConfig":
        """The Slack fields of the settings (defaults where Settings lacks them), checked."""
        values = {name: getattr(settings, name, default) for name, _env, default, _help in SLACK_SETTINGS}
        config = cls(
            bot_token=(values["slack_bot_token"] or "").strip(),
            signing_secret=(values["slack_signing_secret"] or "").strip(),
            agents_channel=(values["slack_agents_channel"] or "").strip(),
            api_url=(values["slack_api_url"] or DEFAULT_API_URL).strip(),
            socket_mode=bool(values["slack_socket_mode"]),
            app_token=(values["slack_app_token"] or "").strip(),
        )
        config.check()
        return config

    @property
    def enabled(self) -> bool:
        return bool(self.bot_token)

    def check(self) -> None:
        """ConfigError naming the variable when the settings are half done."""
        if not self.bot_token:
            if self.signing_secret:
                raise ConfigError("SLACK_BOT_TOKEN", "", messages.NEEDS_TOKEN)
            return
        if self.socket_mode and not self.app_token:
            raise ConfigError("SLACK_APP_TOKEN", "", messages.NEEDS_APP_TOKEN)
        if not self.socket_mode and not self.signing_secret:
            raise ConfigError("SLACK_SIGNING_SECRET", "", messages.NEEDS_SECRET)
        if not self.api_url.startswith(("http://", "https://")) or not self.api_url.endswith("/"):
            raise ConfigError("SLACK_API_URL", self.api_url, messages.BAD_API_URL)
