"""E-mail through the outbox: a real SMTP server (aiosmtpd) on 127.0.0.1, a SQLite store in tmp_path,
the real relay, outbox and drainer; a down server delays mail, never loses or doubles it."""

from __future__ import annotations

import email
import email.policy
import smtplib
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from bot.actions import Action
from bot.config import Settings
from bot.delivery import mail as mail_module
from bot.delivery.mail import SMTPSender, build_message, message_id
from bot.delivery.mail_relay import CURSOR, MailRelay, build_mail, compose, question_before
from bot.delivery.outbox import Drainer, OutboxItem
from bot.delivery.sql_delivery import SQLRelayCursors
from bot.delivery.sql_outbox import open_outbox
from bot.errors import ConfigError
from bot.store.connect import open_store
from bot.store.model import Conversation, Store

from tests.bot.test_outbox import T0, Clock  # the same test clock, from 2026-03-02 09:00 UTC
MISSED = {"missed": "2026-03-02T08:55:00+00:00"}
FROM = "Answerdesk <help@example.com>"
AGENTS = {"a1": "Ayşe Yılmaz"}


class Recorder:
    """An aiosmtpd handler that keeps every message it accepts and refuses the addresses it is told to."""

    def __init__(self) -> None:
        self.received: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: dict[str, str] = {}

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[arg-type]
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class MailServer:
    """A real SMTP server on a free port of 127.0.0.1 that the test starts and stops."""

    def __init__(self, **smtp_options: Any) -> None:
        self.handler = Recorder()
        self.port = _free_port()
        self.smtp_options = smtp_options
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, server_hostname="mail.test", **self.smtp_options)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def received(self) -> list[EmailMessage]:
        return self.handler.received


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server() -> Iterator[MailServer]:
    running = MailServer()
    running.start()
    yield running
    running.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(str(tmp_path / "desk.db"))
    yield opened
    opened.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


class Mail:
    """The pieces the lead wires: outbox, relay, sender and drainer, over one store and clock."""

    def __init__(self, store: Store, clock: Clock, port: int, **sender_options: Any) -> None:
        self.store = store
        self.clock = clock
        self.outbox = open_outbox(store, clock)
        self.cursors = SQLRelayCursors(store.database)  # type: ignore[attr-defined]
        self.relay = MailRelay(store, self.cursors, self.outbox, agent_name=self.agent_name, link=self.link)
        self.sender = SMTPSender("127.0.0.1", port, FROM, security="none", timeout=2.0, **sender_options)
        self.drainer = Drainer(self.outbox, {"email": self.sender}, clock=clock)
        self.relay.poll_once()  # the cursor starts at the newest message: only what follows is e-mailed

    @staticmethod
    def agent_name(agent_id: str | None, lang: str) -> str | None:
        return AGENTS.get(agent_id or "")

    @staticmethod
    def link(conversation: Conversation) -> str | None:
        return f"https://help.example.com/c/{conversation.id}"

    def conversation(self, email: str | None = "ayse@example.com", lang: str = "tr", meta: dict[str, str] | None = None, user: str = "v1") -> Conversation:
        return self.store.create_conversation("web", user, lang, email=email, meta=MISSED if meta is None else meta)

    def exchange(self, conversation: Conversation, question: str, answer: str) -> int:
        """A customer's question, then an agent's reply; the reply's message id."""
        self.store.add_message(conversation.id, "customer", question)
        return self.store.add_message(conversation.id, "agent", answer, agent="a1", lang=conversation.lang).message.id


def test_an_agents_reply_is_mailed_in_the_customers_language(store: Store, clock: Clock, server: MailServer) -> None:
    mail = Mail(store, clock, server.port)
    conversation = mail.conversation(lang="tr")
    reply_id = mail.exchange(conversation, "Şifremi nasıl sıfırlarım?", "Ayarlar > Güvenlik'ten sıfırlayabilirsiniz.")

    assert mail.relay.poll_once() == 1
    assert mail.drainer.send_due() == 1

    [received] = server.received
    assert received["To"] == "ayse@example.com" and received["From"] == FROM
    assert received["Subject"] == "Re: Sorunuz" and received["Content-Language"] == "tr"
    expected_id = f"<answerdesk.msg-{reply_id}.{conversation.id}@example.com>"
    assert received["Message-ID"] == expected_id
    body = received.get_content().replace("\r\n", "\n")  # as it crossed the wire
    assert body == (
        "Merhaba,\n\nSorunuz: Şifremi nasıl sıfırlarım?\n\nEkibimizden Ayşe Yılmaz şunu yazdı:\n\n"
        f"Ayarlar > Güvenlik'ten sıfırlayabilirsiniz.\n\nSohbete buradan devam edebilirsiniz: https://help.example.com/c/{conversation.id}\n"
    )
    assert server.handler.envelopes == [("help@example.com", ["ayse@example.com"])]
    [row] = mail.outbox.items("email")
    assert row.status == "sent" and row.target == "ayse@example.com" and row.dedup_key == f"msg:{reply_id}"
    assert row.result == {"message_id": expected_id, "to": "ayse@example.com"}


def test_smtp_down_then_up_delivers_every_mail_exactly_once(store: Store, clock: Clock) -> None:
    server = MailServer()  # not started: connections are refused
    mail = Mail(store, clock, server.port)
    first = mail.conversation(email="ayse@example.com", user="v1")
    second = mail.conversation(email="juan@example.com", lang="es", user="v2")
    mail.exchange(first, "Şifremi unuttum", "Bağlantıyı gönderdim.")
    mail.exchange(second, "¿Cuándo llega mi pedido?", "Mañana.")
    mail.exchange(first, "Teşekkürler, bir sorum daha var", "Buyurun.")
    assert mail.relay.poll_once() == 3

    assert mail.drainer.send_due() == 2  # the first row of each address; the third waits behind Ayşe's first
    rows = mail.outbox.items("email")
    assert [(r.status, r.attempts) for r in rows] == [("pending", 1), ("pending", 1), ("pending", 0)]
    assert all("cannot reach the mail server 127.0.0.1" in (r.last_error or "") for r in rows[:2])

    server.start()
    try:
        assert mail.drainer.send_due() == 0  # not due yet: backoff
        clock.advance(30)
        assert mail.drainer.send_due() == 3
        clock.advance(300)
        assert mail.drainer.send_due() == 0 and mail.relay.poll_once() == 0
    finally:
        server.stop()
    assert sorted(m["To"] for m in server.received) == ["ayse@example.com", "ayse@example.com", "juan@example.com"]
    assert len({m["Message-ID"] for m in server.received}) == 3
    ayse = [m.get_content() for m in server.received if m["To"] == "ayse@example.com"]
    assert "Bağlantıyı gönderdim." in ayse[0] and "Buyurun." in ayse[1]  # one address's mails in order
    assert all(r.status == "sent" for r in mail.outbox.items("email"))


def test_the_relay_reads_agents_messages_of_every_channel_in_order_on_both_databases(db_url: str, clock: Clock) -> None:
    opened = open_store(db_url)
    try:
        cursors = SQLRelayCursors(opened.database)  # type: ignore[attr-defined]
        start = cursors.relay_cursor(CURSOR)
        ids = []
        for channel, user in (("slack", "T:D1:U1"), ("telegram", "42"), ("web", "v1")):
            conversation = opened.create_conversation(channel, user, "en", email=f"{channel}@example.com", meta=MISSED)
            opened.add_message(conversation.id, "customer", "Hello?")
            ids.append((conversation.id, opened.add_message(conversation.id, "agent", "Hi!", agent="a1").message.id))
        assert cursors.agent_messages(start, 10) == ids and cursors.agent_messages(start, 2) == ids[:2]
        assert cursors.agent_messages(ids[-1][1], 10) == []
        outbox = open_outbox(opened, clock)
        assert MailRelay(opened, cursors, outbox, Mail.agent_name, Mail.link).poll_once() == 3
        assert [r.target for r in outbox.items("email")] == ["slack@example.com", "telegram@example.com", "web@example.com"]
    finally:
        opened.close()


def test_only_conversations_with_an_address_and_a_missed_handoff_are_mailed(store: Store, clock: Clock, server: MailServer) -> None:
    mail = Mail(store, clock, server.port)
    no_address = mail.conversation(email=None, user="v1")
    not_missed = mail.conversation(email="live@example.com", meta={}, user="v2")
    missed = mail.conversation(email="missed@example.com", user="v3")
    for conversation in (no_address, not_missed, missed):
        mail.exchange(conversation, "Merhaba?", "Buradayım.")
    store.add_message(missed.id, "bot", "A bot message is not an agent's reply.")

    assert mail.relay.poll_once() == 1
    assert [r.target for r in mail.outbox.items("email")] == ["missed@example.com"]
    mail.drainer.send_due()
    assert [m["To"] for m in server.received] == ["missed@example.com"]


def test_a_relay_that_runs_again_over_the_same_messages_sends_once(store: Store, clock: Clock, server: MailServer) -> None:
    mail = Mail(store, clock, server.port)
    before = mail.cursors.relay_cursor(CURSOR)
    mail.exchange(mail.conversation(), "Siparişim nerede?", "Kargoda.")
    assert mail.relay.poll_once() == 1
    # A crash after the enqueue but before the cursor moved: the next poll reads the same messages.
    with store.database.write("move the mail cursor back") as conn:  # type: ignore[attr-defined]
        conn.execute("UPDATE relay_cursors SET after_id = ? WHERE channel = ?", (before, CURSOR))
    assert mail.relay.poll_once() == 0
    assert len(mail.outbox.items("email")) == 1
    assert mail.drainer.send_due() == 1 and mail.drainer.send_due() == 0
    assert len(server.received) == 1


@pytest.mark.parametrize(("answer", "status"), [("550 5.1.1 No such user", "failed"), ("450 4.2.1 Mailbox busy, try later", "pending")])
def test_a_refused_recipient_fails_for_good_on_5xx_and_is_retried_on_4xx(store: Store, clock: Clock, server: MailServer, answer: str, status: str) -> None:
    server.handler.refuse["nobody@example.com"] = answer
    mail = Mail(store, clock, server.port)
    mail.exchange(mail.conversation(email="nobody@example.com"), "Orada kimse var mı?", "Evet.")
    mail.relay.poll_once()

    assert mail.drainer.send_due() == 1
    [row] = mail.outbox.items("email")
    assert row.status == status and row.attempts == 1 and answer.split()[0] in (row.last_error or "")
    clock.advance(300)
    assert mail.drainer.send_due() == (1 if status == "pending" else 0)  # a failed row is never tried again
    assert server.received == []


def test_a_rejected_sign_in_fails_for_good_and_names_the_settings(store: Store, clock: Clock) -> None:
    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        given = (_bytes(data.login), _bytes(data.password)) if isinstance(data, LoginPassword) else None
        return AuthResult(success=given == (b"desk", b"right"), handled=False)  # not handled: the server answers 535

    server = MailServer(authenticator=authenticator, auth_require_tls=False)
    server.start()
    try:
        good = Mail(store, clock, server.port, user="desk", password="right")
        good.exchange(good.conversation(email="ok@example.com", user="v1"), "Soru", "Cevap")
        good.relay.poll_once()
        assert good.drainer.send_due() == 1 and len(server.received) == 1

        bad = SMTPSender("127.0.0.1", server.port, FROM, security="none", user="desk", password="wrong", timeout=2.0)
        good.drainer.senders["email"] = bad
        good.exchange(good.conversation(email="no@example.com", user="v2"), "Soru", "Cevap")
        good.relay.poll_once()
        assert good.drainer.send_due() == 1
    finally:
        server.stop()
    failed = good.outbox.items("email")[-1]
    assert failed.status == "failed" and "535" in (failed.last_error or "") and "ANSWERDESK_SMTP_PASSWORD" in (failed.last_error or "")
    assert len(server.received) == 1


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the openssl command), and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_mail_goes_out_encrypted_and_the_servers_certificate_is_checked(
    store: Store, clock: Clock, certificate: tuple[Path, Path], security: str
) -> None:
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    options = {"tls_context": server_context, "require_starttls": True} if security == "starttls" else {"ssl_context": server_context}
    server = MailServer(**options)
    server.start()
    try:
        mail = Mail(store, clock, server.port)
        trusting = ssl.create_default_context(cafile=str(cert))
        mail.drainer.senders["email"] = SMTPSender("127.0.0.1", server.port, FROM, security=security, timeout=2.0, ssl_context=trusting)
        mail.exchange(mail.conversation(user="v1"), "Soru", "Cevap")
        mail.relay.poll_once()
        assert mail.drainer.send_due() == 1 and len(server.received) == 1

        # Without the certificate among its trusted ones, the sender refuses the server (and retries later).
        mail.drainer.senders["email"] = SMTPSender("127.0.0.1", server.port, FROM, security=security, timeout=2.0)
        mail.exchange(mail.conversation(email="other@example.com", user="v2"), "Soru", "Cevap")
        mail.relay.poll_once()
        assert mail.drainer.send_due() == 1
    finally:
        server.stop()
    untrusted = mail.outbox.items("email")[-1]
    assert untrusted.status == "pending" and "CERTIFICATE_VERIFY_FAILED" in (untrusted.last_error or "")
    assert len(server.received) == 1


class FakeSMTP:
    """Stands in for smtplib's classes to see which one the security setting picks and what it calls."""

    calls: list[tuple[Any, ...]] = []

    def __init__(self, host: str, port: int, timeout: float, context: Any = None) -> None:
        self.calls.append((type(self).__name__, host, port, timeout, context is not None))

    def ehlo(self) -> None:
        self.calls.append(("ehlo",))

    def starttls(self, context: Any = None) -> None:
        self.calls.append(("starttls", context is not None))

    def login(self, user: str, password: str) -> None:
        self.calls.append(("login", user))

    def send_message(self, message: EmailMessage, from_addr: str, to_addrs: list[str]) -> dict[str, Any]:
        self.calls.append(("send", from_addr, tuple(to_addrs)))
        return {}

    def quit(self) -> None:
        self.calls.append(("quit",))

    def close(self) -> None:
        self.calls.append(("close",))


class FakeSMTP_SSL(FakeSMTP):
    pass


@pytest.mark.parametrize(
    ("security", "expected"),
    [
        ("ssl", [("FakeSMTP_SSL", "mx.test", 465, 7.0, True), ("login", "desk"), ("send", "help@example.com", ("a@example.com",)), ("quit",)]),
        ("starttls", [("FakeSMTP", "mx.test", 465, 7.0, False), ("ehlo",), ("starttls", True), ("ehlo",), ("login", "desk"),
                      ("send", "help@example.com", ("a@example.com",)), ("quit",)]),
        ("none", [("FakeSMTP", "mx.test", 465, 7.0, False), ("login", "desk"), ("send", "help@example.com", ("a@example.com",)), ("quit",)]),
    ],
)
def test_the_security_setting_picks_the_smtplib_class_and_starttls(monkeypatch: pytest.MonkeyPatch, security: str, expected: list[tuple[Any, ...]]) -> None:
    monkeypatch.setattr(mail_module.smtplib, "SMTP", FakeSMTP)
    monkeypatch.setattr(mail_module.smtplib, "SMTP_SSL", FakeSMTP_SSL)
    monkeypatch.setattr(FakeSMTP, "calls", [])
    settings = Settings.from_env({
        "ANSWERDESK_SMTP_HOST": "mx.test", "ANSWERDESK_SMTP_PORT": "465", "ANSWERDESK_SMTP_SECURITY": security,
        "ANSWERDESK_SMTP_USER": "desk", "ANSWERDESK_SMTP_PASSWORD": "secret", "ANSWERDESK_MAIL_FROM": FROM,
    })
    sender = SMTPSender.from_settings(settings)
    sender.timeout = 7.0
    sender(_item({"to": "a@example.com", "subject": "Re", "text": "Hi"}))
    assert FakeSMTP.calls == expected


def test_an_unreachable_server_is_retried_and_a_malformed_row_is_not(monkeypatch: pytest.MonkeyPatch) -> None:
    def hangs_up(*args: Any, **kwargs: Any) -> None:
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(mail_module.smtplib, "SMTP", hangs_up)
    sender = SMTPSender("mx.test", 25, FROM, security="none")
    with pytest.raises(mail_module.DeliveryError) as caught:
        sender(_item({"to": "a@example.com", "subject": "Re", "text": "Hi"}))
    assert not caught.value.permanent and "mx.test:25" in str(caught.value)
    with pytest.raises(mail_module.DeliveryError) as caught:
        sender(_item({"to": "a@example.com", "text": "no subject"}))
    assert caught.value.permanent


def test_the_message_id_is_the_same_for_every_attempt_of_a_row() -> None:
    item = _item({"to": "a@example.com", "subject": "Re", "text": "Hi", "conversation_id": "c0ffee"})
    assert build_message(item, FROM)["Message-ID"] == build_message(item, FROM)["Message-ID"] == "<answerdesk.msg-7.c0ffee@example.com>"
    assert message_id("msg:7", "", "help@localhost") == "<answerdesk.msg-7@localhost>"


def test_the_question_skips_notes_and_the_address_and_a_team_name_reads_well(store: Store) -> None:
    conversation = store.create_conversation("telegram", "42", "en", email="sam@example.com", meta=MISSED)
    add = store.add_message
    add(conversation.id, "customer", "Can I change my delivery address?")
    add(conversation.id, "customer", "/human", action=Action.NOTE)
    add(conversation.id, "bot", "Leave your e-mail address.", action=Action.ASK_EMAIL)
    add(conversation.id, "customer", "sam@example")
    add(conversation.id, "bot", "That doesn't look like an e-mail address.", action=Action.EMAIL_INVALID)
    add(conversation.id, "customer", "sam@example.com")
    add(conversation.id, "bot", "Ticket #1 is open.", action=Action.TICKET_CREATED)
    reply = add(conversation.id, "agent", "Yes, until it ships.", agent="a9").message
    add(conversation.id, "customer", "Thanks!")
    history = store.list_messages(conversation.id)

    assert question_before(history, reply, conversation.email).text == "Can I change my delivery address?"  # type: ignore[union-attr]
    payload = compose(conversation, reply, history, agent_name=lambda _id, lang: "Our support team", link=lambda _c: None)
    assert payload == {
        "to": "sam@example.com", "subject": "Re: your question", "lang": "en", "conversation_id": conversation.id,
        "text": "Hello,\n\nYou asked: Can I change my delivery address?\n\nOur support team wrote:\n\nYes, until it ships.\n",
    }


def test_mail_settings_are_checked_at_start_up() -> None:
    assert not Settings.from_env({}).mail_enabled
    on = Settings.from_env({"ANSWERDESK_SMTP_HOST": "smtp.example.com", "ANSWERDESK_MAIL_FROM": "help@example.com"})
    assert on.mail_enabled and (on.smtp_port, on.smtp_security) == (587, "starttls")
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"ANSWERDESK_SMTP_HOST": "smtp.example.com"})
    assert caught.value.name == "ANSWERDESK_MAIL_FROM" and "ANSWERDESK_SMTP_HOST" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"ANSWERDESK_SMTP_HOST": "smtp.example.com", "ANSWERDESK_MAIL_FROM": "help desk"})
    assert caught.value.name == "ANSWERDESK_MAIL_FROM"
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"ANSWERDESK_SMTP_SECURITY": "tls"})
    assert caught.value.name == "ANSWERDESK_SMTP_SECURITY" and "starttls, ssl, none" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"ANSWERDESK_SMTP_PASSWORD": "secret"})
    assert caught.value.name == "ANSWERDESK_SMTP_USER" and "secret" not in str(caught.value)


def test_build_mail_is_none_when_mail_is_off(store: Store) -> None:
    outbox = open_outbox(store)
    assert build_mail(Settings.from_env({}), store, outbox, Mail.agent_name, Mail.link) is None
    settings = Settings.from_env({"ANSWERDESK_SMTP_HOST": "smtp.example.com", "ANSWERDESK_MAIL_FROM": FROM, "ANSWERDESK_SMTP_SECURITY": "ssl"})
    built = build_mail(settings, store, outbox, Mail.agent_name, Mail.link)
    assert built is not None
    sender, relay = built
    assert (sender.host, sender.port, sender.security, sender.mail_from) == ("smtp.example.com", 587, "ssl", FROM)
    assert relay.poll_once() == 0


def _item(payload: dict[str, Any]) -> OutboxItem:
    return OutboxItem(
        id=1, channel="email", target=str(payload.get("to", "")), payload=payload, dedup_key="msg:7", status="sending",
        attempts=1, next_attempt=T0, created_at=T0,
    )


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()
