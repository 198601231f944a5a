"""/telegram/webhook: with the right secret, a body that is no Update is a 400 saying why, never a 500,
an error on the loop, or an ERROR in the log (issue 14, item 8)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from channels.telegram.app import SECRET_HEADER, WEBHOOK_PATH
from tests.channels.telegram.conftest import Rig
from tests.channels.telegram.fake_telegram import SECRET, message_update


@pytest.fixture
def quiet(caplog: pytest.LogCaptureFixture) -> Any:
    """Fails the test if anything was logged as an ERROR."""
    caplog.set_level(logging.INFO)
    yield caplog
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


def post_raw(rig: Rig, body: str | bytes) -> Any:
    return rig.app.test_client().post(WEBHOOK_PATH, data=body, headers={SECRET_HEADER: SECRET}, content_type="application/json")


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 7, "message": "str"},
        {"update_id": 7, "message": {"message_id": 1, "date": 0, "chat": "x"}},
        {"update_id": 7, "message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}, "from": {"id": 5}, "text": 5}},
        {"update_id": 7, "callback_query": {"id": "q", "from": 3, "chat_instance": "c"}},
        {"update_id": "7"},
        {"update_id": True},
    ],
    ids=["message is a string", "chat is a string", "text is a number", "from is a number", "update_id a string", "update_id a boolean"],
)
def test_a_body_that_is_no_update_is_a_400(rig: Rig, quiet: Any, update: dict[str, Any]) -> None:
    response = rig.post(update)
    assert response.status_code == 400, response.get_data(as_text=True)
    rig.idle()
    assert rig.messages() == [] and rig.fake.sent() == []


@pytest.mark.parametrize("body", ['{"update_id": ' + "[" * 30_000 + "]" * 30_000 + "}", b'{"update_id": 1, "x": "\xff"}', "[1]"],
                         ids=["nested 30,000 deep", "not UTF-8", "not an object"])
def test_a_body_that_is_no_json_object_is_a_400(rig: Rig, quiet: Any, body: str | bytes) -> None:
    assert post_raw(rig, body).status_code == 400


def test_a_lone_surrogate_in_a_message_is_kept_as_a_replacement_character(rig: Rig, quiet: Any) -> None:
    update = message_update(811, 811, "PLACEHOLDER password")
    body = json.dumps(update).replace("PLACEHOLDER", "\\ud800 I forgot my")
    assert post_raw(rig, body).status_code == 200
    rig.idle()
    assert [m.text for m in rig.messages("customer")] == ["\ufffd I forgot my password"]
