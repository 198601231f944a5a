"""Slack and Telegram down for a whole minute while customers keep writing: every reply and every
agents' desk card waits in the outbox and arrives exactly once, soon after the APIs come back.

Real threads: the web app with both channels mounted over one desk, the outbox drainers, the
relay and desk watcher tickers, and the fake APIs of tests/channels. The minute is the outbox's:
both channels' outbox and drainers run on a clock the test moves forward (`SkippingClock`), so
retries fall due as they would in that minute, and the test takes what the work takes, not 60 s.
"Down" is both kinds of outage, in phases within the same minute:

    0-25 s   Slack answers 503 service_unavailable     Telegram refuses connections (server stopped)
    25-45 s  Slack refuses connections (server stopped) Telegram answers 502 Bad Gateway
    45-60 s                  (still refused)           Telegram answers 429, retry_after 3
    60 s     both back on the same port

Bound after recovery, on the same clock: a row that failed just before the API came back waits at
most its backoff, BACKOFF_CAP_SECONDS plus 20 % jitter (bot/delivery/outbox.py), then one drainer
poll; a few seconds more cover the rows queued behind it in the same chat.
"""

from __future__ import annotations

import itertools
import logging
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from bot.config import Settings
from bot.desk.desk import Desk, utc_now
from bot.answer.engine import Engine
from bot.desk.hours import parse_hours
from bot.delivery.sql_delivery import open_cards
from bot.delivery.outbox import BACKOFF_CAP_SECONDS, OutboxItem
from bot.delivery.sql_outbox import open_outbox
from bot.store.connect import open_store
from channels.slack.app import POLL_SECONDS, SlackChannel
from channels.telegram.app import SECRET_HEADER, WEBHOOK_PATH, TelegramChannel
from channels.slack.app import register_slack
from channels.telegram.app import register_telegram
from channels.web.app import create_app
from tests.channels.slack import fake_slack
from tests.channels.slack.fake_slack import TEAM, FakeSlack, event_body, signature_headers
from tests.channels.telegram import fake_telegram
from tests.channels.telegram.fake_telegram import FakeTelegram, message_update
from tests.conftest import on_duty, small_index, warm_engine


AGENTS = "C0AGENTS"
SLACK, TELEGRAM = "slack", "telegram"  # the channels' names: in the store, the outbox and app.extensions
OUTAGE_SECONDS = 60.0
RECOVERY_BOUND = 1.2 * BACKOFF_CAP_SECONDS + POLL_SECONDS + 4.0


class SkippingClock:
    """Real time, plus the seconds the test skipped: what the outbox and its drainers read."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def __call__(self) -> datetime:
        return utc_now() + timedelta(seconds=self.skipped)

    def skip(self, seconds: float) -> None:
        self.skipped += max(0.0, seconds)


class Outage:
    """Mixed into a fake API: stop it (connection refused), make it answer an error, bring it back on its port."""

    refusing = False
    failing: tuple[int, int | None] | None = None  # (HTTP status, Retry-After)
    _server: Any
    _held: socket.socket | None = None
    thread_name: str

    def refuse(self) -> None:
        self.failing = None
        self.refusing = True  # connections the client keeps alive outlive the server: drop their requests too
        self.stop()  # type: ignore[attr-defined]
        # Keep the port bound, not listening: connecting is refused, and no other socket takes the port meanwhile.
        self._held = socket.socket()
        self._held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._held.bind(self._server.server_address)

    def fail_with(self, status: int, retry_after: int | None = None) -> None:
        if self.refusing:
            self.come_back()
        self.failing = (status, retry_after)

    def come_back(self) -> None:
        self.failing = None
        if self.refusing:
            old = self._server
            server = type(old)(old.server_address, old.RequestHandlerClass)  # the same port
            server.daemon_threads = True
            self._server = server
            threading.Thread(target=server.serve_forever, args=(0.05,), name=self.thread_name, daemon=True).start()
            self.refusing = False
            if self._held is not None:
                self._held.close()
                self._held = None

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        if self.refusing:
            request.close_connection = True  # closed without an answer, never recorded
            return
        super()._handle(request)  # type: ignore[misc]


class DownSlack(Outage, FakeSlack):
    def _answer(self, method: str, args: dict[str, Any], auth: str | None) -> tuple[int, dict[str, Any], dict[str, str]]:
        if self.failing is not None:
            return self.failing[0], {"ok": False, "error": "service_unavailable"}, {}
        return super()._answer(method, args, auth)


class DownTelegram(Outage, FakeTelegram):
    def _answer(self, method: str, args: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.failing is not None:
            status, retry_after = self.failing
            if status == 429:
                return 429, {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {retry_after}",
                             "parameters": {"retry_after": retry_after}}
            return status, {"ok": False, "error_code": status, "description": "Bad Gateway"}
        return super()._answer(method, args)


@dataclass
class Both:
    app: Flask
    desk: Desk
    slack: DownSlack
    telegram: DownTelegram
    clock: SkippingClock
    sent_slack: list[str]  # external ids of the customers' Slack messages, each posted at least once
    sent_telegram: list[str]

    def dm(self, user: str, text: str, ts: str | None = None, event_id: str | None = None, retry: int | None = None) -> tuple[str, str]:
        """A signed Slack DM event through the app; (ts, event id), to send it again as Slack's retry."""
        ts = ts or _ts()
        event_id = event_id or f"Ev{next(_ids):08d}"
        event = {"type": "message", "channel": f"D{user}", "channel_type": "im", "user": user, "text": text, "ts": ts, "team": TEAM}
        body = event_body(event, event_id)
        headers = signature_headers(body)
        if retry is not None:
            headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
        response = self.app.test_client().post("/slack/events", data=body, headers=headers, content_type="application/json")
        assert response.status_code == 200, response.get_data(as_text=True)
        self.sent_slack.append(f"{TEAM}:D{user}:{ts}")
        return ts, event_id

    def say(self, chat_id: int, text: str, lang: str = "en", update: dict[str, Any] | None = None) -> dict[str, Any]:
        """A Telegram update posted to the webhook (`update` again: Telegram redelivering it)."""
        update = update or message_update(chat_id, chat_id, text, lang=lang)
        response = self.app.test_client().post(WEBHOOK_PATH, json=update, headers={SECRET_HEADER: fake_telegram.SECRET})
        assert response.status_code == 200, response.get_data(as_text=True)
        self.sent_telegram.append(f"{chat_id}:{update['message']['message_id']}")
        return update

    def idle(self, timeout: float, sent: bool = True) -> None:
        """Wait until the channels have nothing to do: every row sent (or, `sent=False`, every row
        that is due tried, the rest waiting for their retry time on the outbox's clock)."""
        slack: SlackChannel = self.app.extensions[SLACK]
        telegram: TelegramChannel = self.app.extensions[TELEGRAM]
        assert slack.wait_idle(timeout, sent=sent) and telegram.wait_idle(timeout, sent=sent), "the channels did not settle"

    def skip_to(self, moment: datetime) -> None:
        """Move the outbox's clock to `moment`, and let the drainers try what fell due by then."""
        self.clock.skip((moment - self.clock()).total_seconds())
        for name in (SLACK, TELEGRAM):
            self.app.extensions[name].core.drainer.wake()
        self.idle(30, sent=False)


_ids = itertools.count(1)
_clock_ts = itertools.count(1)


def _ts() -> str:
    n = next(_clock_ts)
    return f"{1650000000 + n}.{n:06d}"


@pytest.fixture(scope="module")
def outage_engine(tmp_path_factory: pytest.TempPathFactory, real_encoders: Any) -> Engine:
    return warm_engine(small_index(tmp_path_factory.mktemp("outage"), real_encoders), real_encoders)


@pytest.fixture
def both(tmp_path: Path, outage_engine: Engine) -> Iterator[Both]:
    slack, telegram = DownSlack(), DownTelegram()
    slack.start()
    telegram.start()
    for user, name, locale in (("U0JOHN", "John", "en-US"), ("U0AYSE", "Ayşe", "tr-TR"), ("U0MIA", "Mia", "en-GB"),
                               ("U0LEO", "Leo", "en-US"), ("U0ZOE", "Zoe", "en-US")):
        slack.add_user(user, name, locale)
    settings: Settings = replace(
        outage_engine.settings,
        slack_bot_token=fake_slack.TOKEN, slack_signing_secret=fake_slack.SECRET, slack_agents_channel=AGENTS, slack_api_url=slack.url,
        telegram_bot_token=fake_telegram.TOKEN, telegram_webhook_secret=fake_telegram.SECRET, telegram_api_url=telegram.url,
    )
    store = open_store(str(tmp_path / "desk.db"))
    desk = Desk(outage_engine, store, parse_hours("24/7", "UTC", ""), timedelta(seconds=180), clock=utc_now)
    on_duty(desk)  # handoffs wait for an agent, as with a team signed in
    clock = SkippingClock()
    app = create_app(settings, desk=desk)  # both channels on it, as channels.serve.build_app mounts them, on the test's clock
    assert register_slack(app, settings, desk, clock=clock) and register_telegram(app, settings, desk, clock=clock)
    app.config.update(TESTING=True)
    yield Both(app, desk, slack, telegram, clock, [], [])
    for name in (TELEGRAM, SLACK):
        app.extensions[name].close()
    app.extensions["answerdesk"].reindex.wait(60)
    store.close()
    slack.come_back()  # a server stopped by the test is started again only to be stopped
    slack.stop()
    telegram.come_back()
    telegram.stop()


def test_a_minute_without_slack_and_telegram_delays_replies_and_cards_and_loses_or_doubles_none(
    both: Both, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.delivery.outbox")
    # Up: one message each, so Telegram's client holds a kept-alive connection when its server stops.
    both.dm("U0JOHN", "how long does shipping take")
    both.say(801, "when are you open")
    both.slack.wait_sent(channel="DU0JOHN")
    both.telegram.wait_sent(chat_id=801)
    both.idle(20)

    down, down_on_the_clock = time.monotonic(), both.clock()

    def at(second: float) -> None:
        both.skip_to(down_on_the_clock + timedelta(seconds=second))

    both.slack.fail_with(503)
    both.telegram.refuse()
    at(1)
    both.dm("U0JOHN", "I forgot my password")
    both.say(802, "how much is delivery")
    at(5)
    ayse_ts, ayse_event = both.dm("U0AYSE", "Şifremi unuttum")
    refund = both.say(803, "I want my money back")
    at(9)
    both.dm("U0MIA", "I want to talk to a human")  # a handoff: a card in the agents' channel
    both.say(804, "/human")  # a Telegram handoff: a card in Slack's agents' channel too
    at(14)
    both.dm("U0JOHN", "how much is delivery")  # a second question in the same DM: after the first reply
    both.dm("U0AYSE", "Şifremi unuttum", ts=ayse_ts, event_id=ayse_event, retry=1)  # Slack retries an event it thinks we missed
    both.say(803, "", update=refund)  # Telegram redelivers an update
    at(19)
    both.say(802, "how do I delete my account")

    both.slack.refuse()
    both.telegram.fail_with(502)
    at(27)
    both.dm("U0MIA", "hello? is anyone there")  # waiting: the bot is silent, the card's thread gets it
    both.say(804, "still waiting for a person")
    at(33)
    both.dm("U0LEO", "when are you open")
    both.say(805, "when will my order arrive", lang="en")
    at(40)
    both.dm("U0ZOE", "refund policy")

    both.telegram.fail_with(429, retry_after=3)
    at(47)
    both.say(806, "Şifremi unuttum", lang="tr")
    at(52)
    both.dm("U0LEO", "how do I delete my account")
    both.say(805, "how do I return an item")
    at(OUTAGE_SECONDS)

    # Nothing got through while they were down, though the drainers kept trying.
    back = time.monotonic()
    assert not [c for c in both.slack.calls + both.telegram.calls if c.ok and down < c.at]
    outbox = open_outbox(both.desk.store)
    assert outbox.pending("slack") >= 9 and outbox.pending("telegram") >= 7
    both.slack.come_back()
    both.telegram.come_back()

    # Back: a second of the outbox's clock at a time, everything is delivered within the bound.
    back_on_the_clock, waited = both.clock(), 0
    while outbox.pending() and waited < RECOVERY_BOUND:
        waited += 1
        both.skip_to(back_on_the_clock + timedelta(seconds=waited))
    assert outbox.pending() == 0, f"undelivered {RECOVERY_BOUND:.0f} s after the APIs came back: {outbox.pending()}"
    both.idle(10)
    assert [c for c in both.slack.calls + both.telegram.calls if c.ok and c.at > back]

    # Both kinds of outage were met, and retried rather than given up.
    seen = " ".join(r.getMessage() for r in caplog.records)
    for failure in ("Slack answered service_unavailable (HTTP 503)", "cannot reach Slack: URLError: <urlopen error [Errno 111] Connection refused>",
                    "cannot reach Telegram: NetworkError: httpx.ConnectError", "cannot reach Telegram: NetworkError: Bad Gateway",
                    "Telegram flood control"):
        assert failure in seen, failure

    _assert_each_customer_message_stored_once(both)
    _assert_each_row_sent_once(both)
    _assert_every_reply_and_card_arrived(both)


def _assert_each_customer_message_stored_once(both: Both) -> None:
    store = both.desk.store
    stored = Counter(
        (c.channel, m.external_id) for c in store.list_conversations() for m in store.list_messages(c.id) if m.author == "customer"
    )
    expected = {("slack", e) for e in both.sent_slack} | {("telegram", e) for e in both.sent_telegram}
    assert set(stored) == expected
    assert set(stored.values()) == {1}
    assert len(both.sent_slack) - len(set(both.sent_slack)) == 1  # Slack's retry of one event
    assert len(both.sent_telegram) - len(set(both.sent_telegram)) == 1  # Telegram's redelivery of one update


def _assert_each_row_sent_once(both: Both) -> None:
    """Every outbox row is sent (none pending or failed) and matches exactly one successful API call, and back."""
    outbox = open_outbox(both.desk.store)
    cards = open_cards(both.desk.store)
    rows = outbox.items()
    assert [(r.dedup_key, r.status) for r in rows if r.status != "sent"] == []

    def as_sent(row: OutboxItem) -> tuple[Any, ...]:
        """The call the row makes: (API, method, chat, thread, message, text); a card's ts is filled in at send time."""
        args = dict(row.payload["args"])
        if row.channel == "telegram":
            return ("telegram", row.payload["method"], args["chat_id"], None, None, args["text"])
        if row.payload.get("use") in ("thread", "update"):
            card = cards.get_card(int(row.payload["card"]))
            assert card is not None and card.ref is not None
            channel, ts = card.ref.split(":", 1)
            args.update(thread_ts=ts) if row.payload["use"] == "thread" else args.update(channel=channel, ts=ts)
        return ("slack", row.payload["method"], args.get("channel"), args.get("thread_ts"), args.get("ts"), args.get("text"))

    expected = Counter(as_sent(row) for row in rows)
    assert [(r.dedup_key, r.payload["args"]) for r in rows if expected[as_sent(r)] > 1] == []  # rows differ in chat, thread or text
    sent = Counter(
        ("slack", c.method, c.args.get("channel"), c.args.get("thread_ts"), c.args.get("ts"), c.args.get("text"))
        for c in both.slack.calls if c.ok and c.method.startswith("chat.")
    )
    sent.update(("telegram", c.method, c.args["chat_id"], None, None, c.args["text"]) for c in both.telegram.calls if c.ok and c.method == "sendMessage")
    assert sent == expected


def _assert_every_reply_and_card_arrived(both: Both) -> None:
    """From the store's side: each bot message has its row, each handoff its card, each later customer line its thread copy."""
    store = both.desk.store
    outbox = open_outbox(store)
    cards = open_cards(store)
    conversations = store.list_conversations()
    waiting = {c.id for c in conversations if c.state == "waiting"}
    assert {c.channel for c in conversations if c.id in waiting} == {"slack", "telegram"}
    for conversation in conversations:
        said = store.list_messages(conversation.id)
        for message in said:
            if message.author == "bot":
                key = f"msg:{message.id}" if conversation.channel == "slack" else f"msg:{message.id}:0"
                row = outbox.find(conversation.channel, key)
                assert row is not None and row.status == "sent", (conversation.channel, message.text)
        if conversation.id in waiting:
            [card] = [c for c in cards.active_cards("slack") if c.conversation_id == conversation.id]
            posted = outbox.find("slack", f"card:{card.id}")
            assert posted is not None and posted.status == "sent" and card.ref == f"{AGENTS}:{posted.result['ts']}"
            later = [m for m in said if m.author == "customer" and m.id > _handoff_id(said)]
            assert later, "each waiting customer wrote again"
            for message in later:
                mirrored = outbox.find("slack", f"mirror:{card.id}:{message.id}")
                assert mirrored is not None and mirrored.status == "sent" and message.text in mirrored.payload["args"]["text"]
    # And from the customers' side: every question before a handoff got its answer, on Slack in its own thread.
    for external_id in set(both.sent_slack):
        _team, channel, ts = external_id.split(":")
        assert both.slack.sent(channel=channel, thread_ts=ts) or _is_after_handoff(store, external_id), external_id
    for chat in {e.split(":")[0] for e in both.sent_telegram}:
        asked = {e for e in both.sent_telegram if e.startswith(f"{chat}:") and not _is_after_handoff(store, e)}
        assert len(both.telegram.sent(chat_id=int(chat))) >= len(asked), chat


def _handoff_id(said: list[Any]) -> int:
    return max((m.id for m in said if m.author == "bot" and (m.action or "").startswith("handoff")), default=0)


def _is_after_handoff(store: Any, external_id: str) -> bool:
    for conversation in store.list_conversations():
        said = store.list_messages(conversation.id)
        for message in said:
            if message.external_id == external_id:
                return message.id > _handoff_id(said) > 0
    return False
