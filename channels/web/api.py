"""The JSON API the chat widget talks to (described in openapi.yaml), and /healthz.

Each view turns a request into one `Desk` call and the result into JSON. A visitor is known
by a cookie the server signed (channels/web/visitor.py) and can only see conversations opened
with it; any other id is a 404. A client's mistake is a 4xx naming the field, never a 500.
"""

from __future__ import annotations

import json
import os
import re
from importlib import resources
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from bot.desk.desk import NotAllowed, NotFound, Turn
from bot.untrusted import SURROGATE, too_deep
from bot.answer.phrases import phrase
from bot.store.model import Conversation, Message
from channels.web.context import web
from channels.web.events import MAX_ID, BadEventId, Timing, conversation_poll, last_event_id, stream
from channels.web.limits import limited, stream_limited
from channels.web.payloads import conversation_json, message_json, turn_json
from channels.web.visitor import new_visitor_id, set_visitor_cookie, visitor_id

bp = Blueprint("api", __name__)

CHANNEL = "web"
MAX_TEXT = 4000
_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_DEPTH = 64  # JSON nesting a request may have; real payloads stay under 20


class ApiError(Exception):
    """A request the API refuses: answered as {"error": message} with `status`."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


@bp.errorhandler(ApiError)
def _api_error(e: ApiError) -> tuple[Response, int]:
    return jsonify(error=e.message), e.status


@bp.errorhandler(NotFound)
def _not_found(e: NotFound) -> tuple[Response, int]:
    return jsonify(error=str(e)), 404


@bp.errorhandler(NotAllowed)
def _not_allowed(e: NotAllowed) -> tuple[Response, int]:
    return jsonify(error=str(e)), 409


@bp.get("/healthz")
def healthz() -> Response | tuple[Response, int, dict[str, str]]:
    snapshot = web().snapshot()  # SearchIndexError: 503 (see app.py)
    manifest = snapshot.manifest
    # A write probe (at most one every 2 s): the store can be read but not written, locked, or gone.
    probe = getattr(web().desk.store, "health", None)
    problem = probe() if probe is not None else None
    if problem is not None:
        return jsonify(status="unavailable", store="failing", error=problem, worker=os.getpid()), 503, {"Retry-After": "2"}
    return jsonify(
        status="ok", articles=manifest.get("articles", len(snapshot.ids)), index_built_at=manifest.get("built_at"),
        index=snapshot.path.name, store="ok", worker=os.getpid(),
    )


@bp.get("/api/openapi.yaml")
def openapi() -> Response:
    text = resources.files("channels.web").joinpath("openapi.yaml").read_text(encoding="utf-8")
    return Response(text, mimetype="application/yaml")


@bp.post("/api/conversations")
@limited("conversations")
def open_conversation() -> tuple[Response, int]:
    body = _json_body(required=False)
    hint = body.get("lang")
    if hint is not None and not isinstance(hint, str):
        raise ApiError(400, "'lang' must be a language tag string such as \"tr\" or \"pt-BR\"")
    hint = hint or request.headers.get("Accept-Language") or None
    visitor = visitor_id()
    new_visitor = visitor is None
    if visitor is None:  # none, or one this server did not sign: a new visitor, never someone else
        visitor = new_visitor_id()
    conversation = web().desk.open(CHANNEL, visitor, hint)
    response = jsonify(id=conversation.id, lang=conversation.lang, state=conversation.state, greeting=phrase("greeting", conversation.lang))
    if new_visitor:
        set_visitor_cookie(response, visitor)
    return response, 201


@bp.get("/api/conversations/<conversation_id>")
def transcript(conversation_id: str) -> Response:
    conversation = _owned(conversation_id)
    messages = web().desk.store.list_messages(conversation.id)
    return jsonify(conversation_json(conversation, messages, web().snapshot_or_none(), request.script_root, web().desk.agent_name))


@bp.post("/api/conversations/<conversation_id>/messages")
@limited("messages")
def send_message(conversation_id: str) -> Response:
    body = _json_body()
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "'text' must be a non-empty string")
    if len(text) > MAX_TEXT:
        raise ApiError(400, f"'text' is {len(text)} characters long; the limit is {MAX_TEXT}")
    client_id = body.get("client_id")
    if client_id is not None and (not isinstance(client_id, str) or not _CLIENT_ID.fullmatch(client_id)):
        raise ApiError(400, "'client_id' must be 1-64 letters, digits, '-' or '_' (one per message, the same on a retry)")
    conversation = _owned(conversation_id)
    # A retried message (same client_id) is stored once; the desk answers it once, from the store.
    external_id = None if client_id is None else f"{conversation.id}:{client_id}"
    # No hint: the desk uses the conversation's language, which follows what the customer writes.
    return _turn(web().desk.receive(conversation.id, text, external_id=external_id, known=conversation))


@bp.post("/api/conversations/<conversation_id>/choices")
@limited("messages")
def choose(conversation_id: str) -> Response:
    article_id = _json_body().get("article_id")
    if not isinstance(article_id, str) or not article_id:
        raise ApiError(400, "'article_id' must be the id of one of the offered articles")
    conversation = _owned(conversation_id)
    return _turn(web().desk.choose(conversation.id, article_id))


@bp.post("/api/conversations/<conversation_id>/feedback")
@limited("messages")
def feedback(conversation_id: str) -> Response:
    body = _json_body()
    conversation = _owned(conversation_id)
    if "csat" in body and "helpful" not in body:
        csat = _whole_number(body["csat"])
        if csat is None or not 1 <= csat <= 5:
            raise ApiError(400, "'csat' must be an integer from 1 to 5")
        return _turn(web().desk.rate_conversation(conversation.id, csat))
    if "helpful" in body and "csat" not in body:
        message_id, helpful = _whole_number(body.get("message_id")), body["helpful"]
        if not isinstance(helpful, bool):
            raise ApiError(400, "'helpful' must be true or false")
        if message_id is None or not 1 <= message_id <= MAX_ID:
            raise ApiError(400, f"'message_id' must be the id of the bot answer being rated: a whole number from 1 to {MAX_ID}")
        return _turn(web().desk.rate_answer(conversation.id, message_id, helpful))
    raise ApiError(400, "send either {\"message_id\": id, \"helpful\": true|false} or {\"csat\": 1..5}")


@bp.post("/api/conversations/<conversation_id>/human")
@limited("messages")
def ask_for_person(conversation_id: str) -> Response:
    conversation = _owned(conversation_id)
    return _turn(web().desk.ask_for_person(conversation.id))


@bp.get("/api/conversations/<conversation_id>/events")
@stream_limited
def events(conversation_id: str) -> Response:
    conversation = _owned(conversation_id)
    try:
        after = last_event_id()
    except BadEventId as e:
        raise ApiError(400, str(e)) from None
    context, root = web(), request.script_root

    def render(message: Message, current: Conversation) -> dict[str, Any]:
        return message_json(message, context.snapshot_or_none(), root, current.lang, context.desk.agent_name)

    poll = conversation_poll(context.desk.store, conversation.id, after or 0, render)
    return stream(poll, Timing.from_config(current_app.config), watch=conversation.id)


# -- pieces ---------------------------------------------------------------------------------
def _turn(turn: Turn) -> Response:
    # A Turn carries the conversation as the desk left it (read once, at the end of its transaction).
    return jsonify(turn_json(turn, web().snapshot_or_none(), request.script_root, web().desk.agent_name))


def _owned(conversation_id: str) -> Conversation:
    """The visitor's own web conversation, else 404 (whether it exists or not)."""
    visitor = visitor_id()
    conversation = web().desk.store.get_conversation(conversation_id) if visitor else None
    if conversation is None or conversation.channel != CHANNEL or conversation.external_user != visitor:
        raise ApiError(404, f"no conversation {conversation_id!r} for this visitor; start one with POST /api/conversations")
    return conversation


def _json_body(required: bool = True) -> dict[str, Any]:
    raw = request.get_data(cache=True)
    if not raw and not required:
        return {}
    if not request.is_json:
        raise ApiError(415, f"send the body as JSON with Content-Type: application/json (got {request.mimetype or 'none'!s})")
    try:
        text = raw.decode("utf-8")
        if too_deep(text, MAX_DEPTH):
            raise ApiError(400, f"the body is nested more than {MAX_DEPTH} levels deep")
        data = json.loads(text) if raw else None
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise ApiError(400, f"the body is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object")
    _check_unicode(data)
    return data


def _check_unicode(body: dict[str, Any]) -> None:
    """400 naming the field when a string in the body holds a lone surrogate (JSON "\\ud800"):
    refused rather than repaired, so what is stored is what the customer sent."""
    for field, value in body.items():
        if SURROGATE.search(field):
            raise ApiError(400, "a field name is not valid Unicode (a lone surrogate such as \"\\ud800\"); send UTF-8 text")
        pending = [value]
        while pending:  # no recursion: a body nested near the parser's limit must not overflow the stack here
            item = pending.pop()
            if isinstance(item, str):
                found = SURROGATE.search(item)
                if found:
                    raise ApiError(400, f"{field!r} is not valid Unicode (a lone surrogate at character {found.start()}); send UTF-8 text")
            elif isinstance(item, dict):
                pending += [*item.keys(), *item.values()]
            elif isinstance(item, list):
                pending += item


def _whole_number(value: Any) -> int | None:
    """An integer sent as JSON (1, or 1.0: JSON Schema's integer); None for anything else, booleans too."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None
