"""Slack latency: from a signed event arriving at /slack/events to the ack, and to the reply
reaching the (local, fake) Slack Web API. Median and p99 over a bounded run.

The real stack: the Flask app with bolt's adapter (in-process test client, signatures
checked), the real USE encoder and index, SQLite on disk, the outbox and its drainer. Two
runs: "paced" sends one DM and waits for its reply (latency alone); "burst" sends all events
from 8 threads at once (the ack under load, and replies including the time queued behind
the others). Usage: python bench/slack_latency.py [--events 300]
"""

from __future__ import annotations

import argparse
import itertools
import logging
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from common import percentile_ms, table, write_kb  # noqa: E402  (puts the repository on sys.path)

from bot.config import Settings
from bot.desk.desk import Desk
from bot.answer.engine import Engine
from bot.desk.hours import parse_hours
from bot.reindex.run import reindex
from bot.store.connect import open_store
from channels.slack.app import EXTENSION, register_slack
from channels.web.app import create_app
from index.encoders import USEEncoder
from index.search import LiveIndex
from tests.channels.slack.fake_slack import SECRET, TEAM, TOKEN, FakeSlack, event_body, signature_headers

ARTICLES = [
    ("en", "reset-password", "How to reset your password", ["I forgot my password", "how do I change my password"], "Open Settings, Security, Reset password."),
    ("tr", "reset-password", "Şifrenizi nasıl sıfırlarsınız", ["Şifremi unuttum", "şifremi nasıl değiştiririm"], "Ayarlar, Güvenlik, Şifreyi sıfırla."),
    ("en", "refund", "Refunds and returns", ["I want my money back", "refund policy"], "Return any item within 30 days."),
    ("es", "refund", "Reembolsos y devoluciones", ["quiero mi dinero", "política de reembolso"], "Devuelve cualquier artículo en 30 días."),
    ("en", "shipping", "Shipping times and costs", ["when will my order arrive", "how much is delivery"], "Orders ship in 2 business days."),
    ("en", "opening-hours", "Our opening hours", ["when are you open", "are you open on weekends"], "Monday to Friday, 9:00 to 18:00."),
]
QUESTIONS = [
    "I forgot my password", "Şifremi unuttum", "how long does shipping take", "quiero devolver un producto",
    "are you open on sunday", "where is my parcel", "can I get a refund for a broken phone", "şifremi değiştirmek istiyorum",
]


_TS = itertools.count(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=300, help="events per run (default 300)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_kb(root / "kb", [(lang, aid, title, qs, body) for lang, aid, title, qs, body in ARTICLES])
        base = Settings(kb_dir=str(root / "kb"), index_dir=str(root / "index"))
        encoder = USEEncoder(threads=1)
        reindex(base, encoder=encoder)
        engine = Engine(base, encoder, LiveIndex(base.index_dir))
        engine.warm_up()
        engine.respond(engine_inbound("I forgot my password"))  # the first search loads the rest
        fake = FakeSlack()
        fake.start()
        users = [f"U{n:04d}" for n in range(30)]
        for n, user in enumerate(users):
            fake.add_user(user, f"User {n}", ["en-US", "tr-TR", "es-ES"][n % 3])
        settings = replace(base, slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_api_url=fake.url)
        rows = []
        for run in ("paced", "burst"):
            store = open_store(str(root / f"{run}.db"))
            desk = Desk(engine, store, parse_hours("24/7", "UTC", ""), timedelta(minutes=3))
            app = create_app(settings, desk=desk)
            register_slack(app, settings, desk)
            acks, replies = measure(app, fake, users, args.events, burst=run == "burst")
            channel = app.extensions[EXTENSION]
            channel.close()
            store.close()
            rows.append((run, len(acks), percentile_ms(acks, 50), percentile_ms(acks, 99), percentile_ms(replies, 50), percentile_ms(replies, 99)))
        fake.stop()
    table(
        f"Slack: signed event -> ack, and -> reply at the Web API ({args.events} DMs per run, ms)",
        ["run", "events", "ack p50", "ack p99", "reply p50", "reply p99"],
        rows,
    )


def engine_inbound(text: str):  # noqa: ANN201
    from bot.answer.engine import Inbound

    return Inbound(text)


def measure(app, fake: FakeSlack, users: list[str], events: int, burst: bool) -> tuple[list[float], list[float]]:  # noqa: ANN001
    """Send `events` signed DMs; (seconds to ack, seconds to reply) per event."""
    started: dict[str, float] = {}
    acked: dict[str, float] = {}
    lock = threading.Lock()

    def send(n: int) -> None:
        user = users[n % len(users)]
        ts = f"{1700000000 + n}.{next(_TS):06d}"  # unique across runs: they share the fake
        event = {"type": "message", "channel": f"D{user}", "channel_type": "im", "user": user,
                 "text": QUESTIONS[n % len(QUESTIONS)], "ts": ts, "team": TEAM}
        body = event_body(event, f"Ev{n:08d}")
        headers = signature_headers(body)
        client = app.test_client()
        with lock:
            started[ts] = time.monotonic()
        response = client.post("/slack/events", data=body, headers=headers, content_type="application/json")
        done = time.monotonic()
        assert response.status_code == 200, response.get_data(as_text=True)
        with lock:
            acked[ts] = done
        if not burst:
            fake.wait_for(lambda: fake.sent(thread_ts=ts), timeout=30)

    if burst:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(send, range(events)))
    else:
        for n in range(events):
            send(n)
    fake.wait_for(lambda: len({c.args.get("thread_ts") for c in fake.sent()} & set(started)) == len(started), timeout=120)
    first_reply: dict[str, float] = {}
    for call in fake.sent():
        ts = call.args.get("thread_ts")
        if ts in started and ts not in first_reply:
            first_reply[ts] = call.at
    acks = [acked[ts] - started[ts] for ts in started]
    replies = [first_reply[ts] - started[ts] for ts in started]
    return acks, replies


if __name__ == "__main__":
    main()
