"""/slack/events: a request that is not Slack's is a 401 whatever its body or headers, a signed one bolt
cannot read is a 400, and neither is a 500 or an ERROR in the log (issue 14, item 8)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from tests.channels.slack.conftest import Rig
from tests.channels.slack.fake_slack import TEAM, signature_headers

DEEP = '{"a": ' + "[" * 30_000 + "]" * 30_000 + "}"


@pytest.fixture
def quiet(caplog: pytest.LogCaptureFixture) -> Any:
    """Fails the test if anything was logged as an ERROR."""
    caplog.set_level(logging.INFO)
    yield caplog
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


def post(rig: Rig, body: str, headers: dict[str, str]) -> Any:
    return rig.client().post("/slack/events", data=body, headers=headers, content_type="application/json")


@pytest.mark.parametrize("timestamp", ["abc", "", "-5", "1e9", "١٢٣", "9" * 5000])
def test_a_timestamp_that_is_no_number_is_refused_like_a_bad_signature(rig: Rig, quiet: Any, timestamp: str) -> None:
    response = post(rig, "{}", {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": "v0=00"})
    assert response.status_code == 401 and response.get_json() == {"error": "invalid request"}


@pytest.mark.parametrize("body", ["{not json", DEEP, '{"type": "event_callback", "event": "str"}'], ids=["broken", "deep", "odd"])
def test_an_unsigned_body_of_any_shape_is_a_401(rig: Rig, quiet: Any, body: str) -> None:
    response = post(rig, body, {**signature_headers(body), "X-Slack-Signature": "v0=" + "0" * 64})
    assert response.status_code == 401


@pytest.mark.parametrize("body", ["{not json", DEEP], ids=["broken", "deep"])
def test_a_signed_body_bolt_cannot_read_is_a_400(rig: Rig, quiet: Any, body: str) -> None:
    response = post(rig, body, signature_headers(body))
    assert response.status_code == 400 and "no Slack payload" in response.get_json()["error"]
    assert rig.messages() == []


def test_a_lone_surrogate_in_a_signed_message_is_kept_as_a_replacement_character(rig: Rig, quiet: Any) -> None:
    event = {"type": "message", "channel": "DU0JOHN", "channel_type": "im", "user": "U0JOHN", "text": "PLACEHOLDER password",
             "ts": "1650000000.000901", "team": TEAM}
    envelope = {"token": "legacy", "team_id": TEAM, "api_app_id": "A0APP", "type": "event_callback", "event_id": "EvSURROGATE",
                "event_time": 1650000000, "event": event}
    body = json.dumps(envelope).replace("PLACEHOLDER", "\\ud800 forgot my")
    response = post(rig, body, signature_headers(body))
    assert response.status_code == 200
    rig.idle()
    [kept] = rig.messages("customer")
    assert kept.text == "\ufffd forgot my password"


def test_a_signed_click_of_odd_shape_is_acknowledged_and_ignored(rig: Rig, quiet: Any) -> None:
    from urllib.parse import urlencode

    # Shapes bolt passes on (its own matchers need a list of actions with an action_id), ours reads as missing.
    payload = {"type": "block_actions", "team": "T", "user": {"id": "U0JOHN"}, "channel": "C", "container": {"channel_id": "DU0JOHN"},
               "actions": [{"action_id": "answerdesk.choose", "value": 5, "text": "x"}], "message": {"ts": "1.2", "blocks": "x", "thread_ts": 7}}
    body = urlencode({"payload": json.dumps(payload)})
    response = rig.client().post("/slack/events", data=body, headers=signature_headers(body), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    rig.idle()
    assert rig.messages() == []
