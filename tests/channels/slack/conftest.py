"""The real web app with the Slack channel mounted, a fake Slack Web API, a real index (USE) and a fresh desk."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from bot.config import Settings
from bot.desk.desk import Desk, utc_now
from bot.answer.engine import Engine
from bot.desk.hours import parse_hours
from bot.store.model import Message
from bot.store.connect import open_store
from channels.slack.app import EXTENSION, SlackChannel, register_slack
from channels.web.app import create_app
from tests.channels.slack.fake_slack import BOT_USER, SECRET, TEAM, TOKEN, FakeSlack, action_body, event_body, signature_headers
from tests.conftest import on_duty, small_index, warm_engine

AGENTS = "C0AGENTS"


@dataclass
class Rig:
    app: Flask
    desk: Desk
    fake: FakeSlack
    settings: Settings

    @property
    def channel(self) -> SlackChannel:
        return self.app.extensions[EXTENSION]

    def client(self) -> FlaskClient:
        return self.app.test_client()

    def event(self, event: dict[str, Any], event_id: str | None = None, retry: int | None = None, **signing: Any) -> TestResponse:
        """POST a signed Events API callback to /slack/events."""
        body = event_body(event, event_id or f"Ev{next(_ids):08d}")
        headers = signature_headers(body, **signing)
        if retry is not None:
            headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
        return self.client().post("/slack/events", data=body, headers=headers, content_type="application/json")

    def dm(self, user: str, text: str, ts: str | None = None, event_id: str | None = None, retry: int | None = None) -> tuple[TestResponse, str]:
        """A customer's DM; returns the response and the message's ts."""
        ts = ts or _ts()
        event = {"type": "message", "channel": f"D{user}", "channel_type": "im", "user": user, "text": text, "ts": ts, "team": TEAM}
        return self.event(event, event_id, retry), ts

    def click(self, user: str, channel: str, message: dict[str, Any], button: dict[str, Any]) -> TestResponse:
        """POST a signed block_actions interaction (form-encoded payload=) to /slack/events."""
        body = action_body(user, channel, message, button)
        return self.client().post("/slack/events", data=body, headers=signature_headers(body), content_type="application/x-www-form-urlencoded")

    def idle(self) -> None:
        assert self.channel.wait_idle(20), "the Slack channel did not settle"

    def messages(self, author: str | None = None) -> list[Message]:
        out = []
        for conversation in self.desk.store.list_conversations():
            out += [m for m in self.desk.store.list_messages(conversation.id) if author is None or m.author == author]
        return out


_ids = itertools.count(1)
_clock_ts = itertools.count(1)


def _ts() -> str:
    n = next(_clock_ts)
    return f"{1600000000 + n}.{n:06d}"


def posted_message(call: Any) -> dict[str, Any]:
    """The message as Slack would show it in an interaction payload, from a recorded chat.postMessage."""
    message = {"ts": call.response["ts"], "text": call.args.get("text"), "blocks": call.args.get("blocks") or []}
    if call.args.get("thread_ts"):
        message["thread_ts"] = call.args["thread_ts"]
    return message


def buttons(call: Any) -> list[dict[str, Any]]:
    """The buttons of a posted message."""
    return [e for block in call.args.get("blocks") or [] if block.get("type") == "actions" for e in block["elements"]]


@pytest.fixture(scope="session")
def slack_base(tmp_path_factory: pytest.TempPathFactory, real_encoders: Any) -> Settings:
    return small_index(tmp_path_factory.mktemp("slack"), real_encoders)


@pytest.fixture(scope="session")
def slack_engine(slack_base: Settings, real_encoders: Any) -> Engine:
    return warm_engine(slack_base, real_encoders)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.start()
    fake.add_user("U0AYSE", "Ayşe", "tr-TR")
    fake.add_user("U0JOHN", "John", "en-US")
    fake.add_user("U0AGENT", "Deniz", "en-GB")
    fake.add_user("U0AGENT2", "Omar", "ar")
    yield fake
    fake.stop()


def slack_settings(base: Settings, fake: FakeSlack, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_agents_channel=AGENTS, slack_api_url=fake.url)
    values.update(overrides)
    return replace(base, **values)


@pytest.fixture
def make_rig(tmp_path: Path, slack_base: Settings, slack_engine: Engine, fake_slack: FakeSlack) -> Iterator[Callable[..., Rig]]:
    """make_rig(engine=None, **setting overrides): the web app over a fresh desk, with /slack/events mounted."""
    made: list[Rig] = []

    def make(engine: Engine | None = None, **overrides: Any) -> Rig:
        settings = slack_settings(slack_base, fake_slack, **overrides)
        store = open_store(str(tmp_path / f"desk{len(made)}.db"))
        desk = Desk(engine or slack_engine, store, parse_hours("24/7", "UTC", ""), timedelta(seconds=180), clock=utc_now)
        on_duty(desk)  # handoffs wait for an agent, as with a team signed in
        app = create_app(settings, desk=desk)
        app.config.update(TESTING=True, SSE_POLL_SECONDS=0.02, SSE_HEARTBEAT_SECONDS=0.1, SSE_MAX_SECONDS=0.3)
        register_slack(app, settings, desk)
        rig = Rig(app, desk, fake_slack, settings)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        channel = rig.app.extensions.get(EXTENSION)
        if channel is not None:
            channel.close()
        rig.app.extensions["answerdesk"].reindex.wait(60)
        rig.desk.store.close()


@pytest.fixture
def rig(make_rig: Callable[..., Rig]) -> Rig:
    return make_rig()


__all__ = ["AGENTS", "BOT_USER", "Rig", "buttons", "posted_message"]
