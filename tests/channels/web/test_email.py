"""Answers by e-mail, end to end: a missed web conversation with an address, an agent's reply in
the console, a real SMTP server (aiosmtpd) that is down and then up, and the link back (issue 13)."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from channels.email.app import EXTENSION, register_email
from tests.bot.test_mail import MailServer
from tests.channels.web.conftest import actions, console_post, csrf, say, sign_in, start


def wait_for(condition: Any, seconds: float = 15.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_a_missed_conversations_answers_are_emailed_once_even_when_smtp_was_down(make_web: Any) -> None:
    web = make_web(present=False)
    server = MailServer()  # not started yet: the SMTP server is down
    settings = replace(
        web.app.extensions["answerdesk"].settings, smtp_host="127.0.0.1", smtp_port=server.port, smtp_security="none",
        mail_from="Help <help@example.com>", public_url="https://help.example.com", secret_key="s3cret-for-links",
    )
    web.app.extensions["answerdesk"].settings = settings
    assert register_email(web.app, settings, web.desk)
    try:
        visitor = web.client()
        cid = start(visitor, "tr")["id"]
        say(visitor, cid, "siparişim nerede? bir temsilciyle görüşmek istiyorum")
        assert web.desk.store.get_conversation(cid).state == "missed"
        assert actions(say(visitor, cid, "ayse.customer@example.com")) == ["ticket_created"]
        agent = web.client()
        sign_in(agent)
        assert "E-mail is off" not in agent.get("/agent/").get_data(as_text=True)
        console_post(agent, f"/agent/conversations/{cid}/take")
        console_post(agent, f"/agent/conversations/{cid}/reply", text="Siparişiniz bugün kargoya verildi.")
        outbox = web.app.extensions[EXTENSION].drainer.outbox
        row = wait_for(lambda: [r for r in outbox.items("email") if r.attempts >= 1 and r.status == "pending"])[0]
        assert row.status == "pending" and row.last_error  # SMTP is down: kept, retried later
        server.start()
        wait_for(lambda: server.received)
        [mail] = server.received
        assert mail["To"] == "ayse.customer@example.com" and "help@example.com" in mail["From"]
        body = mail.get_body(preferencelist=("plain",)).get_content()
        assert "Siparişiniz bugün kargoya verildi." in body and "Ayşe" in body  # the agent's name
        assert "siparişim nerede" in body  # the question, so the customer knows what this answers
        link = next(word for word in body.split() if word.startswith("https://help.example.com/chat/"))
        # The ticket's answer goes the same way, once.
        ticket = web.desk.store.list_tickets()[0]
        agent.post(f"/agent/tickets/{ticket.id}/answer", data={"csrf_token": csrf(agent), "answer": "Takip numarası: 42."})
        wait_for(lambda: len(server.received) == 2)
        time.sleep(1.5)  # another relay round and drain: nothing is sent twice
        assert len(server.received) == 2 and all(r.status == "sent" for r in outbox.items("email"))
        # The link opens this conversation in another browser.
        elsewhere = web.client()
        opened = elsewhere.get(link.replace("https://help.example.com", ""))
        assert opened.status_code == 302 and opened.headers["Location"].endswith("/?chat=open")
        assert start(elsewhere)["id"] == cid
        messages = elsewhere.get(f"/api/conversations/{cid}").get_json()["messages"]
        assert [m["text"] for m in messages if m["author"] == "agent"] == ["Siparişiniz bugün kargoya verildi.", "Takip numarası: 42."]
        assert web.client().get("/chat/forged-token").status_code == 404
    finally:
        web.app.extensions[EXTENSION].close()
        server.stop()
