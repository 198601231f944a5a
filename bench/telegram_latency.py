"""Telegram latency: from an update arriving (POSTed to /telegram/webhook, or returned by getUpdates)
to its reply's sendMessage reaching the (local, fake) Bot API. Median and p99 over a bounded run.

The real stack: python-telegram-bot's Application on its event-loop thread, the Flask app
(in-process test client, secret checked) for the webhook, long polling against the fake for
the other mode, the real USE encoder and index, SQLite on disk, the outbox and its workers.
Paced: one update, then wait for its reply (latency alone). In polling mode the fake answers
a waiting getUpdates as soon as an update is queued, as Telegram does.
Usage: python bench/telegram_latency.py [--updates 300]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from common import percentile_ms, table, write_kb  # noqa: E402  (puts the repository on sys.path)

from bot.config import Settings
from bot.desk.desk import Desk
from bot.answer.engine import Engine, Inbound
from bot.desk.hours import parse_hours
from bot.reindex.run import reindex
from bot.store.connect import open_store
from channels.telegram.app import EXTENSION, SECRET_HEADER, WEBHOOK_PATH, TelegramChannel, register_telegram
from channels.telegram.config import TelegramConfig
from channels.web.app import create_app
from index.encoders import USEEncoder
from index.search import LiveIndex
from tests.channels.telegram.conftest import telegram_settings
from tests.channels.telegram.fake_telegram import SECRET, FakeTelegram, message_update

ARTICLES = [
    ("en", "reset-password", "How to reset your password", ["I forgot my password", "how do I change my password"], "Open Settings, Security, Reset password."),
    ("tr", "reset-password", "Şifrenizi nasıl sıfırlarsınız", ["Şifremi unuttum", "şifremi nasıl değiştiririm"], "Ayarlar, Güvenlik, Şifreyi sıfırla."),
    ("en", "refund", "Refunds and returns", ["I want my money back", "refund policy"], "Return any item within 30 days."),
    ("ar", "refund", "الاسترداد والإرجاع", ["أريد استرداد أموالي", "كيف أرجع منتجًا"], "يمكنك إرجاع أي منتج خلال 30 يومًا."),
    ("es", "refund", "Reembolsos y devoluciones", ["quiero mi dinero", "política de reembolso"], "Devuelve cualquier artículo en 30 días."),
    ("en", "shipping", "Shipping times and costs", ["when will my order arrive", "how much is delivery"], "Orders ship in 2 business days."),
]
QUESTIONS = [("I forgot my password", "en"), ("Şifremi unuttum", "tr"), ("how long does shipping take", "en"),
             ("quiero devolver un producto", "es"), ("أريد استرداد أموالي", "ar"), ("where is my parcel", "en")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=300, help="updates per mode (default 300)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_kb(root / "kb", ARTICLES)
        base = Settings(kb_dir=str(root / "kb"), index_dir=str(root / "index"))
        encoder = USEEncoder(threads=1)
        reindex(base, encoder=encoder)
        engine = Engine(base, encoder, LiveIndex(base.index_dir))
        engine.warm_up()
        engine.respond(Inbound("I forgot my password"))
        fake = FakeTelegram()
        fake.start()
        settings = telegram_settings(base, fake)
        rows = []
        for mode in ("webhook", "polling"):
            store = open_store(str(root / f"{mode}.db"))
            desk = Desk(engine, store, parse_hours("24/7", "UTC", ""), timedelta(minutes=3))
            if mode == "webhook":
                app = create_app(base, desk=desk)
                register_telegram(app, settings, desk)
                channel: TelegramChannel = app.extensions[EXTENSION]
                client = app.test_client()

                def send(update: dict) -> None:
                    assert client.post(WEBHOOK_PATH, json=update, headers={SECRET_HEADER: SECRET}).status_code == 200
            else:
                channel = TelegramChannel(TelegramConfig.from_settings(settings), desk)
                channel.start()
                channel.start_polling(timeout=10)
                fake.max_poll_wait = 10.0
                send = fake.queue_update
            acks, replies = [], []
            for n in range(args.updates):
                chat = (1 if mode == "webhook" else 2) * 1_000_000 + n  # a chat per update: each reply is found by its chat
                text, lang = QUESTIONS[n % len(QUESTIONS)]
                started = time.monotonic()
                send(message_update(chat, chat, text, lang=lang))
                acks.append(time.monotonic() - started)
                [reply] = fake.wait_sent(chat_id=chat, timeout=30)
                replies.append(reply.at - started)
            channel.close()
            store.close()
            rows.append((mode, args.updates, percentile_ms(acks, 50) if mode == "webhook" else "-", percentile_ms(acks, 99) if mode == "webhook" else "-",
                         percentile_ms(replies, 50), percentile_ms(replies, 99)))
        fake.stop()
    table(
        f"Telegram: update -> sendMessage at the Bot API ({args.updates} paced updates per mode, ms)",
        ["mode", "updates", "200 p50", "200 p99", "reply p50", "reply p99"],
        rows,
    )


if __name__ == "__main__":
    main()
