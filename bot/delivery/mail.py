"""The outbox's sender for e-mail: one SMTP conversation per row, the server's answers sorted
into retry or give up.

A row of channel "email" has the recipient as its target and a payload {"to", "subject",
"text", "lang", "conversation_id"} (written by `bot.delivery.mail_relay`). SMTP has no
idempotency key, so the Message-ID is derived from the row's dedup key: if a worker dies
after the server accepted a message and before `mark_sent`, the outbox sends it again after
the lease (bot/delivery/outbox.py), and the copy carries the same Message-ID, which mail
clients and the logs of the server recognise as one message.

What is worth a retry and what is not follows SMTP's own codes: 4xx and a server that cannot
be reached, times out or hangs up are an outage (retried with the outbox's backoff); 5xx (an
address refused, a sign-in rejected, a sender the server will not relay for) is kept as
failed, since the same message will be refused again.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Mapping
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any

from bot.config import SMTP_SECURITY, Settings
from bot.delivery.outbox import DeliveryError, OutboxItem

CHANNEL = "email"  # the outbox channel of these rows
TIMEOUT_SECONDS = 20.0  # per network operation; well under the outbox's lease (60 s)
_NOT_ATOM = re.compile(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")  # what one dot-separated part of a Message-ID may not hold


class SMTPSender:
    """Sends one outbox row by SMTP; returns {"message_id", "to"}."""

    def __init__(
        self,
        host: str,
        port: int,
        mail_from: str,
        *,
        security: str = "starttls",
        user: str = "",
        password: str = "",
        timeout: float = TIMEOUT_SECONDS,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if security not in SMTP_SECURITY:
            raise ValueError(f"security must be one of {', '.join(SMTP_SECURITY)}, not {security!r}")
        self.host = host
        self.port = port
        self.mail_from = mail_from
        self.security = security
        self.user = user
        self.password = password
        self.timeout = timeout
        self.ssl_context = ssl_context

    @classmethod
    def from_settings(cls, settings: Settings) -> "SMTPSender":
        """The sender the ANSWERDESK_SMTP_* settings and ANSWERDESK_MAIL_FROM describe."""
        return cls(
            settings.smtp_host, settings.smtp_port, settings.mail_from,
            security=settings.smtp_security, user=settings.smtp_user, password=settings.smtp_password,
        )

    def __call__(self, item: OutboxItem) -> Mapping[str, Any]:
        try:
            message = build_message(item, self.mail_from)
        except (KeyError, TypeError, ValueError) as e:  # a malformed row: sending it again cannot help
            raise DeliveryError(f"cannot build the e-mail of outbox row {item.dedup_key}: {type(e).__name__}: {e}", permanent=True) from e
        to = str(message["To"])
        try:
            smtp = self._connect()
            try:
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(message, from_addr=parseaddr(self.mail_from)[1], to_addrs=[parseaddr(to)[1]])
            finally:
                _hang_up(smtp)
        except (smtplib.SMTPException, OSError) as e:  # SMTPException is an OSError; both named for the reader
            raise self._classify(e) from e
        return {"message_id": str(message["Message-ID"]), "to": to}

    def _connect(self) -> smtplib.SMTP:
        """An open, greeted and (for starttls) encrypted connection."""
        if self.security == "ssl":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._context())
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.security == "starttls":
            try:
                smtp.ehlo()
                smtp.starttls(context=self._context())
                smtp.ehlo()  # the server's features may differ once encrypted (AUTH often appears only now)
            except BaseException:
                smtp.close()
                raise
        return smtp

    def _context(self) -> ssl.SSLContext:
        return self.ssl_context or ssl.create_default_context()

    def _classify(self, e: OSError) -> DeliveryError:
        where = f"{self.host}:{self.port}"
        if isinstance(e, smtplib.SMTPRecipientsRefused):
            answers = list(e.recipients.items())
            code = min((c for _, (c, _m) in answers), default=0)  # any 4xx: worth trying again
            said = "; ".join(f"{rcpt}: {c} {_text(m)}" for rcpt, (c, m) in answers)
            return _by_code(code, f"the mail server {where} refused the recipient ({said})")
        if isinstance(e, smtplib.SMTPAuthenticationError):
            return _by_code(
                e.smtp_code, f"the mail server {where} rejected the sign-in of ANSWERDESK_SMTP_USER {self.user!r}: "
                f"{e.smtp_code} {_text(e.smtp_error)}; check ANSWERDESK_SMTP_USER and ANSWERDESK_SMTP_PASSWORD",
            )
        if isinstance(e, smtplib.SMTPSenderRefused):
            return _by_code(
                e.smtp_code, f"the mail server {where} refused the sender {e.sender!r}: {e.smtp_code} {_text(e.smtp_error)}; "
                "check ANSWERDESK_MAIL_FROM (an address the server sends for)",
            )
        if isinstance(e, smtplib.SMTPResponseException):  # the greeting, HELO, DATA, STARTTLS…
            return _by_code(e.smtp_code, f"the mail server {where} answered {e.smtp_code} {_text(e.smtp_error)}")
        if isinstance(e, smtplib.SMTPNotSupportedError):  # no STARTTLS or no AUTH offered: a setting, not an outage
            return DeliveryError(
                f"the mail server {where} does not support what the settings ask for ({e}); check ANSWERDESK_SMTP_SECURITY "
                "and ANSWERDESK_SMTP_USER", permanent=True,
            )
        return DeliveryError(f"cannot reach the mail server {where}: {type(e).__name__}: {e}")


def build_message(item: OutboxItem, mail_from: str) -> EmailMessage:
    """The e-mail of one outbox row: plain text, its Message-ID derived from the row's dedup key."""
    payload = item.payload
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = payload.get("to") or item.target
    message["Subject"] = payload["subject"]
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id(item.dedup_key, str(payload.get("conversation_id") or ""), mail_from)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: out-of-office replies should not answer it
    message.set_content(str(payload["text"]))
    if payload.get("lang"):
        message["Content-Language"] = str(payload["lang"])  # after set_content, which drops Content-* headers
    return message


def message_id(dedup_key: str, conversation_id: str, mail_from: str) -> str:
    """The same `<answerdesk.msg-42.<conversation>@<sender's domain>>` every time a row is sent."""
    domain = Address(addr_spec=parseaddr(mail_from)[1]).domain or "answerdesk.invalid"
    parts = (_NOT_ATOM.sub("-", part).strip("-") for part in ("answerdesk", dedup_key, conversation_id))
    return f"<{'.'.join(part for part in parts if part)}@{domain}>"


def _by_code(code: int, message: str) -> DeliveryError:
    return DeliveryError(message, permanent=500 <= code < 600)


def _text(said: bytes | str) -> str:
    return said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)


def _hang_up(smtp: smtplib.SMTP) -> None:
    """QUIT politely; a server that hangs up first has the message already, so that is no failure."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
