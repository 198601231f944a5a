"""`answerdesk telegram --polling` and `answerdesk telegram --set-webhook URL`, called by bot/cli.py."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from typing import TextIO

from telegram import Bot, BotCommand
from telegram.error import InvalidToken, TelegramError

from bot.config import Settings
from bot.desk.desk import Desk, build_desk
from bot.errors import AnswerdeskError, ConfigError
from bot.answer.phrases import phrase
from channels.telegram import messages
from channels.telegram.app import ALLOWED_UPDATES, TelegramChannel
from channels.telegram.config import TelegramConfig

log = logging.getLogger(__name__)

COMMANDS = ("start", "help", "human")


def run_polling(settings: Settings, out: TextIO, stop: threading.Event | None = None, desk: Desk | None = None) -> int:
    """Answer Telegram over long polling until interrupted (no public URL needed); the exit status."""
    config = _config(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    desk = desk or build_desk(settings)
    print(f"loading the index at {settings.index_dir} and the language models...", file=out, flush=True)
    desk.engine.warm_up()
    channel = TelegramChannel(config, desk)
    stop = stop or _stop_on_signals()
    channel.start()
    try:
        channel.start_polling()
        print("Answerdesk is answering Telegram by long polling (Ctrl+C stops)", file=out, flush=True)
        while not stop.wait(1.0):  # a timed wait lets the signal handler run
            pass
    finally:
        print("stopping", file=out, flush=True)
        channel.close()
        desk.store.close()
    return 0


def set_webhook(settings: Settings, url: str, out: TextIO) -> int:
    """Register `url` as the bot's webhook, with the secret, and the command menu in every menu language."""
    config = _config(settings)
    if not config.webhook_secret:
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET", "", messages.NEEDS_SECRET)
    if not url.startswith("https://") and config.api_url.startswith("https://api.telegram.org"):
        raise AnswerdeskError(f"{url}: {messages.BAD_WEBHOOK_URL}")
    try:
        asyncio.run(_register(config, url))
    except InvalidToken as e:
        raise ConfigError("TELEGRAM_BOT_TOKEN", config.bot_token.split(":")[0] + ":…", messages.TOKEN_REFUSED.format(error=e)) from e
    except TelegramError as e:
        raise AnswerdeskError(f"Telegram refused the webhook {url}: {e}") from e
    print(f"webhook set to {url} (with the secret token); commands /{', /'.join(COMMANDS)} in {', '.join(messages.MENU_LANGUAGES)}", file=out)
    return 0


async def _register(config: TelegramConfig, url: str) -> None:
    async with Bot(config.bot_token, base_url=config.api_url, base_file_url=config.file_url) as bot:
        await bot.set_webhook(url, secret_token=config.webhook_secret, allowed_updates=ALLOWED_UPDATES)
        for lang in messages.MENU_LANGUAGES:
            commands = [BotCommand(name, describe(name, lang)) for name in COMMANDS]
            # The English menu is also the default for every language without its own.
            await bot.set_my_commands(commands, language_code=None if lang == "en" else lang)


def describe(command: str, lang: str) -> str:
    """The menu text of a command in `lang` (phrase command_<name>), else English."""
    try:
        return phrase(f"command_{command}", lang)[:256]
    except KeyError:
        return messages.COMMAND_DESCRIPTIONS[command]


def _config(settings: Settings) -> TelegramConfig:
    config = TelegramConfig.from_settings(settings)
    if not config.enabled:
        raise ConfigError("TELEGRAM_BOT_TOKEN", "", messages.NEEDS_TOKEN)
    return config


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda received, frame: stop.set())
    return stop
