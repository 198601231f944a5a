"""The Slack channel wired together: a bolt `App`, the chat core (channels/chat) and, with an agents' channel, the watcher.

Every request is acknowledged at once: bolt acks an event before it calls our listener
(`process_before_response=False`) and a button's listener calls `ack()` first. Before the ack, a
global middleware keeps a customer's message in the store and queues it for the customer's
worker, in the order Slack delivered it; listeners only parse the rest (agents' replies and
buttons) and hand it to the same workers, so a slow engine never holds an ack (bolt's own pool
runs only those few lines). Replies go through the core's outbox; its ticker relays what agents
and timers say to Slack customers and, with an agents' channel, follows handoffs from every
channel (bot/delivery/notify.py).
"""

from __future__ import annotations

import http.client
import logging
import re
from collections.abc import Callable
from datetime import datetime
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, jsonify, request
from slack_bolt import App, BoltContext, BoltResponse
from slack_bolt.adapter.flask.handler import to_bolt_request, to_flask_response
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from slack_sdk.signature import SignatureVerifier

from bot.delivery.notify import DeskWatcher
from bot.delivery.sql_delivery import open_cards
from bot.desk.desk import Desk
from bot.store.model import utc_now
from bot.errors import ConfigError
from bot.untrusted import too_deep
from channels.chat.core import POLL_SECONDS, SENDERS, WORKERS, ChatCore
from channels.slack import messages, render
from channels.slack.agents import SlackAgentsDesk
from channels.slack.config import SlackConfig
from channels.slack.customers import CHANNEL, SlackCustomers
from channels.slack.inbound import MAX_DEPTH, SlackMessage, click_of, message_of, press_of, signature_problem
from channels.slack.people import People
from channels.slack.sender import SlackSender

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

log = logging.getLogger(__name__)

EXTENSION = "slack"
EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1024 * 1024  # a button's payload carries the whole message; the web app allows 64 KiB


class SlackChannel:
    """Everything the Slack channel runs; `start()` its threads, `close()` them."""

    def __init__(self, config: SlackConfig, desk: Desk, *, workers: int = WORKERS, senders: int = SENDERS, poll_seconds: float = POLL_SECONDS,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.config = config
        self.desk = desk
        # No retry inside the client: the outbox is the one place that retries, without holding a thread.
        self.client = WebClient(token=config.bot_token, base_url=config.api_url, timeout=10, retry_handlers=[])
        self.cards = open_cards(desk.store)
        self.people = People(self.client)
        self.core = ChatCore(desk, SlackCustomers(), SlackSender(self.client, self.cards), workers=workers, senders=senders, poll_seconds=poll_seconds, clock=clock)
        self.agents: SlackAgentsDesk | None = None
        if config.agents_channel:
            self.agents = SlackAgentsDesk(
                desk, self.cards, self.core.seen, self.people, self.core.post, config.agents_channel, {CHANNEL: self.core.deliver},
                wake=self.core.ticker.wake,
            )
            self.core.add_job(DeskWatcher(desk.store, self.cards, CHANNEL, self.agents).poll_once)
        self._bolt_pool = ThreadPoolExecutor(4, thread_name_prefix="slack-bolt")
        self.socket: SocketModeHandler | None = None
        self.app = self._bolt_app()

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        self.core.start()

    def answer_orphans(self) -> int:
        """Answer messages a worker stored and acknowledged but died before answering; how many."""
        return self.core.answer_orphans()

    def close(self) -> None:
        """Stop taking events, finish the work under way, stop the threads; undelivered rows wait in the outbox."""
        if self.socket is not None:
            self.socket.close()
        self._bolt_pool.shutdown(wait=True)
        self.core.close()

    def wait_idle(self, timeout: float = 15.0, *, sent: bool = True) -> bool:
        """Wait until no work is under way, nothing new is to relay or show, and the outbox is empty
        (tests, bench; `sent=False`: until nothing in it is due, see `ChatCore.wait_idle`)."""
        return self.core.wait_idle(timeout, sent=sent)

    # -- in: before the ack, a customer's message is kept and queued -------------------------
    def _take_in(self, body: dict[str, Any], context: BoltContext, next: Callable[[], None]) -> BoltResponse | None:
        """Global middleware: runs before bolt acknowledges, so a message Slack was told we have is
        in the store even if this worker dies now; if it cannot be stored, Slack is told to retry."""
        event = body.get("event") if body.get("type") == "event_callback" else None
        if isinstance(event, dict) and event.get("type") in ("message", "app_mention"):
            message = message_of(body, event, context.bot_user_id)
            if message is not None and self._from_customer(message, event["type"]):
                try:
                    self.core.keep(message.inbound())
                except Exception:
                    log.exception("cannot store Slack message %s; asking Slack to send it again", message.external_id)
                    return BoltResponse(status=503, body="")
                # The locale (users.info) is asked on the worker, not before the ack.
                self.core.submit(message.customer(), lambda: self.core.receive(message.inbound(self.people.get(message.user).locale)))
        return next()

    def _from_customer(self, message: SlackMessage, kind: str) -> bool:
        if kind == "message":
            return message.is_dm  # in a channel, only a mention is a customer's: its `app_mention` event
        return not message.is_dm and message.channel != self.config.agents_channel

    # -- in: bolt listeners (run after the ack; they only hand over) --------------------------
    def _on_message(self, body: dict[str, Any], event: dict[str, Any], context: BoltContext) -> None:
        message = message_of(body, event, context.bot_user_id)
        agents = self.agents
        if agents is not None and message is not None and message.thread_ts and not message.is_dm:
            self.core.submit(f"agent:{message.team}:{message.user}", lambda: agents.reply(message))
        elif agents is not None and message is not None and message.channel == self.config.agents_channel:
            self.core.submit(f"agent:{message.team}:{message.user}", lambda: agents.here(message))

    def _on_mention(self) -> None:
        """A customer's mention was taken in before the ack (`_take_in`); this only lets bolt ack it."""

    def _on_action(self, ack: Callable[[], Any], body: dict[str, Any]) -> None:
        ack()
        click = click_of(body)
        if click is None:
            return
        agents = self.agents
        if render.kind_of(click.action_id) in render.CARD_ACTIONS:
            if agents is not None:
                self.core.submit(f"agent:{click.team}:{click.user}", lambda: agents.click(click))
            return
        press = press_of(click)
        if press is not None:
            self.core.queue_press(press)

    def _bolt_app(self) -> App:
        try:
            app = self._new_app(verify_token=True)
        except BoltError as e:
            masked = self.config.bot_token[:5] + "…"
            raise ConfigError("SLACK_BOT_TOKEN", masked, messages.TOKEN_REFUSED.format(error=e)) from e
        except (OSError, SlackClientError, http.client.HTTPException) as e:
            log.warning(messages.SLACK_UNREACHABLE.format(url=self.config.api_url, error=e))
            app = self._new_app(verify_token=False)
        app.use(self._take_in)
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


def register_slack(flask_app: Flask, settings: object, desk: Desk, clock: Callable[[], datetime] = utc_now) -> bool:
    """Mount the Slack channel at /slack/events (or connect Socket Mode); False, and says so, when not configured."""
    if EXTENSION in flask_app.extensions:
        return True
    config = SlackConfig.from_settings(settings)  # ConfigError when half configured
    if not config.enabled:
        log.info(messages.SLACK_OFF)
        return False
    channel = SlackChannel(config, desk, clock=clock)
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
    """POST /slack/events: bolt's Flask adapter (its two converters) around the channel's App.

    The signature is checked before bolt parses the body: bolt reads the JSON first, and its
    verifier fails on a timestamp that is no number, which would be a 500 for anyone's request.
    Refused like bolt refuses a bad signature: 401 {"error": "invalid request"}, logged at INFO.
    """
    verifier = SignatureVerifier(channel.config.signing_secret)

    def slack_events() -> Response | tuple[Response, int]:
        request.max_content_length = MAX_BODY_BYTES
        problem = signature_problem(request.get_data(as_text=True), request.headers, verifier)
        if problem is not None:
            log.info("refused a request to %s: %s", EVENTS_PATH, problem)
            return jsonify(error="invalid request"), 401
        try:
            if too_deep(request.get_data(as_text=True), MAX_DEPTH):
                raise ValueError(f"nested over {MAX_DEPTH} levels")
            bolt_request = to_bolt_request(request)
        except (ValueError, RecursionError) as e:  # signed, yet no payload bolt can read
            log.warning("refused a signed request to %s: the body is no Slack payload (%s)", EVENTS_PATH, type(e).__name__)
            return jsonify(error="the body is no Slack payload (JSON, or form-encoded payload=)"), 400
        return to_flask_response(channel.app.dispatch(bolt_request))

    flask_app.add_url_rule(EVENTS_PATH, endpoint="slack_events", view_func=slack_events, methods=["POST"])


def socket_mode_handler(channel: SlackChannel) -> "SocketModeHandler":
    """A Socket Mode connection for the channel's App (SLACK_SOCKET_MODE=1); `connect()` starts it."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    return SocketModeHandler(channel.app, app_token=channel.config.app_token, web_client=channel.client)
