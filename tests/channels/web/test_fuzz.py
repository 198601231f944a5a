"""The JSON API fuzzed from its own contract (channels/web/openapi.yaml) with schemathesis, in-process over WSGI:
no 5xx, every response as the spec describes it (status, headers, body), bodies the spec allows
taken and bodies it forbids refused, and nothing logged as an ERROR (issue 14).

Bounded: MAX_EXAMPLES cases per operation and mode, derandomized (the same cases every run).
The visitor's own conversation stands in for `conversation_id`, so the cases reach the desk;
unknown ids are test_api.py's business.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from channels.web.visitor import VISITOR_COOKIE
from tests.channels.web.conftest import Web, start

MAX_EXAMPLES = 30
POSITIVE, NEGATIVE = schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE
# GET /api/openapi.yaml (the spec itself) is left out by schemathesis.
OPERATIONS = ["health", "openConversation", "getConversation", "sendMessage", "choose", "feedback", "askForPerson", "conversationEvents"]
WITH_INPUT = ["openConversation", "sendMessage", "choose", "feedback", "conversationEvents"]  # what a negative case can break


@pytest.mark.parametrize(
    "operation_id, mode", [(o, POSITIVE) for o in OPERATIONS] + [(o, NEGATIVE) for o in WITH_INPUT], ids=lambda v: str(v)
)
def test_the_api_keeps_its_contract_under_fuzzing(
    make_web: Any, caplog: pytest.LogCaptureFixture, operation_id: str, mode: schemathesis.GenerationMode
) -> None:
    web: Web = make_web()
    web.app.config.update(SSE_POLL_SECONDS=0.005, SSE_MAX_SECONDS=0.02)  # an event stream ends at once
    caplog.set_level(logging.INFO)
    client = web.client()
    cid = start(client, "en")["id"]
    cookies = {VISITOR_COOKIE: client.get_cookie(VISITOR_COOKIE).value}
    schema = schemathesis.openapi.from_wsgi("/api/openapi.yaml", web.app)
    [operation] = [r.ok() for r in schema.get_all_operations() if r.ok().definition.raw.get("operationId") == operation_id]
    path_parameters = {"conversation_id": cid} if "{conversation_id}" in operation.path else None

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(mode, path_parameters=path_parameters))
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(cookies=cookies, additional_checks=[schemathesis.checks.positive_data_acceptance])

    check()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


def test_every_operation_of_the_spec_is_fuzzed(web: Web) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/openapi.yaml", web.app)
    assert sorted(r.ok().definition.raw["operationId"] for r in schema.get_all_operations()) == sorted(OPERATIONS)
