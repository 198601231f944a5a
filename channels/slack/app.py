"""The Slack channel wired together: a bolt `App`, worker threads, the outbox drainer and the watcher.

Every request is acknowledged at once: bolt acks an event before it calls our listener
(`process_before_response=False`), a button's listener calls `ack()` first, and listeners
only parse the payload and hand the work to our own pool, so a slow engine never holds an
ack (bolt's own pool runs only those few lines). Replies go through the outbox; a background
ticker relays what agents and timers say to Slack customers (bot/relay.py) and, with an
agents' channel, follows handoffs from every channel (bot/notify.py).
"""

from __future__ import annotations

import http.client
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, request
from slack_bolt import App, BoltContext, BoltResponse
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot.dedup import open_seen_keys
from bot.desk import Desk, answer_orphans
from bot.errors import ConfigError
from bot.notify import DeskWatcher, Ticker, open_cards
from bot.outbox import Drainer, open_outbox
from bot.relay import Relay, open_relay_cursors
from channels.slack import messages, render
from channels.slack.agents import SlackAgentsDesk
from channels.slack.config import SlackConfig
from channels.slack.customers import CHANNEL, Customers
from channels.slack.inbound import Click, SlackMessage, click_of, message_of
from channels.slack.people import People
from channels.slack.sender import SlackSender

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

log = logging.getLogger(__name__)

EXTENSION = "slack"
EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1024 * 1024  # a button's payload carries the whole message; the web app allows 64 KiB
WORKERS = 4  # the engine is CPU-bound: more threads than cores only queue inside it
SENDERS = 4
POLL_SECONDS = 0.5
_LOCK_STRIPES = 64



class SlackChannel:
    """Everything the Slack channel runs; `start()` its threads, `close()` them."""

    def __init__(self, config: SlackConfig, desk: Desk, *, workers: int = WORKERS, senders: int = SENDERS, poll_seconds: float = POLL_SECONDS) -> None:
        self.config = config
        self.desk = desk
        store = desk.store
        # No retry inside the client: the outbox is the one place that retries, without holding a thread.
        self.client = WebClient(token=config.bot_token, base_url=config.api_url, timeout=10, retry_handlers=[])
        self.outbox = open_outbox(store)
        self.cards = open_cards(store)
        seen = open_seen_keys(store)
        self.people = People(self.client)
        self.drainer = Drainer(self.outbox, {CHANNEL: SlackSender(self.client, self.cards)}, workers=senders)
        self.customers = Customers(desk, self.post, self.people, seen)
        self.relay = Relay(store, open_relay_cursors(store), CHANNEL, self.customers.deliver)
        jobs: list[Callable[[], int]] = [self.relay.poll_once]
        self.agents: SlackAgentsDesk | None = None
        if config.agents_channel:
            self.agents = SlackAgentsDesk(
                desk, self.cards, seen, self.people, self.post, config.agents_channel, {CHANNEL: self.customers.deliver}, wake=self.wake_watcher
            )
            jobs.append(DeskWatcher(store, self.cards, CHANNEL, self.agents).poll_once)
        self.ticker = Ticker(jobs, every=poll_seconds, name="slack-watch")
        self._work = ThreadPoolExecutor(workers, thread_name_prefix="slack-work")
        self._bolt_pool = ThreadPoolExecutor(4, thread_name_prefix="slack-bolt")
        self._locks = [threading.Lock() for _ in range(_LOCK_STRIPES)]
        self._inflight = 0
        self._inflight_lock = threading.Lock()
        self.socket: SocketModeHandler | None = None
        self._orphans: threading.Thread | None = None
        self.app = self._bolt_app()

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        self.relay.cursors.relay_cursor(CHANNEL)  # relay from now on, not the history
        self.drainer.start()
        self.ticker.start()
        self._orphans = threading.Thread(target=self.answer_orphans, name="slack-orphans", daemon=True)
        self._orphans.start()

    def answer_orphans(self) -> int:
        """Answer messages a worker stored and acknowledged but died before answering; how many."""
        return answer_orphans(self.desk, CHANNEL, self.customers.deliver)

    def close(self) -> None:
        """Stop taking events, finish the work under way, stop the threads; undelivered rows wait in the outbox."""
        if self.socket is not None:
            self.socket.close()
        self._bolt_pool.shutdown(wait=True)
        self._work.shutdown(wait=True)
        if self._orphans is not None:
            self._orphans.join(timeout=30)
        self.ticker.stop()
        self.drainer.stop()

    def wake_watcher(self) -> None:
        self.ticker.wake()

    def wait_idle(self, timeout: float = 15.0) -> bool:
        """Wait until no work is under way, nothing new is to relay or show, and the outbox is empty (tests, bench)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._inflight == 0 and self.ticker.run_once() == 0 and self._inflight == 0 and self.outbox.pending(CHANNEL) == 0:
                return True
            time.sleep(0.02)
        return False

    # -- out --------------------------------------------------------------------------------
    def post(self, target: str, payload: Mapping[str, Any], key: str) -> None:
        """Enqueue one Web API call for the drainer."""
        if not self.outbox.enqueue(CHANNEL, target, payload, key).duplicate:
            self.drainer.wake()

    # -- in: before the ack, a customer's message is stored ----------------------------------
    def _keep_before_ack(self, body: dict[str, Any], context: BoltContext, next: Callable[[], None]) -> BoltResponse | None:
        """Global middleware: runs before bolt acknowledges, so a message Slack was told we have is
        in the store even if this worker dies now; if it cannot be stored, Slack is told to retry."""
        event = body.get("event") if body.get("type") == "event_callback" else None
        if isinstance(event, dict) and event.get("type") in ("message", "app_mention"):
            message = message_of(body, event, context.bot_user_id)
            if message is not None and message.text and self._from_customer(message, event["type"]):
                try:
                    self.customers.keep(message)
                except Exception:
                    log.exception("cannot store Slack message %s; asking Slack to send it again", message.external_id)
                    return BoltResponse(status=503, body="")
        return next()

    def _from_customer(self, message: SlackMessage, kind: str) -> bool:
        if kind == "message":
            return message.is_dm
        return not message.is_dm and message.channel != self.config.agents_channel

    # -- in: bolt listeners (run after the ack; they only hand over) --------------------------
    def _on_message(self, body: dict[str, Any], event: dict[str, Any], context: BoltContext) -> None:
        message = message_of(body, event, context.bot_user_id)
        if message is not None:
            self._submit(self._route_message, message, f"{message.team}:{message.user}")

    def _on_mention(self, body: dict[str, Any], event: dict[str, Any], context: BoltContext) -> None:
        message = message_of(body, event, context.bot_user_id)
        if message is None or message.is_dm or message.channel == self.config.agents_channel:
            return  # a DM arrives as a `message` event too; the agents' channel is not a customer's
        self._submit(self._route_mention, message, f"{message.team}:{message.user}")

    def _on_action(self, ack: Callable[[], Any], body: dict[str, Any]) -> None:
        ack()
        click = click_of(body)
        if click is None:
            return
        kind = render.kind_of(click.action_id)
        if kind in render.CARD_ACTIONS and self.agents is not None:
            self._submit(self.agents.click, click, f"{click.team}:{click.user}")
        elif kind in render.CUSTOMER_ACTIONS:
            self._submit(self.customers.click, click, f"{click.team}:{click.user}")

    # -- the work ---------------------------------------------------------------------------
    def _route_message(self, message: SlackMessage) -> None:
        if self.agents is not None and message.thread_ts and not message.is_dm and self.agents.reply(message):
            return
        if message.is_dm:
            self.customers.receive(message)

    def _route_mention(self, message: SlackMessage) -> None:
        if message.thread_ts and self.cards.card_by_ref(CHANNEL, f"{message.channel}:{message.thread_ts}") is not None:
            return  # an agent in a card's thread: its `message` event carries the reply
        self.customers.receive(message)

    def _submit(self, job: Callable[[Any], None], item: SlackMessage | Click, key: str) -> None:
        """Run `job(item)` on the worker pool, one at a time per Slack user (their messages stay in order)."""
        lock = self._locks[hash(key) % _LOCK_STRIPES]
        with self._inflight_lock:
            self._inflight += 1

        def run() -> None:
            try:
                with lock:
                    job(item)
            except Exception:  # the pool would keep the exception in a future nobody reads
                log.exception("Slack %s failed for %s", getattr(job, "__qualname__", job), key)
            finally:
                with self._inflight_lock:
                    self._inflight -= 1

        self._work.submit(run)

    def _bolt_app(self) -> App:
        try:
            app = self._new_app(verify_token=True)
        except BoltError as e:
            masked = self.config.bot_token[:5] + "…"
            raise ConfigError("SLACK_BOT_TOKEN", masked, messages.TOKEN_REFUSED.format(error=e)) from e
        except (OSError, SlackClientError, http.client.HTTPException) as e:
            log.warning(messages.SLACK_UNREACHABLE.format(url=self.config.api_url, error=e))
            app = self._new_app(verify_token=False)
        app.use(self._keep_before_ack)
        app.event("message")(self._on_message)
        app.event("app_mention")(self._on_mention)
        app.action(re.compile(r"^answerdesk\."))(self._on_action)
        return app

    def _new_app(self, verify_token: bool) -> App:
        return App(
            client=self.client,
            signing_secret=self.config.signing_secret,
            process_before_response=False,
            token_verification_enabled=verify_token,  # auth.test: the bot's own user id, to ignore itself
            listener_executor=self._bolt_pool,
            logger=logging.getLogger("channels.slack.bolt"),
            name="answerdesk",
        )


def register_slack(flask_app: Flask, settings: object, desk: Desk) -> bool:
    """Mount the Slack channel at /slack/events (or connect Socket Mode); False, and says so, when not configured."""
    if EXTENSION in flask_app.extensions:
        return True
    config = SlackConfig.from_settings(settings)  # ConfigError when half configured
    if not config.enabled:
        log.info(messages.SLACK_OFF)
        return False
    channel = SlackChannel(config, desk)
    if config.socket_mode:
        channel.socket = socket_mode_handler(channel)
        channel.socket.connect()
    else:
        mount(flask_app, channel)
    if not config.agents_channel:
        log.info(messages.NO_AGENTS_CHANNEL)
    channel.start()
    flask_app.extensions[EXTENSION] = channel
    log.info("Slack channel on: %s", "Socket Mode" if config.socket_mode else f"events at {EVENTS_PATH}")
    return True


def mount(flask_app: Flask, channel: SlackChannel) -> None:
    """POST /slack/events: bolt's Flask adapter around the channel's App."""
    handler = SlackRequestHandler(channel.app)

    def slack_events() -> Response:
        request.max_content_length = MAX_BODY_BYTES
        return handler.handle(request)

    flask_app.add_url_rule(EVENTS_PATH, endpoint="slack_events", view_func=slack_events, methods=["POST"])


def socket_mode_handler(channel: SlackChannel) -> "SocketModeHandler":
    """A Socket Mode connection for the channel's App (SLACK_SOCKET_MODE=1); `connect()` starts it."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    return SocketModeHandler(channel.app, app_token=channel.config.app_token, web_client=channel.client)
