"""The Slack channel's settings, as `bot.config.Settings` declares them (SLACK_*), checked together."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings
from bot.errors import ConfigError
from channels.slack import messages

DEFAULT_API_URL = "https://slack.com/api/"

@dataclass(frozen=True)
class SlackConfig:
    bot_token: str = ""
    signing_secret: str = ""
    agents_channel: str = ""
    api_url: str = DEFAULT_API_URL
    socket_mode: bool = False
    app_token: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> "SlackConfig":
        """The Slack fields of the settings, checked."""
        config = cls(
            bot_token=settings.slack_bot_token.strip(),
            signing_secret=settings.slack_signing_secret.strip(),
            agents_channel=settings.slack_agents_channel.strip(),
            api_url=(settings.slack_api_url or DEFAULT_API_URL).strip(),
            socket_mode=bool(settings.slack_socket_mode),
            app_token=settings.slack_app_token.strip(),
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
