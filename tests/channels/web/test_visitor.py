"""The visitor cookie is one the server issued: a value the client picks is a new visitor, never someone else (issue 14, item 5)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.desk.links import conversation_link
from channels.web.visitor import VISITOR_COOKIE
from tests.channels.web.conftest import Web, say, start


def cookie_of(client: Any) -> str:
    cookie = client.get_cookie(VISITOR_COOKIE)
    assert cookie is not None
    return cookie.value


def test_the_issued_cookie_is_signed_and_keeps_the_conversation(web: Web) -> None:
    client = web.client()
    cid = start(client, "en")["id"]
    visitor, _, signature = cookie_of(client).partition(".")
    assert len(visitor) == 32 and signature
    assert web.desk.store.get_conversation(cid).external_user == visitor  # the raw id, as before
    assert start(client)["id"] == cid
    assert say(client, cid, "How do I reset my password?")["replies"]
    assert client.get(f"/api/conversations/{cid}").status_code == 200


def test_a_forged_cookie_is_a_new_visitor_never_the_one_it_names(web: Web) -> None:
    owner = web.client()
    cid = start(owner, "en")["id"]
    say(owner, cid, "How do I reset my password?")
    visitor, _, signature = cookie_of(owner).partition(".")

    for forged in (visitor, f"{visitor}.{'A' * len(signature)}", f"{visitor}.", "x" * 40):
        intruder = web.client()
        intruder.set_cookie(VISITOR_COOKIE, forged)
        assert intruder.get(f"/api/conversations/{cid}").status_code == 404
        assert intruder.post(f"/api/conversations/{cid}/messages", json={"text": "hi"}).status_code == 404
        assert intruder.get(f"/api/conversations/{cid}/events").status_code == 404
        opened = start(intruder, "en")
        assert opened["id"] != cid and cookie_of(intruder) != forged  # a new visitor with a cookie of its own
        assert web.desk.store.get_conversation(opened["id"]).external_user != visitor
    assert [m.author for m in web.desk.store.list_messages(cid)][:1] == ["customer"]


def test_a_cookie_signed_with_another_key_is_no_visitor(web: Web, make_web: Any) -> None:
    client = web.client()
    cid = start(client, "en")["id"]
    other = make_web()
    other.app.secret_key = "another-server"
    elsewhere = other.client()
    elsewhere.set_cookie(VISITOR_COOKIE, cookie_of(client))
    assert start(elsewhere, "en")["id"] != cid


def test_the_email_link_makes_this_browser_the_conversations_visitor(web: Web) -> None:
    context = web.app.extensions["answerdesk"]
    context.settings = replace(context.settings, secret_key="s3cret-for-links", public_url="https://help.example.com")
    owner = web.client()
    cid = start(owner, "en")["id"]
    say(owner, cid, "How do I reset my password?")

    elsewhere = web.client()
    link = conversation_link(context.settings, web.desk.store.get_conversation(cid))
    opened = elsewhere.get(link.replace("https://help.example.com", ""))
    assert opened.status_code == 302
    assert cookie_of(elsewhere) != web.desk.store.get_conversation(cid).external_user  # signed, not the bare id
    assert start(elsewhere)["id"] == cid
    assert elsewhere.get(f"/api/conversations/{cid}").status_code == 200
