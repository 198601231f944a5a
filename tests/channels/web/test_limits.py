"""Rate limits through the real Flask app (channels/web/limits.py, counters in the store):
429 with Retry-After past a limit, accepted again in the next window, shared by two apps over
one database file (two workers), sign-in backoff, the open-stream cap, and 0 turning a limit off."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bot.config import Settings
from bot.desk.desk import Desk
from bot.desk.hours import parse_hours
from bot.errors import ConfigError
from bot.store.connect import open_store
from channels.web.app import create_app
from tests.channels.web.conftest import PASSWORD, Web, csrf_in, start

SECRET = "limits-test-secret"


def app_with(web: Web, desk: Desk | None = None, **overrides: Any) -> Flask:
    """Another app over `web`'s desk (or `desk`), with some settings changed and a shared secret."""
    settings = web.app.extensions["answerdesk"].settings.with_overrides(secret_key=SECRET, **overrides)
    app = create_app(settings, desk=desk or web.desk, clock=web.clock)
    app.config.update(TESTING=True, SSE_POLL_SECONDS=0.02, SSE_HEARTBEAT_SECONDS=0.1, SSE_MAX_SECONDS=0.3)
    return app


def client(app: Flask, ip: str = "203.0.113.7") -> FlaskClient:
    made = app.test_client()
    made.environ_base["REMOTE_ADDR"] = ip
    return made


def human(c: FlaskClient, cid: str) -> Any:
    """A cheap limited request (it counts as a message): ask for a person."""
    return c.post(f"/api/conversations/{cid}/human", json={})


def assert_429(response: Any, at_most: int) -> None:
    assert response.status_code == 429, response.get_data(as_text=True)
    assert 1 <= int(response.headers["Retry-After"]) <= at_most
    assert "error" in response.get_json()


def test_the_21st_message_in_a_minute_is_refused_until_the_next_window(web: Web) -> None:
    c = client(app_with(web))
    cid = start(c, "en")["id"]
    for n in range(20):
        response = c.post(f"/api/conversations/{cid}/messages", json={"text": f"where is my order {n}"})
        assert response.status_code == 200, (n, response.get_data(as_text=True))
    refused = c.post(f"/api/conversations/{cid}/messages", json={"text": "where is my order?"})
    assert_429(refused, 60)
    assert refused.headers["Retry-After"] == "60"  # the test clock stands at 10:00:00, a window's start
    web.clock.advance(seconds=60)
    assert c.post(f"/api/conversations/{cid}/messages", json={"text": "where is my order?"}).status_code == 200


def test_one_address_is_limited_across_its_visitors_and_others_are_not(web: Web) -> None:
    app = app_with(web, limit_messages_per_ip="5/minute")
    office = [client(app) for _ in range(3)]
    conversations = [start(c, "en")["id"] for c in office]
    for n in range(5):
        assert human(office[n % 3], conversations[n % 3]).status_code == 200
    assert_429(human(office[2], conversations[2]), 60)
    elsewhere = client(app, "198.51.100.1")
    assert human(elsewhere, start(elsewhere, "en")["id"]).status_code == 200


def test_new_conversations_are_limited_per_visitor_and_per_address(web: Web) -> None:
    app = app_with(web, limit_conversations_per_visitor="3/hour", limit_conversations_per_ip="8/minute")
    visitor = client(app)
    # The first makes the visitor (it counts for the address only), then three with its cookie.
    for _ in range(4):
        assert visitor.post("/api/conversations", json={"lang": "en"}).status_code == 201
    assert_429(visitor.post("/api/conversations", json={"lang": "en"}), 3600)
    # Without a cookie every request is a new visitor: the address's limit holds them (5 counted so far).
    for _ in range(3):
        assert client(app).post("/api/conversations", json={"lang": "en"}).status_code == 201
    assert_429(client(app).post("/api/conversations", json={"lang": "en"}), 60)
    assert client(app, "198.51.100.1").post("/api/conversations", json={"lang": "en"}).status_code == 201


def test_a_limit_of_0_is_off(web: Web) -> None:
    app = app_with(web, limit_conversations_per_visitor="0", limit_conversations_per_ip="0", limit_messages_per_visitor="0",
                   limit_messages_per_ip="0")
    c = client(app)
    for _ in range(70):  # past the default 60/minute per address
        assert c.post("/api/conversations", json={"lang": "en"}).status_code == 201
    cid = start(c, "en")["id"]
    for _ in range(25):
        assert human(c, cid).status_code == 200


def test_two_apps_over_one_database_file_share_the_counters(web: Web, tmp_path: Any) -> None:
    # Two workers are two processes with their own store over the same file: here, two apps.
    path = web.desk.store.database.name  # type: ignore[attr-defined]
    other_store = open_store(path, clock=web.clock)
    try:
        other_desk = Desk(web.desk.engine, other_store, parse_hours("24/7", "UTC", ""), timedelta(seconds=180), clock=web.clock)
        first, second = app_with(web, limit_messages_per_visitor="4/minute"), app_with(web, other_desk, limit_messages_per_visitor="4/minute")
        one = client(first)
        cid = start(one, "en")["id"]
        two = client(second)
        two.set_cookie("answerdesk_visitor", one.get_cookie("answerdesk_visitor").value)  # the same browser
        for c in (one, two, one, two):
            assert human(c, cid).status_code == 200
        assert_429(human(one, cid), 60)
        assert_429(human(two, cid), 60)
    finally:
        other_store.close()


# -- sign-in ---------------------------------------------------------------------------------------
def sign_in_status(c: FlaskClient, email: str, password: str) -> Any:
    token = csrf_in(c.get("/agent/login").get_data(as_text=True))
    return c.post("/agent/login", data={"email": email, "password": password, "csrf_token": token, "next": ""})


def test_wrong_passwords_for_an_account_back_off_2_4_seconds_and_a_success_forgets_them(web: Web) -> None:
    c = client(app_with(web))
    for _ in range(5):
        assert sign_in_status(c, "ayse@example.com", "wrong").status_code == 401
    refused = sign_in_status(c, "Ayse@example.com", PASSWORD)  # the right password waits too; any case
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "2"
    assert "Too many wrong passwords" in refused.get_data(as_text=True)
    web.clock.advance(seconds=2)
    assert sign_in_status(c, "ayse@example.com", "wrong").status_code == 401
    assert sign_in_status(c, "ayse@example.com", PASSWORD).headers["Retry-After"] == "4"
    # Another account from elsewhere is not held up.
    assert sign_in_status(client(web.app, "198.51.100.1"), "omar@example.com", PASSWORD).status_code == 302
    web.clock.advance(seconds=4)
    assert sign_in_status(c, "ayse@example.com", PASSWORD).status_code == 302
    web.clock.advance(seconds=60)
    assert sign_in_status(client(app_with(web)), "ayse@example.com", "wrong").status_code == 401  # counting from 1 again


def test_wrong_passwords_from_one_address_back_off_whatever_the_account(web: Web) -> None:
    app = app_with(web, sign_in_backoff_after_per_ip=3)
    c = client(app)
    for n in range(3):
        assert sign_in_status(c, f"guess{n}@example.com", "wrong").status_code == 401
    assert sign_in_status(c, "ayse@example.com", PASSWORD).status_code == 429
    assert sign_in_status(client(app, "198.51.100.1"), "ayse@example.com", PASSWORD).status_code == 302


def test_sign_ins_are_rate_limited_per_address_and_per_account(web: Web) -> None:
    app = app_with(web, limit_sign_in_per_ip="3/minute", limit_sign_in_per_account="5/minute", sign_in_backoff_after=0,
                   sign_in_backoff_after_per_ip=0)
    c = client(app)
    for n in range(3):
        assert sign_in_status(c, "omar@example.com", "wrong").status_code == 401
    assert_sign_in_429 = sign_in_status(c, "omar@example.com", "wrong")
    assert assert_sign_in_429.status_code == 429 and 1 <= int(assert_sign_in_429.headers["Retry-After"]) <= 60
    # Refused attempts count too: the account's fifth (from elsewhere) fills its limit; the sixth is refused anywhere.
    assert sign_in_status(client(app, "198.51.100.1"), "omar@example.com", "wrong").status_code == 401
    assert sign_in_status(client(app, "198.51.100.2"), "omar@example.com", PASSWORD).status_code == 429
    web.clock.advance(seconds=60)
    assert sign_in_status(c, "omar@example.com", PASSWORD).status_code == 302


# -- event streams ---------------------------------------------------------------------------------
def test_a_visitor_holds_at_most_4_streams_and_an_address_40(web: Web) -> None:
    app = app_with(web, open_streams_per_ip=6)
    c = client(app)
    cid = start(c, "en")["id"]
    path = f"/api/conversations/{cid}/events"
    held = [c.get(path, buffered=False) for _ in range(4)]
    assert [r.status_code for r in held] == [200] * 4
    assert_429(c.get(path, buffered=False), 60)
    held.pop().close()  # a tab closed: its slot is free again
    held.append(c.get(path, buffered=False))
    assert held[-1].status_code == 200
    # Another visitor at the same address: two more, then the address's cap (6 here).
    other = client(app)
    other_path = f"/api/conversations/{start(other, 'en')['id']}/events"
    held += [other.get(other_path, buffered=False) for _ in range(2)]
    assert [r.status_code for r in held[-2:]] == [200, 200]
    assert_429(other.get(other_path, buffered=False), 60)
    for response in held:
        response.close()
    assert other.get(other_path, buffered=False).status_code == 200


def test_a_stream_read_to_its_end_frees_its_slot(web: Web) -> None:
    app = app_with(web, open_streams_per_visitor=1)
    c = client(app)
    cid = start(c, "en")["id"]
    for _ in range(3):
        response = c.get(f"/api/conversations/{cid}/events")
        assert response.status_code == 200
        response.get_data()  # the stream ends after SSE_MAX_SECONDS
        response.close()


def test_stream_openings_are_rate_limited(web: Web) -> None:
    app = app_with(web, limit_streams_per_visitor="3/minute")
    c = client(app)
    cid = start(c, "en")["id"]
    for _ in range(3):
        c.get(f"/api/conversations/{cid}/events").close()
    assert_429(c.get(f"/api/conversations/{cid}/events"), 60)


# -- settings --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, value", [("ANSWERDESK_LIMIT_MESSAGES_PER_VISITOR", "20 a minute"), ("ANSWERDESK_OPEN_STREAMS_PER_IP", "-1")])
def test_a_bad_limit_stops_start_up_naming_it(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


def test_limits_accept_several_rates_and_0() -> None:
    settings = Settings.from_env({"ANSWERDESK_LIMIT_MESSAGES_PER_IP": "300/minute;5000/hour", "ANSWERDESK_LIMIT_SIGN_IN_PER_IP": "0"})
    assert settings.limit_messages_per_ip == "300/minute;5000/hour" and settings.limit_sign_in_per_ip == "0"
