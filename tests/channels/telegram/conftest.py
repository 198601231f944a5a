"""The real web app with the Telegram webhook mounted, a fake Bot API, a real index (USE) and a fresh desk."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from bot.config import Settings
from bot.desk.desk import Desk, utc_now
from bot.answer.engine import Engine
from bot.desk.hours import parse_hours
from bot.store.model import Message
from bot.store.connect import open_store
from channels.telegram.app import EXTENSION, SECRET_HEADER, WEBHOOK_PATH, TelegramChannel, register_telegram
from channels.web.app import create_app
from tests.channels.telegram.fake_telegram import SECRET, TOKEN, FakeTelegram, message_update
from tests.conftest import on_duty, small_index, warm_engine, write_article

LONG_PARAGRAPH = "The warehouse integration keeps your stock in step with every order you take. " * 38  # about 3,000 characters
LONG_KB = [("en", "warehouse-guide", "Warehouse integration guide", "\n\n".join(f"Step {n}. {LONG_PARAGRAPH.strip()}" for n in (1, 2, 3)),
            ["how do I connect my warehouse", "warehouse integration setup"])]


def telegram_settings(base: Settings, fake: FakeTelegram, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(telegram_bot_token=TOKEN, telegram_webhook_secret=SECRET, telegram_api_url=fake.url)
    values.update(overrides)
    return base.with_overrides(**values)


@dataclass
class Rig:
    app: Flask
    desk: Desk
    fake: FakeTelegram

    @property
    def channel(self) -> TelegramChannel:
        return self.app.extensions[EXTENSION]

    def post(self, update: dict[str, Any], secret: str | None = SECRET) -> TestResponse:
        """POST an update to the webhook as Telegram does."""
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        return self.app.test_client().post(WEBHOOK_PATH, json=update, headers=headers)

    def say(self, chat_id: int, text: str, lang: str | None = "en", **kw: Any) -> dict[str, Any]:
        """A customer's message in a private chat (user id = chat id), posted; returns the update."""
        update = message_update(chat_id, kw.pop("user_id", chat_id), text, lang=lang, **kw)
        assert self.post(update).status_code == 200
        return update

    def idle(self) -> None:
        assert self.channel.wait_idle(20), "the Telegram channel did not settle"

    def messages(self, author: str | None = None) -> list[Message]:
        out = []
        for conversation in self.desk.store.list_conversations():
            out += [m for m in self.desk.store.list_messages(conversation.id) if author is None or m.author == author]
        return out


_dbs = itertools.count()


@pytest.fixture(scope="session")
def telegram_base(tmp_path_factory: pytest.TempPathFactory, real_encoders: Any) -> Settings:
    def long_articles(kb: Path) -> None:
        for lang, article_id, title, body, questions in LONG_KB:
            write_article(kb, lang, article_id, title, body, questions)

    return small_index(tmp_path_factory.mktemp("telegram"), real_encoders, long_articles)


@pytest.fixture(scope="session")
def telegram_engine(telegram_base: Settings, real_encoders: Any) -> Engine:
    return warm_engine(telegram_base, real_encoders)


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def make_desk(tmp_path: Path, telegram_engine: Engine) -> Iterator[Callable[..., Desk]]:
    made: list[Desk] = []

    def make(engine: Engine | None = None) -> Desk:
        store = open_store(str(tmp_path / f"desk{next(_dbs)}.db"))
        desk = Desk(engine or telegram_engine, store, parse_hours("24/7", "UTC", ""), timedelta(seconds=180), clock=utc_now)
        on_duty(desk)  # handoffs wait for an agent, as with a team signed in
        made.append(desk)
        return desk

    yield make
    for desk in made:
        desk.store.close()


@pytest.fixture
def make_rig(telegram_base: Settings, fake_telegram: FakeTelegram, make_desk: Callable[..., Desk]) -> Iterator[Callable[..., Rig]]:
    """make_rig(engine=None, **setting overrides): the web app over a fresh desk, with /telegram/webhook mounted."""
    made: list[Rig] = []

    def make(engine: Engine | None = None, **overrides: Any) -> Rig:
        desk = make_desk(engine)
        app = create_app(telegram_base, desk=desk)
        app.config.update(TESTING=True)
        register_telegram(app, telegram_settings(telegram_base, fake_telegram, **overrides), desk)
        rig = Rig(app, desk, fake_telegram)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        channel = rig.app.extensions.get(EXTENSION)
        if channel is not None:
            channel.close()
        rig.app.extensions["answerdesk"].reindex.wait(60)


@pytest.fixture
def rig(make_rig: Callable[..., Rig]) -> Rig:
    return make_rig()
