"""The Telegram channel wired together: one asyncio loop thread owning the `Application`, and the chat core (channels/chat).

Why a loop thread: python-telegram-bot is asyncio and the web app is WSGI (Flask on request
threads). One dedicated thread runs an event loop that owns the `Application` and its `Bot`
(their HTTP client and queues belong to that loop). The Flask route only checks the secret,
parses the JSON into an `Update` and drops it into the Application's `update_queue` with
`loop.call_soon_threadsafe`, then answers 200 at once: a slow Telegram API or a slow engine
never holds a request thread the web widget needs. Polling mode (`Updater.start_polling`)
fills the same queue, so both modes go through one path: the Application's fetcher takes
updates in arrival order and our handlers hand them to the core's worker threads, one job at a
time per customer, in order (the desk and the engine are synchronous and CPU-bound; the loop must
not run them). Outgoing calls go through the core's outbox (bot/delivery/outbox.py): its worker
threads hand each call to the loop (`run_coroutine_threadsafe(...).result()`) and retry with
backoff, honouring RetryAfter.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from typing import Any

from flask import Flask, Response, request
from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, TypeHandler, filters

from bot.desk.desk import Desk
from bot.store.model import utc_now
from bot.errors import ConfigError
from bot.untrusted import too_deep
from channels.chat.core import POLL_SECONDS, SENDERS, WORKERS, ChatCore
from channels.telegram import messages
from channels.telegram.config import TelegramConfig
from channels.telegram.customers import TelegramCustomers
from channels.telegram.inbound import MAX_DEPTH, NotAnUpdate, label_of, message_of, press_of, update_of
from channels.telegram.sender import TelegramSender

log = logging.getLogger(__name__)

EXTENSION = "telegram"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query"]
CALL_TIMEOUT = 30.0  # longer than the Bot's own HTTP timeouts, shorter than the outbox lease
RETRY_START_SECONDS = 30.0


class TelegramChannel:
    """Everything the Telegram channel runs; `start()` its threads (and `start_polling()`), `close()` them."""

    def __init__(self, config: TelegramConfig, desk: Desk, *, workers: int = WORKERS, senders: int = SENDERS, poll_seconds: float = POLL_SECONDS,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.config = config
        self.desk = desk
        self.loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self.loop.run_forever, name="telegram-loop", daemon=True)
        self.application: Application = (  # type: ignore[type-arg]
            ApplicationBuilder()
            .token(config.bot_token)
            .base_url(config.api_url)
            .base_file_url(config.file_url)
            .build()
        )
        self.application.add_handler(MessageHandler(filters.UpdateType.MESSAGE, self._on_message))
        self.application.add_handler(CallbackQueryHandler(self._on_press))
        self.application.add_handler(TypeHandler(Update, self._processed), group=1)  # after the handlers above, for every update
        self.application.add_error_handler(self._on_error)
        self._fed: Counter[int] = Counter()  # webhook updates queued and not yet through the handlers (wait_idle)
        self._fed_lock = threading.Lock()
        sender = TelegramSender(self.application.bot, self.run)
        self.core = ChatCore(desk, TelegramCustomers(), sender, workers=workers, senders=senders, poll_seconds=poll_seconds, clock=clock)
        self.ready = threading.Event()  # the Application is initialised and taking updates
        self.polling = False

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        """Start the loop, the Application (getMe), and the core's outbox workers and relay."""
        self._loop_thread.start()
        try:
            self.run(self._start_application())
        except InvalidToken as e:
            self._stop_loop()
            raise ConfigError("TELEGRAM_BOT_TOKEN", self.config.bot_token.split(":")[0] + ":…", messages.TOKEN_REFUSED.format(error=e)) from e
        except (TelegramError, OSError, TimeoutError) as e:
            log.warning(messages.TELEGRAM_UNREACHABLE.format(url=self.config.api_url, error=e, every=RETRY_START_SECONDS))
            asyncio.run_coroutine_threadsafe(self._keep_trying(), self.loop)
        self.core.start()

    def answer_orphans(self) -> int:
        """Answer messages a worker stored and acknowledged but died before answering; how many."""
        return self.core.answer_orphans()

    def start_polling(self, timeout: int = 10) -> None:
        """Long polling (getUpdates) instead of the webhook; the updates take the same path."""
        self.run(self.application.updater.start_polling(  # type: ignore[union-attr]
            poll_interval=0.0, timeout=timeout, allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False,
        ), timeout=CALL_TIMEOUT + timeout)
        self.polling = True

    def close(self) -> None:
        """Stop taking updates, finish the work under way, stop the threads; undelivered rows wait in the outbox."""
        if self.polling and self.application.updater is not None:
            self.run(self.application.updater.stop(), timeout=CALL_TIMEOUT)
            self.polling = False
        self.core.close()
        if self.ready.is_set():
            self.ready.clear()
            self.run(self._stop_application(), timeout=CALL_TIMEOUT)
        self._stop_loop()

    def wait_idle(self, timeout: float = 15.0, *, sent: bool = True) -> bool:
        """Wait until no update is queued or worked on, nothing new is to relay, and the outbox is empty
        (tests, bench; `sent=False`: until nothing in it is due, see `ChatCore.wait_idle`)."""
        return self.core.wait_idle(timeout, quiet=lambda: not self._fed and self.application.update_queue.empty(), sent=sent)

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout: float = CALL_TIMEOUT) -> Any:
        """Run a coroutine on the channel's loop from any other thread, and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    async def _start_application(self) -> None:
        await self.application.initialize()  # getMe: the bot's id and username, to recognise mentions and replies
        await self.application.start()
        self.ready.set()
        bot = self.application.bot.bot
        log.info("Telegram channel on as @%s", bot.username)

    async def _keep_trying(self) -> None:
        while not self.ready.is_set():
            await asyncio.sleep(RETRY_START_SECONDS)
            try:
                await self._start_application()
            except TelegramError as e:
                log.warning(messages.TELEGRAM_UNREACHABLE.format(url=self.config.api_url, error=e, every=RETRY_START_SECONDS))

    async def _stop_application(self) -> None:
        await self.application.stop()
        await self.application.shutdown()

    def _stop_loop(self) -> None:
        if self._loop_thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._loop_thread.join(5)

    # -- in ---------------------------------------------------------------------------------
    def feed(self, data: Mapping[str, Any]) -> None:
        """One update as Telegram posts it: queued for the Application, never waited for (NotAnUpdate: not queued)."""
        update, message = update_of(data, self.application.bot)
        if message is not None:
            # Stored before Telegram gets its 200 (StorageError: 503, and Telegram sends it again).
            self.core.keep(message.inbound())
        with self._fed_lock:
            self._fed[update.update_id] += 1
        self.loop.call_soon_threadsafe(self.application.update_queue.put_nowait, update)

    async def _on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = message_of(update, context.bot.bot)
        if message is not None:
            self.core.queue(message.inbound())

    async def _on_press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is not None:
            # Stops the button's spinner; not through the outbox: an answer is only useful within seconds.
            self.application.create_task(self._answer_press(query.id, label_of(query)), update=update)
        press = press_of(update)
        if press is not None:
            self.core.queue_press(press)

    async def _processed(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        with self._fed_lock:
            self._fed[update.update_id] -= 1
            if self._fed[update.update_id] <= 0:
                del self._fed[update.update_id]

    async def _answer_press(self, query_id: str, label: str) -> None:
        try:
            await self.application.bot.answer_callback_query(query_id, text=f"✓ {label}" if label else None)
        except TelegramError as e:  # too old, or answered already: the click still counts
            log.info("answerCallbackQuery %s: %s", query_id, e)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("Telegram update %s failed", getattr(update, "update_id", None), exc_info=context.error)


def register_telegram(flask_app: Flask, settings: object, desk: Desk, clock: Callable[[], datetime] = utc_now) -> bool:
    """Mount the Telegram webhook at /telegram/webhook and start the channel; False, and says why, when not configured."""
    if EXTENSION in flask_app.extensions:
        return True
    config = TelegramConfig.from_settings(settings)
    if not config.enabled:
        log.info(messages.TELEGRAM_OFF)
        return False
    if not config.webhook_secret:
        log.warning(messages.WEBHOOK_OFF)
        return False
    channel = TelegramChannel(config, desk, clock=clock)
    mount(flask_app, channel)
    channel.start()
    flask_app.extensions[EXTENSION] = channel
    log.info("Telegram channel on: updates at %s", WEBHOOK_PATH)
    return True


def mount(flask_app: Flask, channel: TelegramChannel) -> None:
    """POST /telegram/webhook: checks Telegram's secret header and queues the update."""
    secret = channel.config.webhook_secret.encode()

    def telegram_webhook() -> Response:
        sent = (request.headers.get(SECRET_HEADER) or "").encode()
        if not hmac.compare_digest(sent, secret):
            return Response("wrong or missing secret token\n", status=403, mimetype="text/plain")
        if not channel.ready.is_set():  # Telegram delivers it again later
            return Response("starting\n", status=503, mimetype="text/plain", headers={"Retry-After": "10"})
        try:
            text = request.get_data().decode("utf-8")
            data = None if too_deep(text, MAX_DEPTH) else json.loads(text)
        except (ValueError, RecursionError):  # not UTF-8, not JSON
            data = None
        if not isinstance(data, dict):
            log.info("webhook: refused a body that is no JSON object (or nested over %d levels)", MAX_DEPTH)
            return Response(f"expected a Telegram Update as JSON (nested at most {MAX_DEPTH} levels)\n", status=400, mimetype="text/plain")
        try:
            channel.feed(data)
        except NotAnUpdate as e:  # Telegram's mistake or a forged request with the secret: say so, no traceback
            log.warning("webhook: refused update %r: %s", data.get("update_id"), e)
            return Response(f"{e}\n", status=400, mimetype="text/plain")
        return Response(status=200)

    flask_app.add_url_rule(WEBHOOK_PATH, endpoint="telegram_webhook", view_func=telegram_webhook, methods=["POST"])
