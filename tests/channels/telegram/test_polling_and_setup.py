"""Long polling answers like the webhook; --set-webhook registers the secret and the command menu."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from bot.config import Settings
from bot.desk.desk import Desk
from bot.errors import ConfigError
from channels.telegram.app import TelegramChannel
from channels.telegram.cli import set_webhook
from channels.telegram.config import TelegramConfig
from tests.channels.telegram.conftest import telegram_settings
from tests.channels.telegram.fake_telegram import SECRET, FakeTelegram, message_update


def test_polling_answers_a_message_fed_through_get_updates(telegram_base: Settings, fake_telegram: FakeTelegram, make_desk: Callable[..., Desk]) -> None:
    desk = make_desk()
    channel = TelegramChannel(TelegramConfig.from_settings(telegram_settings(telegram_base, fake_telegram)), desk)
    channel.start()
    try:
        channel.start_polling(timeout=1)
        fake_telegram.queue_update(message_update(901, 901, "أريد استرداد أموالي", lang="ar"))
        [reply] = fake_telegram.wait_sent(chat_id=901)
        assert "الاسترداد والإرجاع" in reply.args["text"]
        assert fake_telegram.sent("deleteWebhook")  # polling and a webhook exclude each other
        assert channel.wait_idle(10)
    finally:
        channel.close()
    assert len(fake_telegram.sent(chat_id=901)) == 1


def test_set_webhook_registers_the_secret_and_the_command_menu(telegram_base: Settings, fake_telegram: FakeTelegram) -> None:
    out = io.StringIO()
    settings = telegram_settings(telegram_base, fake_telegram)
    assert set_webhook(settings, "https://desk.example.com/telegram/webhook", out) == 0  # type: ignore[arg-type]
    [hook] = fake_telegram.sent("setWebhook")
    assert hook.args["url"] == "https://desk.example.com/telegram/webhook" and hook.args["secret_token"] == SECRET
    assert hook.args["allowed_updates"] == ["message", "callback_query"]
    menus = fake_telegram.sent("setMyCommands")
    assert [m.args.get("language_code") for m in menus] == [None, "ar", "tr", "es"]
    assert [c["command"] for c in menus[0].args["commands"]] == ["start", "help", "human"]
    assert "webhook set" in out.getvalue()


def test_set_webhook_needs_the_secret(telegram_base: Settings, fake_telegram: FakeTelegram) -> None:
    settings = telegram_settings(telegram_base, fake_telegram, telegram_webhook_secret="")
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        set_webhook(settings, "https://desk.example.com/telegram/webhook", io.StringIO())  # type: ignore[arg-type]
    assert not fake_telegram.sent("setWebhook")
