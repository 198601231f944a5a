"""A Slack Web API of the tests' own on 127.0.0.1 (port 0): records every call, answers as Slack
does, and fails on demand (HTTP 429 `ratelimited` with Retry-After, or any error).

Also the other half of Slack: events and button clicks signed as Slack signs them (v0 HMAC-SHA256
of `v0:{timestamp}:{body}`), for the Flask test client.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tests.fake_api import Call, RecordingApi


TOKEN = "xoxb-test-token"
SECRET = "test-signing-secret"
TEAM = "T0TEAM"
BOT_USER = "U0BOT"
BOT_ID = "B0BOT"


@dataclass
class Failure:
    method: str
    times: int
    status: int
    error: str
    retry_after: int | None


class FakeSlack(RecordingApi):
    thread_name = "fake-slack"
    default_method = "chat.postMessage"
    target_arg = "channel"

    def __init__(self, token: str = TOKEN) -> None:
        super().__init__()
        self.token = token
        self.users: dict[str, dict[str, Any]] = {}
        self.failures: list[Failure] = []
        self._ts = itertools.count(1)

    # -- setup ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def add_user(self, user_id: str, name: str, locale: str | None = None) -> None:
        self.users[user_id] = {"id": user_id, "name": name.lower(), "real_name": name, "profile": {"display_name": name, "real_name": name}, "locale": locale}

    def fail(self, method: str, times: int = 1, status: int = 429, error: str = "ratelimited", retry_after: int | None = 1) -> None:
        """The next `times` calls of `method` fail like this."""
        with self._changed:
            self.failures.append(Failure(method, times, status, error, retry_after if status == 429 else None))

    # -- what happened -------------------------------------------------------------------
    # -- the API -------------------------------------------------------------------------
    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        path, _, query = request.path.partition("?")
        method = path.rsplit("/", 1)[-1]
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length).decode("utf-8") if length else ""
        args: dict[str, Any] = dict(parse_qsl(query))
        if raw:
            if (request.headers.get("Content-Type") or "").startswith("application/json"):
                args.update(json.loads(raw))
            else:
                args.update(dict(parse_qsl(raw)))
        status, body, headers = self._answer(method, args, request.headers.get("Authorization"))
        data = json.dumps(body).encode("utf-8")
        request.send_response(status)
        request.send_header("Content-Type", "application/json; charset=utf-8")
        request.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(data)
        with self._changed:
            self.calls.append(Call(method, args, status, bool(body.get("ok")), time.monotonic(), body))
            self._changed.notify_all()

    def _answer(self, method: str, args: dict[str, Any], auth: str | None) -> tuple[int, dict[str, Any], dict[str, str]]:
        if auth != f"Bearer {self.token}" and method != "apps.connections.open":
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        with self._changed:
            failure = next((f for f in self.failures if f.method == method and f.times > 0), None)
            if failure is not None:
                failure.times -= 1
                headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
                return failure.status, {"ok": False, "error": failure.error}, headers
        if method == "auth.test":
            return 200, {"ok": True, "url": "https://test.slack.com/", "team": "Test", "user": "answerdesk",
                         "team_id": TEAM, "user_id": BOT_USER, "bot_id": BOT_ID}, {}
        if method == "users.info":
            user = self.users.get(args.get("user", ""))
            if user is None:
                return 200, {"ok": False, "error": "user_not_found"}, {}
            shown = dict(user)
            if str(args.get("include_locale")).lower() not in ("1", "true"):
                shown.pop("locale", None)
            return 200, {"ok": True, "user": shown}, {}
        if method in ("chat.postMessage", "chat.postEphemeral"):
            if not args.get("channel"):
                return 200, {"ok": False, "error": "channel_not_found"}, {}
            n = next(self._ts)
            ts = f"{1700000000 + n}.{n:06d}"
            if method == "chat.postEphemeral":
                return 200, {"ok": True, "message_ts": ts}, {}
            return 200, {"ok": True, "channel": args["channel"], "ts": ts, "message": {"text": args.get("text"), "ts": ts}}, {}
        if method == "chat.update":
            return 200, {"ok": True, "channel": args.get("channel"), "ts": args.get("ts"), "text": args.get("text")}, {}
        if method == "apps.connections.open":
            return 200, {"ok": True, "url": "ws://127.0.0.1:9/"}, {}
        return 200, {"ok": False, "error": "unknown_method"}, {}


# -- Slack's side of the HTTP requests ---------------------------------------------------------
def signature_headers(body: str, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends: X-Slack-Request-Timestamp and the v0 signature of the body."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def event_body(event: dict[str, Any], event_id: str, team: str = TEAM) -> str:
    """An Events API callback around `event`."""
    envelope = {
        "token": "legacy", "team_id": team, "api_app_id": "A0APP", "type": "event_callback",
        "event_id": event_id, "event_time": int(time.time()), "event": event,
        "authorizations": [{"team_id": team, "user_id": BOT_USER, "is_bot": True}],
    }
    return json.dumps(envelope)


def action_body(user: str, channel: str, message: dict[str, Any], button: dict[str, Any], team: str = TEAM) -> str:
    """A block_actions interaction for a click on `button` in `message`, form-encoded as Slack sends it."""
    payload = {
        "type": "block_actions", "team": {"id": team}, "user": {"id": user, "team_id": team}, "api_app_id": "A0APP",
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel, "is_ephemeral": False},
        "channel": {"id": channel}, "message": message, "trigger_id": "1.2.3",
        "actions": [{**button, "block_id": "answerdesk.actions", "type": "button", "action_ts": f"{time.time():.6f}"}],
    }
    return urlencode({"payload": json.dumps(payload)})
