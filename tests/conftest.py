"""Shared fixtures: a KB written by the test, and the real encoder loaded once."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Callable

import pytest

from bot.config import Settings
from bot.answer.engine import Engine
from bot.reindex.run import reindex
from index.search import LiveIndex


SLOW_SECONDS = 10.0  # a test whose own run takes longer carries @pytest.mark.slow (shared fixtures' setup is not its own)
_unmarked_slow: list[tuple[str, float]] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    if report.when == "call" and report.passed and report.duration > SLOW_SECONDS and item.get_closest_marker("slow") is None:
        _unmarked_slow.append((item.nodeid, report.duration))
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Name the tests that took over SLOW_SECONDS without the `slow` mark, so the mark stays true."""
    if _unmarked_slow:
        terminalreporter.section(f"over {SLOW_SECONDS:.0f} s and not marked slow")
        for nodeid, seconds in _unmarked_slow:
            terminalreporter.line(f"{seconds:6.1f} s  {nodeid}")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that opens a connection to anything but this machine."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else str(address)
        if isinstance(host, str) and not (host.startswith("127.") or host in ("localhost", "::1", "")) and self.family != socket.AF_UNIX:
            raise RuntimeError(f"test tried to reach the network: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("ANSWERDESK_", "SLACK_", "TELEGRAM_")):  # slack_bolt's App reads SLACK_* (even OAuth) by itself
            monkeypatch.delenv(name)


def write_article(root: Path, lang: str, article_id: str, title: str, body: str = "", questions: list[str] | None = None, raw_front: str | None = None) -> Path:
    folder = root / lang
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{article_id}.md"
    if raw_front is not None:
        path.write_text(raw_front, encoding="utf-8")
        return path
    lines = ["---", f"id: {article_id}", f"lang: {lang}", f"title: {title!r}"]
    if questions:
        lines.append("questions:")
        lines += [f"  - {q!r}" for q in questions]
    lines += ["---", body]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def article_writer(tmp_path: Path) -> Callable[..., Path]:
    root = tmp_path / "kb"
    root.mkdir()
    return lambda *a, **k: write_article(root, *a, **k)


@pytest.fixture(scope="session")
def use_encoder():
    from index.encoders import USEEncoder

    return USEEncoder(threads=1)


@pytest.fixture(scope="session")
def real_encoders():
    """The default ensemble (e5+use), loaded once: every end-to-end test uses the real encoders."""
    from index.encoders import DEFAULT, make_encoders

    return make_encoders(DEFAULT, threads=1)


SMALL_KB = [
    ("en", "reset-password", "How to reset your password", "Open Settings, choose Security and press Reset password. We e-mail you a link.",
     ["I forgot my password", "how do I change my password", "can't log in, password lost"]),
    ("tr", "reset-password", "Şifrenizi nasıl sıfırlarsınız", "Ayarlar'ı açın, Güvenlik'i seçin ve Şifreyi sıfırla'ya basın.",
     ["Şifremi unuttum", "şifremi nasıl değiştiririm"]),
    ("en", "refund", "Refunds and returns", "You can return any item within 30 days for a full refund. Refunds reach your card in 5 days.",
     ["I want my money back", "how do I return an item", "refund policy"]),
    ("ar", "refund", "الاسترداد والإرجاع", "يمكنك إرجاع أي منتج خلال 30 يومًا واسترداد المبلغ كاملًا.",
     ["أريد استرداد أموالي", "كيف أرجع منتجًا"]),
    ("en", "shipping", "Shipping times and costs", "Orders ship in 2 business days. Delivery takes 3 to 5 days; shipping is free over 50 euros.",
     ["when will my order arrive", "how much is delivery", "how long does shipping take"]),
    ("en", "opening-hours", "Our opening hours", "Our support team works Monday to Friday, 9:00 to 18:00.",
     ["when are you open", "what are your support hours", "are you open on weekends"]),
    ("en", "delete-account", "Deleting your account", "To delete your account, open Settings, Account, Delete account. This cannot be undone.",
     ["how do I delete my account", "close my account", "remove my profile"]),
]


# A long article (about 2,300 characters, five sections) for focused replies: answers show the
# section that answers, not the whole article. Its crash checklist is short lines, so on a phone
# that section alone is taller than the chat panel.
MOBILE_APP_BODY = """The Answerdesk mobile app lets you follow your orders, chat with us and manage your account from your phone. It works on iOS 16 and Android 11 or newer.

## Installing the app

Search for **Answerdesk** in the App Store or on Google Play and tap Install. Sign in with the e-mail address and password of your account; you do not need a new account for the app. If you use single sign-on at work, tap *Sign in with your company* instead and enter your work e-mail.

## Turning on notifications

Open the app, tap your picture, then **Settings › Notifications**. Switch on *Order updates* to hear when a parcel ships and when it is out for delivery. Switch on *Messages* to be told when our team answers you. If nothing arrives, check that your phone allows notifications for Answerdesk: on iOS under Settings › Notifications, on Android under Settings › Apps › Answerdesk › Notifications.

## Working offline

The app keeps your last 50 orders and their receipts on the phone, so you can show a receipt in a shop without a connection. Changes you make offline, such as a new delivery address, are sent the next time the phone is online. Chat needs a connection.

## Connecting a smart watch

Alerts appear on a paired Apple Watch or Wear OS watch once they are on in the app. To see the tracking code of a parcel on the watch, open the Answerdesk app on the watch and tap the order.

## When the app keeps crashing

Try these steps in order:

1. Update the app.
2. Restart your phone.
3. Free up some storage.
4. Turn off battery saver.
5. Allow mobile data.
6. Check the date and time.
7. Sign out of the app.
8. Sign in again.
9. Clear the app cache.
10. Reinstall the app.
11. Try Wi-Fi instead.
12. Update your phone.
13. Remove old widgets.
14. Allow notifications.
15. Turn off VPN apps.
16. Close other apps.
17. Charge the phone.
18. Try again tomorrow.
19. Note the app version.
20. Note the time it crashed.
21. Write to us with both.
"""
MOBILE_APP = (
    "en", "mobile-app", "Using the mobile app", MOBILE_APP_BODY,
    ["how do I use the mobile app", "the app keeps crashing", "how do I turn on notifications in the app", "can I use the app offline"],
)


@pytest.fixture
def small_kb(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    for lang, article_id, title, body, questions in SMALL_KB:
        write_article(root, lang, article_id, title, body, questions)
    return root


def small_index(root: Path, encoder: object, extra: Callable[[Path], None] | None = None) -> Settings:
    """SMALL_KB (plus whatever `extra` writes) indexed with `encoder` under `root`."""
    for lang, article_id, title, body, questions in SMALL_KB:
        write_article(root / "kb", lang, article_id, title, body, questions)
    if extra:
        extra(root / "kb")
    settings = Settings(kb_dir=str(root / "kb"), index_dir=str(root / "index"))
    reindex(settings, encoder=encoder)
    return settings


def warm_engine(settings: Settings, encoder: object) -> Engine:
    """An engine over the index of `settings`, with everything loaded."""
    engine = Engine(settings, encoder, LiveIndex(settings.index_dir))
    engine.warm_up()
    return engine


@pytest.fixture(scope="session")
def pg_server():
    """One throwaway PostgreSQL server for the session (tests/pg_server.py).

    Skipped where PostgreSQL is not installed, unless ANSWERDESK_TEST_PG=required (.ci/run sets
    it): then a missing server fails the run instead of hiding half the store tests.
    """
    from tests.pg_server import missing_reason, postgres_server

    reason = missing_reason()
    if reason:
        if os.environ.get("ANSWERDESK_TEST_PG") == "required":
            pytest.fail(f"ANSWERDESK_TEST_PG=required but {reason}")
        pytest.skip(reason)
    with postgres_server() as server:
        yield server


@pytest.fixture
def pg_url(pg_server):
    """The URL of a fresh, empty database on the session's server; dropped afterwards."""
    url = pg_server.create_database()
    yield url
    pg_server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database of each kind, for the tests every store backend must pass."""
    if request.param == "sqlite":
        return str(tmp_path / "desk.db")
    return request.getfixturevalue("pg_url")


def on_duty(desk, name: str = "On Duty"):  # type: ignore[no-untyped-def]
    """An agent who is available now (signed in and active), so handoffs wait in the queue
    instead of going straight to missed; returns the agent."""
    store = desk.store
    agent = store.get_agent_by_email("on-duty@example.com") or store.add_agent(name, "on-duty@example.com", "!", [])
    desk.seen(agent.id)
    return agent
