"""The web app over a real index (one per session, real USE encoder) and a fresh SQLite desk per test."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bot.desk.agents import create_agent
from bot.config import Settings
from bot.desk.desk import Desk
from bot.answer.engine import Engine
from bot.desk.hours import parse_hours
from bot.store.model import Agent
from bot.store.connect import open_store
from channels.web.app import create_app
from tests.conftest import MOBILE_APP, small_index, warm_engine, write_article

PASSWORD = "correct horse battery"
WEDNESDAY_10_UTC = datetime(2026, 1, 7, 10, 0, tzinfo=timezone.utc)
ARTICLE_WITH_MARKUP = """---
id: gift-cards
lang: en
title: Gift cards
updated: 2026-01-05
questions:
  - do gift cards expire
  - I lost my gift card
---
Gift cards never expire.

## Lost a card?

**Contact us** with the order number. <script>alert("kb")</script>
"""


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = WEDNESDAY_10_UTC

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Web:
    app: Flask
    desk: Desk
    clock: Clock
    agents: dict[str, Agent] = field(default_factory=dict)

    def client(self) -> FlaskClient:
        return self.app.test_client()


@pytest.fixture(scope="session")
def web_settings(tmp_path_factory: pytest.TempPathFactory, real_encoders: Any) -> Settings:
    def extra(kb: Path) -> None:
        write_article(kb, "en", "gift-cards", "", raw_front=ARTICLE_WITH_MARKUP)
        write_article(kb, *MOBILE_APP)

    return small_index(tmp_path_factory.mktemp("web"), real_encoders, extra)


@pytest.fixture(scope="session")
def web_engine(web_settings: Settings, real_encoders: Any) -> Engine:
    return warm_engine(web_settings, real_encoders)


DOCS = Path(__file__).resolve().parents[3] / "docs"


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the browser tests' screenshots go: docs/ under `make screenshots`, else a temporary folder pytest cleans."""
    return DOCS if os.environ.get("ANSWERDESK_SCREENSHOTS") else tmp_path_factory.mktemp("shots")


@pytest.fixture(scope="module")
def expect() -> Any:
    """Playwright's expect, once the system Chromium is known to be there (else the test skips)."""
    from tests.channels.web.browser_support import require_browser

    return require_browser().expect


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_web(tmp_path: Path, web_engine: Engine, clock: Clock) -> Iterator[Callable[..., Web]]:
    """An app over a fresh desk: make_web(hours="mon-fri 09:00-18:00", engine=..., agent_wait=180);
    Ayşe is available (active in the console) unless present=False."""
    made: list[Web] = []

    def make(hours: str = "24/7", engine: Engine | None = None, agent_wait: int = 180, present: bool = True) -> Web:
        store = open_store(str(tmp_path / f"desk{len(made)}.db"), clock=clock)
        desk = Desk(engine or web_engine, store, parse_hours(hours, "UTC", ""), timedelta(seconds=agent_wait), clock=clock)
        app = create_app(web_engine.settings, desk=desk, clock=clock)
        app.config.update(TESTING=True, SSE_POLL_SECONDS=0.02, SSE_HEARTBEAT_SECONDS=0.1, SSE_MAX_SECONDS=0.3)
        web = Web(app, desk, clock)
        web.agents["ayse"] = create_agent(store, "ayse@example.com", "Ayşe", PASSWORD, ["tr", "en"])
        web.agents["omar"] = create_agent(store, "omar@example.com", "Omar", PASSWORD, ["ar", "en"])
        if present:
            desk.seen(web.agents["ayse"].id)
        made.append(web)
        return web

    yield make
    for web in made:
        web.app.extensions["answerdesk"].reindex.wait(60)
        web.desk.store.close()


@pytest.fixture
def web(make_web: Callable[..., Web]) -> Web:
    return make_web()


# -- helpers the tests share ----------------------------------------------------------------
def start(client: FlaskClient, lang: str | None = None, **headers: str) -> dict[str, Any]:
    """Open a conversation as a visitor; returns the 201 body."""
    body = {"lang": lang} if lang else None
    response = client.post("/api/conversations", json=body, headers=headers) if body else client.post("/api/conversations", headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def say(client: FlaskClient, conversation_id: str, text: str) -> dict[str, Any]:
    response = client.post(f"/api/conversations/{conversation_id}/messages", json={"text": text})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def post_json(client: FlaskClient, path: str, body: Any) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def actions(turn: dict[str, Any]) -> list[str]:
    return [reply["action"] for reply in turn["replies"]]


def sign_in(client: FlaskClient, email: str = "ayse@example.com", password: str = PASSWORD) -> None:
    """Sign in through the real form, CSRF token and all."""
    page = client.get("/agent/login").get_data(as_text=True)
    response = client.post("/agent/login", data={"email": email, "password": password, "csrf_token": csrf_in(page), "next": ""})
    assert response.status_code == 302, response.get_data(as_text=True)


def csrf_in(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the page"
    return match.group(1)


def csrf(client: FlaskClient) -> str:
    """The signed-in client's CSRF token, read from a console page as a browser would."""
    return csrf_in(client.get("/agent/").get_data(as_text=True))


def console_post(client: FlaskClient, path: str, **form: str) -> Any:
    return client.post(path, data={"csrf_token": csrf(client), **form})


def read_events(text: str) -> list[dict[str, Any]]:
    """Parse an event stream into [{"id", "event", "data"}] (comments dropped)."""
    import json

    events = []
    for block in text.split("\n\n"):
        fields: dict[str, Any] = {}
        for line in block.splitlines():
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value
        if "data" in fields:
            events.append({"id": fields.get("id"), "event": fields.get("event", "message"), "data": json.loads(fields["data"])})
    return events
