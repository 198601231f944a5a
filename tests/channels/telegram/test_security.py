"""The webhook takes only Telegram's requests (the secret token), and the channel stays off without a token."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from bot.config import Settings
from bot.desk.desk import Desk
from channels.telegram.app import EXTENSION, WEBHOOK_PATH, register_telegram
from channels.web.app import create_app
from tests.channels.telegram.conftest import Rig
from tests.channels.telegram.fake_telegram import message_update


@pytest.mark.parametrize("secret", ["wrong-secret", "", None])
def test_a_wrong_or_missing_secret_token_gets_403_and_no_engine_call(rig: Rig, secret: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(rig.desk.engine, "respond", lambda *a, **k: calls.append(a))
    response = rig.post(message_update(801, 801, "I forgot my password"), secret=secret)
    assert response.status_code == 403
    rig.idle()
    assert calls == [] and rig.messages() == [] and rig.fake.sent() == []


def test_a_body_that_is_no_update_gets_400(rig: Rig) -> None:
    from tests.channels.telegram.fake_telegram import SECRET

    response = rig.app.test_client().post(WEBHOOK_PATH, data="not json", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert response.status_code == 400


def test_without_a_token_the_channel_is_off_and_says_so(telegram_base: Settings, make_desk: Callable[..., Desk], caplog: pytest.LogCaptureFixture) -> None:
    desk = make_desk()
    app = create_app(telegram_base, desk=desk)
    with caplog.at_level(logging.INFO, logger="channels.telegram.app"):
        assert register_telegram(app, telegram_base, desk) is False
    assert "Telegram channel off: TELEGRAM_BOT_TOKEN not set" in caplog.text
    assert EXTENSION not in app.extensions
    assert app.test_client().post(WEBHOOK_PATH, json={"update_id": 1}).status_code == 404
    assert app.test_client().get("/healthz").status_code == 200
