"""The Telegram channel's settings, as `bot.config.Settings` declares them (TELEGRAM_*), checked together."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.config import Settings
from bot.errors import ConfigError
from channels.telegram import messages

DEFAULT_API_URL = "https://api.telegram.org/bot"
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

@dataclass(frozen=True)
class TelegramConfig:
    bot_token: str = ""
    webhook_secret: str = ""
    api_url: str = DEFAULT_API_URL

    @classmethod
    def from_settings(cls, settings: Settings) -> "TelegramConfig":
        """The Telegram fields of the settings, checked."""
        config = cls(
            bot_token=settings.telegram_bot_token.strip(),
            webhook_secret=settings.telegram_webhook_secret.strip(),
            api_url=(settings.telegram_api_url or DEFAULT_API_URL).strip(),
        )
        config.check()
        return config

    @property
    def enabled(self) -> bool:
        return bool(self.bot_token)

    @property
    def file_url(self) -> str:
        """The file base URL that goes with `api_url` (…/bot → …/file/bot)."""
        base, _, tail = self.api_url.rstrip("/").rpartition("/")
        return f"{base}/file/{tail}"

    def check(self) -> None:
        """ConfigError naming the variable when a value cannot work."""
        if self.webhook_secret and not _SECRET.match(self.webhook_secret):
            raise ConfigError("TELEGRAM_WEBHOOK_SECRET", "(hidden)", messages.BAD_SECRET)
        if not self.api_url.startswith(("http://", "https://")):
            raise ConfigError("TELEGRAM_API_URL", self.api_url, messages.BAD_API_URL)
