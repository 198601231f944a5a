"""A client's mistake is a 4xx naming what was wrong, never a 500 and never an ERROR in the log (issue 14, item 8)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.channels.web.conftest import Web, say, start

TOO_BIG = "9223372036854775808"  # 2**63: one past the largest id the store holds


@pytest.fixture
def visitor(web: Web, caplog: pytest.LogCaptureFixture) -> Any:
    """A visitor with an open conversation; the test fails if anything was logged as an ERROR."""
    caplog.set_level(logging.INFO)
    client = web.client()
    cid = start(client, "en")["id"]
    yield client, cid
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


def post_raw(client: FlaskClient, path: str, body: str) -> Any:
    return client.post(path, data=body.encode("utf-8"), content_type="application/json")


def test_a_lone_surrogate_in_a_message_is_refused_naming_the_field(visitor: Any, web: Web) -> None:
    client, cid = visitor
    response = post_raw(client, f"/api/conversations/{cid}/messages", '{"text": "hello \\ud800 there"}')
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("'text' is not valid Unicode")
    assert web.desk.store.list_messages(cid) == []
    # A proper pair (an emoji written as two escapes) is fine.
    response = post_raw(client, f"/api/conversations/{cid}/messages", '{"text": "thanks \\ud83d\\ude00"}')
    assert response.status_code == 200 and response.get_json()["message"]["text"] == "thanks 😀"


@pytest.mark.parametrize("body, field", [('{"lang": "\\udfff"}', "'lang'"), ('{"\\ud800": 1}', "a field name")])
def test_a_lone_surrogate_anywhere_in_a_body_is_refused(visitor: Any, body: str, field: str) -> None:
    client, _ = visitor
    response = post_raw(client, "/api/conversations", body)
    assert response.status_code == 400 and response.get_json()["error"].startswith(f"{field} is not valid Unicode")


def test_json_nested_thirty_thousand_deep_is_a_400(visitor: Any) -> None:
    client, cid = visitor
    body = '{"text": ' + "[" * 30_000 + "]" * 30_000 + "}"
    response = post_raw(client, f"/api/conversations/{cid}/messages", body)
    assert response.status_code == 400
    assert response.get_json() == {"error": "the body is nested more than 64 levels deep"}


@pytest.mark.parametrize(
    "query, headers, field",
    [
        (f"?after={TOO_BIG}", {}, "after"),
        ("?after=-1", {}, "after"),
        ("?after=1e3", {}, "after"),
        ("?after=%D9%A1", {}, "after"),  # an Arabic-Indic digit: int() takes it, an id is ASCII
        ("", {"Last-Event-ID": TOO_BIG}, "Last-Event-ID"),
        ("?after=5", {"Last-Event-ID": "abc"}, "Last-Event-ID"),
    ],
)
def test_an_event_id_out_of_range_is_a_400_naming_the_field(visitor: Any, query: str, headers: dict[str, str], field: str) -> None:
    client, cid = visitor
    response = client.get(f"/api/conversations/{cid}/events{query}", headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"].startswith(f"{field} must be a message id: a whole number from 0 to 9223372036854775807")


def test_the_largest_event_id_is_fine(visitor: Any) -> None:
    client, cid = visitor
    response = client.get(f"/api/conversations/{cid}/events?after=9223372036854775807")
    assert response.status_code == 200 and "event: state" in response.get_data(as_text=True)


@pytest.mark.parametrize("message_id", [int(TOO_BIG), -1, 0, 1.5, "7", True])
def test_a_message_id_out_of_range_is_a_400_naming_the_field(visitor: Any, message_id: Any) -> None:
    client, cid = visitor
    response = client.post(f"/api/conversations/{cid}/feedback", json={"message_id": message_id, "helpful": True})
    assert response.status_code == 400 and response.get_json()["error"].startswith("'message_id' must be")


def test_whole_numbers_written_with_a_point_are_whole_numbers(visitor: Any) -> None:
    """JSON Schema's integer takes 4.0, so the server does (the spec says csat is an integer)."""
    client, cid = visitor
    answer = next(r for r in say(client, cid, "How do I reset my password?")["replies"] if r["action"] == "answer")
    response = client.post(f"/api/conversations/{cid}/feedback", json={"message_id": float(answer["id"]), "helpful": True})
    assert response.status_code == 200, response.get_json()
    assert client.post(f"/api/conversations/{cid}/feedback", json={"csat": 4.0}).status_code in (200, 409)
    assert client.post(f"/api/conversations/{cid}/feedback", json={"csat": 4.5}).status_code == 400


def test_an_empty_article_id_is_refused_as_the_spec_says(visitor: Any) -> None:
    client, cid = visitor
    response = client.post(f"/api/conversations/{cid}/choices", json={"article_id": ""})
    assert response.status_code == 400 and "'article_id'" in response.get_json()["error"]


def test_a_method_a_path_does_not_take_is_a_405_with_allow(visitor: Any) -> None:
    client, cid = visitor
    response = client.delete(f"/api/conversations/{cid}")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET"}
    assert "DELETE is not allowed" in response.get_json()["error"]
    page = client.put("/")
    assert page.status_code == 405 and "GET" in page.headers["Allow"]


def test_a_body_that_is_not_utf8_or_not_an_object_is_a_400(visitor: Any) -> None:
    client, cid = visitor
    path = f"/api/conversations/{cid}/messages"
    assert client.post(path, data=b'{"text": "\xff"}', content_type="application/json").status_code == 400
    assert post_raw(client, path, '["text"]').get_json() == {"error": "the body must be a JSON object"}
    assert post_raw(client, path, '{"text": 1e999999}').status_code == 400  # infinity is no text
