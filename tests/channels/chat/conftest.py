"""The echo channel (echo_channel.py) over a real index (the real encoders) and a fresh SQLite desk."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.answer.engine import Engine
from bot.desk.desk import Desk
from bot.desk.hours import parse_hours
from bot.store.connect import open_store
from tests.channels.chat.echo_channel import Echo
from tests.conftest import on_duty, small_index, warm_engine


@pytest.fixture(scope="session")
def chat_engine(tmp_path_factory: pytest.TempPathFactory, real_encoders: Any) -> Engine:
    return warm_engine(small_index(tmp_path_factory.mktemp("chat"), real_encoders), real_encoders)


@pytest.fixture
def echo(tmp_path: Path, chat_engine: Engine) -> Iterator[Echo]:
    store = open_store(str(tmp_path / "desk.db"))
    desk = Desk(chat_engine, store, parse_hours("24/7", "UTC", ""), timedelta(seconds=180))
    on_duty(desk)  # handoffs wait for an agent, as with a team signed in
    channel = Echo(desk)
    channel.core.start()
    yield channel
    channel.core.close()
    store.close()
