"""Only Slack gets in: a bad signature or a stale timestamp is a 401, and nothing reaches the engine."""

from __future__ import annotations

import time

import pytest

from tests.channels.slack.conftest import Rig
from tests.channels.slack.fake_slack import TEAM

EVENT = {"type": "message", "channel": "DU0JOHN", "channel_type": "im", "user": "U0JOHN", "text": "I forgot my password",
         "ts": "1650000000.000900", "team": TEAM}


@pytest.mark.parametrize(
    "signing",
    [
        {"secret": "not-the-secret"},
        {"timestamp": int(time.time()) - 10 * 60},  # Slack's verifier allows 5 minutes
    ],
    ids=["bad signature", "stale timestamp"],
)
def test_unsigned_requests_are_refused(rig: Rig, signing: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(rig.desk.engine, "respond", lambda *a, **k: calls.append(a))
    response = rig.event(EVENT, **signing)
    assert response.status_code == 401
    rig.idle()
    assert calls == [] and rig.messages() == []
    assert [c.method for c in rig.fake.calls] == ["auth.test"]  # no users.info, no reply


def test_a_request_without_signature_headers_is_refused(rig: Rig) -> None:
    response = rig.client().post("/slack/events", data="{}", content_type="application/json")
    assert response.status_code == 401
