"""`answerdesk serve` killed with SIGKILL right after Slack and Telegram were told "got it": every
acknowledged message is answered exactly once, by the next process, within 60 s of it serving.

Real processes and real HTTP: the served app with both channels on, aimed at the fake Slack and
Telegram APIs of tests/channels on 127.0.0.1; signed Slack events and Telegram webhook updates
posted to it in parallel. The messages still in the first process's hands when it dies were
kept before the ack (`ChatCore.keep`); the second process's sweep (bot/desk/recovery.py) answers
them, including those younger than the quiet period when it starts.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.delivery.outbox import LEASE_SECONDS
from bot.store.connect import open_store
from bot.store.model import Message
from tests.channels.slack.fake_slack import SECRET as SLACK_SECRET
from tests.channels.slack.fake_slack import TEAM, FakeSlack, event_body, signature_headers
from tests.channels.telegram.fake_telegram import SECRET as TELEGRAM_SECRET
from tests.channels.telegram.fake_telegram import TOKEN as TELEGRAM_TOKEN
from tests.channels.telegram.fake_telegram import FakeTelegram, message_update
from tests.conftest import small_index
from tests.served import HOST, Served

pytestmark = pytest.mark.slow  # two real server starts with the real encoders

PER_CHANNEL = 8
ANSWER_BOUND = 60.0
QUESTIONS = ("how much is delivery", "I forgot my password", "refund policy", "when are you open", "how do I delete my account")


def post(port: int, path: str, body: str, headers: dict[str, str]) -> int:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request("POST", path, body.encode(), {"Content-Type": "application/json", **headers})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def in_parallel(calls: list[Callable[[], int]]) -> list[int]:
    statuses: list[int] = [0] * len(calls)

    def run(n: int) -> None:
        statuses[n] = calls[n]()

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return statuses


def answers_of(db: str) -> dict[str, int]:
    """Each customer message's external id → how many bot replies are marked as answering it."""
    store = open_store(db)
    try:
        counts: dict[str, int] = {}
        for conversation_id in {m.conversation_id for m in store.list_messages_since(store_epoch())}:
            messages: list[Message] = store.list_messages(conversation_id)
            for m in messages:
                if m.author == "customer" and m.external_id:
                    counts[m.external_id] = sum(1 for r in messages if r.author == "bot" and (r.decision or {}).get("answers") == m.id)
        return counts
    finally:
        store.close()


def store_epoch():  # type: ignore[no-untyped-def]
    from datetime import datetime, timezone

    return datetime(2000, 1, 1, tzinfo=timezone.utc)


def test_a_process_killed_after_the_acks_leaves_nothing_unanswered(tmp_path: Path, use_encoder: object) -> None:
    settings = small_index(tmp_path, use_encoder)  # USE alone: each server starts in seconds, the sweep is what is tested
    slack, telegram = FakeSlack(), FakeTelegram()
    slack.start()
    telegram.start()
    for n in range(PER_CHANNEL):
        slack.add_user(f"U0C{n}", f"Customer {n}", "en-US")
    db = str(tmp_path / "desk.db")
    env = {
        "ANSWERDESK_KB": settings.kb_dir, "ANSWERDESK_INDEX": settings.index_dir, "ANSWERDESK_DB": db, "ANSWERDESK_ENCODER": "use",
        "SLACK_BOT_TOKEN": slack.token, "SLACK_SIGNING_SECRET": SLACK_SECRET, "SLACK_API_URL": slack.url,
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN, "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET, "TELEGRAM_API_URL": telegram.url,
    }
    first = second = None
    try:
        first = Served(env, tmp_path / "first.log")
        ts = itertools.count(1)
        sent: dict[str, tuple[str, object]] = {}  # external id → (channel, where its answer goes)
        calls: list[Callable[[], int]] = []
        for n in range(PER_CHANNEL):
            stamp = f"1700000000.{next(ts):06d}"
            event = {"type": "message", "channel": f"D0C{n}", "channel_type": "im", "user": f"U0C{n}",
                     "text": QUESTIONS[n % len(QUESTIONS)], "ts": stamp, "team": TEAM}
            body = event_body(event, f"Ev{n:04d}")
            sent[f"{TEAM}:D0C{n}:{stamp}"] = ("slack", stamp)
            calls.append(lambda body=body: post(first.port, "/slack/events", body, signature_headers(body)))
            update = message_update(9000 + n, 9000 + n, QUESTIONS[(n + 2) % len(QUESTIONS)], lang="en")
            sent[f"{9000 + n}:{update['message']['message_id']}"] = ("telegram", 9000 + n)
            calls.append(lambda update=update: post(
                first.port, "/telegram/webhook", json.dumps(update), {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}))
        statuses = in_parallel(calls)
        os.killpg(first.process.pid, signal.SIGKILL)  # right after the last ack
        first.process.wait(30)
        assert statuses == [200] * len(calls), statuses

        kept = answers_of(db)
        assert set(sent) <= set(kept), f"acknowledged but not stored: {sorted(set(sent) - set(kept))}"
        left = sorted(k for k in sent if kept[k] == 0)
        print(f"\n{len(left)} of {len(sent)} acknowledged messages unanswered when the process died")

        second = Served(env, tmp_path / "second.log")
        deadline = time.monotonic() + ANSWER_BOUND
        while any(count == 0 for key, count in answers_of(db).items() if key in sent):
            assert time.monotonic() < deadline, (
                f"unanswered {ANSWER_BOUND:g} s after the restart: "
                f"{[k for k, c in answers_of(db).items() if k in sent and c == 0]}\n{second.output()[-2000:]}"
            )
            time.sleep(0.5)
        answered = answers_of(db)
        assert {k: answered[k] for k in sent} == {k: 1 for k in sent}, "a message answered more than once"

        def delivered() -> dict[str, int]:
            found = {}
            for key, (channel, where) in sent.items():
                if channel == "slack":
                    found[key] = len([c for c in slack.sent("chat.postMessage", thread_ts=where)])
                else:
                    found[key] = len(telegram.sent("sendMessage", chat_id=where))
            return found

        # The outbox sends what the store holds. A row the killed process had claimed but not sent
        # waits out its lease first (the crash window the outbox documents), so allow for it.
        deadline = time.monotonic() + LEASE_SECONDS + 15
        while any(count == 0 for count in delivered().values()):
            assert time.monotonic() < deadline, f"answered but never sent: {delivered()}"
            time.sleep(0.2)
        second.stop()
        # One answer each on the platform too: the outbox's keys ("msg:<id>") cross processes.
        assert delivered() == {k: 1 for k in sent}, delivered()
    finally:
        for served in (first, second):
            if served is not None:
                served.stop()
        slack.stop()
        telegram.stop()
