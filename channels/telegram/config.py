"""The Telegram channel's settings, read from `bot.config.Settings` (environment and TOML file).

`TELEGRAM_SETTINGS` declares each one as bot/config.py does (field, variable, default, help);
until bot/config.py declares them, `Settings` has none of these fields and Telegram stays off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.errors import ConfigError
from channels.telegram import messages

DEFAULT_API_URL = "https://api.telegram.org/bot"
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

TELEGRAM_SETTINGS: tuple[tuple[str, str, Any, str], ...] = (
    ("telegram_bot_token", "TELEGRAM_BOT_TOKEN", "", "Telegram bot token from @BotFather (123456:ABC-…); it turns the Telegram channel on."),
    ("telegram_webhook_secret", "TELEGRAM_WEBHOOK_SECRET", "",
     "Secret Telegram sends in X-Telegram-Bot-Api-Secret-Token on every webhook call; /telegram/webhook refuses others (403). Needed for webhook mode."),
    ("telegram_api_url", "TELEGRAM_API_URL", DEFAULT_API_URL, "Telegram Bot API base URL, the token is appended (a local Bot API server, or a fake in tests)."),
)


@dataclass(frozen=True)
class TelegramConfig:
    bot_token: str = ""
    webhook_secret: str = ""
    api_url: str = DEFAULT_API_URL

    @classmethod
    def from_settings(cls, settings: object) -> "TelegramConfig":
        """The Telegram fields of the settings (defaults where Settings lacks them), checked."""
        values = {name: getattr(settings, name, default) for name, _env, default, _help in TELEGRAM_SETTINGS}
        config = cls(
            bot_token=(values["telegram_bot_token"] or "").strip(),
            webhook_secret=(values["telegram_webhook_secret"] or "").strip(),
            api_url=(values["telegram_api_url"] or DEFAULT_API_URL).strip(),
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
