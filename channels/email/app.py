"""E-mail on the serving process: the mail relay and the outbox drainer that sends through SMTP.

Nothing arrives by e-mail; what goes out is decided by the desk and the mail relay
(bot/delivery/mail_relay.py): an agent's reply, or a ticket's answer, in a conversation that was
missed and left an address. `register_email` starts both on background threads of each serving
process, like the chat channels' drainers (the outbox claims each row for one sender, so several
workers send each e-mail once), and says in the log when e-mail is off.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from bot.config import Settings
from bot.delivery.mail_relay import build_mail
from bot.delivery.notify import Ticker
from bot.delivery.outbox import Drainer
from bot.delivery.sql_outbox import open_outbox
from bot.desk.desk import Desk
from bot.desk.links import conversation_link
from bot.store.model import Conversation

log = logging.getLogger(__name__)

EXTENSION = "answerdesk_email"
CHANNEL = "email"
RELAY_SECONDS = 1.0


class EmailChannel:
    """The relay's ticker and the drainer's threads, started and stopped together."""

    def __init__(self, ticker: Ticker, drainer: Drainer) -> None:
        self.ticker = ticker
        self.drainer = drainer

    def start(self) -> None:
        self.drainer.start()
        self.ticker.start()

    def close(self) -> None:
        self.ticker.stop()
        self.drainer.stop()


def register_email(app: Flask, settings: Settings, desk: Desk) -> bool:
    """Start sending e-mail when ANSWERDESK_SMTP_HOST is set; False (and a log line) when not."""
    if not settings.mail_enabled:
        log.info("e-mail is off (no ANSWERDESK_SMTP_HOST): answers to missed conversations are not e-mailed")
        return False
    outbox = open_outbox(desk.store)

    def link(conversation: Conversation) -> str | None:
        return conversation_link(settings, conversation)

    built = build_mail(settings, desk.store, outbox, desk.agent_name, link)
    assert built is not None  # mail_enabled
    sender, relay = built
    if not settings.public_url or not settings.secret_key:
        log.warning("e-mails carry no link back to the chat: set ANSWERDESK_PUBLIC_URL and ANSWERDESK_SECRET_KEY")
    drainer = Drainer(outbox, {CHANNEL: sender}, workers=1)

    def relay_and_wake() -> int:
        queued = relay.poll_once()
        if queued:
            drainer.wake()
        return queued

    channel = EmailChannel(Ticker([relay_and_wake], every=RELAY_SECONDS, name="answerdesk-email"), drainer)
    channel.start()
    app.extensions[EXTENSION] = channel
    log.info("e-mail is on: answers to missed conversations go out through %s:%s", settings.smtp_host, settings.smtp_port)
    return True


def email_channel(app: Flask) -> Any:
    return app.extensions.get(EXTENSION)
