"""Fixtures for the browser tests: the real app on 127.0.0.1 and the system Chromium.

Import the fixtures into a test module (`from tests.channels.web.browser_support import ...`).
Tests skip, saying what to install, when /usr/bin/chromium or Playwright is missing.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AGENT_EMAIL = "ayse@example.com"
AGENT_PASSWORD = "correct horse battery"
AGENT_NAME = "Ayşe"


def chromium_path() -> str | None:
    """The system Chromium (the Debian package), never a browser Playwright downloaded."""
    return str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")


def require_browser() -> Any:
    """The Playwright module, or a skip naming what is missing."""
    if chromium_path() is None:
        pytest.skip("browser tests need the system Chromium: apt-get install chromium (.ci/run does)")
    try:
        from playwright import sync_api
    except ImportError:
        pytest.skip("browser tests need Playwright for Python: .venv/bin/pip install playwright (never `playwright install`)")
    return sync_api


class LiveServer:
    """A WSGI app served by werkzeug on 127.0.0.1, a free port, in a background thread."""

    def __init__(self, app: Any) -> None:
        from werkzeug.serving import make_server

        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="browser-test-server", daemon=True)

    def __enter__(self) -> "LiveServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@dataclass
class Site:
    """One running app: its address, its desk (to look at the store) and its settings."""

    url: str
    desk: Any
    settings: Any


@pytest.fixture(scope="module")
def web_index(tmp_path_factory: pytest.TempPathFactory, real_encoders: Any) -> Path:
    """SMALL_KB, a gift-card article with markup and a long article, indexed with the real encoder, shared by the module's servers."""
    from bot.config import Settings
    from bot.reindex.run import reindex
    from tests.conftest import MOBILE_APP, SMALL_KB, write_article

    root = tmp_path_factory.mktemp("browser")
    for lang, article_id, title, body, questions in SMALL_KB:
        write_article(root / "kb", lang, article_id, title, body, questions)
    # Markdown and HTML in an article: bold and headings show as bold, the HTML as text.
    write_article(
        root / "kb", "en", "gift-cards", "Gift cards",
        "Gift cards never expire.\n\n## Lost a card?\n\n**Contact us** with the order number. <script>alert('kb')</script>",
        ["do gift cards expire", "I lost my gift card", "how do gift cards work"],
    )
    write_article(root / "kb", *MOBILE_APP)  # long: answers show one section of it
    settings = Settings(kb_dir=str(root / "kb"), index_dir=str(root / "index"))
    reindex(settings, encoder=real_encoders)
    return root


def start_site(root: Path, encoder: Any, name: str, **overrides: Any) -> tuple[LiveServer, Site]:
    """An app over the shared index and a fresh SQLite store, open 24/7, with one agent."""
    from bot.desk.agents import create_agent
    from bot.config import Settings
    from bot.desk.desk import Desk
    from bot.answer.engine import Engine
    from bot.desk.hours import parse_hours
    from bot.store.connect import open_store
    from channels.web.app import create_app
    from index.search import LiveIndex

    settings = Settings(
        kb_dir=str(root / "kb"), index_dir=str(root / "index"), db=str(root / f"{name}.db"), hours="24/7", **overrides
    )
    engine = Engine(settings, encoder, LiveIndex(settings.index_dir))
    engine.warm_up()
    store = open_store(settings.db)
    desk = Desk(engine, store, parse_hours("24/7", "UTC", ""), agent_wait=timedelta(minutes=30))
    agent = create_agent(store, AGENT_EMAIL, AGENT_NAME, AGENT_PASSWORD, ["en", "ar", "tr"])
    desk.seen(agent.id)  # signed in and available: handoffs wait for her
    app = create_app(settings, desk)
    # Streams end sooner than in production so a stopped test server frees its threads quickly.
    app.config.update(SSE_POLL_SECONDS=0.1, SSE_MAX_SECONDS=20.0)
    server = LiveServer(app)
    return server, Site(server.url, desk, settings)


@pytest.fixture(scope="module")
def site(web_index: Path, real_encoders: Any) -> Iterator[Site]:
    server, running = start_site(web_index, real_encoders, "main")
    with server:
        yield running
    # The store is left open: event streams of closed pages may still poll it for a moment.


@pytest.fixture(scope="module")
def clarify_site(web_index: Path, real_encoders: Any) -> Iterator[Site]:
    """Close candidates are always offered as choices: a wide clarify margin."""
    server, running = start_site(web_index, real_encoders, "clarify", clarify_margin=0.5)
    with server:
        yield running
    # The store is left open: event streams of closed pages may still poll it for a moment.


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = require_browser()
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Contexts:
    """Opens browser contexts that may only reach the test server, and collects page errors."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self.opened: list[Any] = []
        self.outside: list[str] = []  # requests to anything but 127.0.0.1: the widget loads nothing else
        self.errors: list[str] = []  # uncaught JavaScript errors

    def open(self, **options: Any) -> Any:
        options.setdefault("viewport", {"width": 1100, "height": 760})
        options.setdefault("locale", "en-US")
        context = self.browser.new_context(**options)
        context.set_default_timeout(10000)
        context.route(re.compile(r"^(?!http://127\.0\.0\.1[:/])[a-z]+://"), self._refuse)
        context.on("weberror", lambda error: self.errors.append(str(error.error)))
        self.opened.append(context)
        return context

    def _refuse(self, route: Any) -> None:
        self.outside.append(route.request.url)
        route.abort()

    def close(self) -> None:
        for context in self.opened:
            context.close()


@pytest.fixture
def contexts(browser: Any) -> Iterator[Contexts]:
    opened = Contexts(browser)
    yield opened
    opened.close()
    assert opened.outside == [], f"the pages tried to load from elsewhere: {opened.outside}"
    assert opened.errors == [], f"uncaught JavaScript errors: {opened.errors}"


@pytest.fixture
def visitor(contexts: Contexts) -> Any:
    """A fresh desktop-sized browser context: no cookies, no localStorage."""
    return contexts.open()
