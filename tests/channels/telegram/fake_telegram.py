"""A Telegram Bot API of the tests' own on 127.0.0.1 (port 0): records every call, answers as Telegram
does, queues updates for getUpdates, and fails on demand (HTTP 429 with retry_after, or a 500).

Also Telegram's other half: updates (messages, commands, stickers, button presses) as Telegram
posts them to a webhook or returns them from getUpdates.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl

from tests.fake_api import Call, RecordingApi


TOKEN = "123456:TEST-token_abc"
SECRET = "test-webhook-secret_1"
BOT_ID = 123456
BOT_USERNAME = "AnswerdeskTestBot"
BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "Answerdesk", "username": BOT_USERNAME,
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
_JSON_FIELDS = {"chat_id", "message_id", "reply_markup", "link_preview_options", "reply_parameters", "allowed_updates",
                "commands", "offset", "limit", "timeout", "show_alert"}


@dataclass
class Failure:
    method: str
    times: int
    status: int
    retry_after: int | None


class FakeTelegram(RecordingApi):
    thread_name = "fake-telegram"
    http_protocol = "HTTP/1.1"
    default_method = "sendMessage"
    target_arg = "chat_id"

    def __init__(self, token: str = TOKEN) -> None:
        super().__init__()
        self.token = token
        self.failures: list[Failure] = []
        self.updates: list[dict[str, Any]] = []  # for getUpdates
        self._message_ids = itertools.count(1000)
        self.max_poll_wait = 0.5  # getUpdates holds a request at most this long, whatever its timeout

    # -- setup ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The Bot API base URL, as TELEGRAM_API_URL takes it (the token is appended)."""
        return f"http://127.0.0.1:{self.port}/bot"

    def stop(self) -> None:
        with self._changed:
            self.max_poll_wait = 0.0  # a long poll under way returns now
            self._changed.notify_all()
        super().stop()

    def fail(self, method: str, times: int = 1, status: int = 429, retry_after: int | None = 1) -> None:
        """The next `times` calls of `method` fail like this."""
        with self._changed:
            self.failures.append(Failure(method, times, status, retry_after if status == 429 else None))

    def queue_update(self, update: dict[str, Any]) -> None:
        """An update for the next getUpdates."""
        with self._changed:
            self.updates.append(update)
            self._changed.notify_all()

    # -- what happened -------------------------------------------------------------------
    def texts(self, chat_id: int) -> list[str]:
        return [c.args["text"] for c in self.sent(chat_id=chat_id)]

    # -- the API -------------------------------------------------------------------------
    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        path, _, query = request.path.partition("?")
        prefix, _, method = path.rpartition("/")
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length).decode("utf-8") if length else ""
        args: dict[str, Any] = dict(parse_qsl(query))
        if raw:
            if (request.headers.get("Content-Type") or "").startswith("application/json"):
                args.update(json.loads(raw))
            else:
                args.update(dict(parse_qsl(raw)))
        for name in _JSON_FIELDS & set(args):
            if isinstance(args[name], str):
                try:
                    args[name] = json.loads(args[name])
                except ValueError:
                    pass
        if prefix != f"/bot{self.token}":
            status, body = 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        else:
            status, body = self._answer(method, args)
        data = json.dumps(body).encode("utf-8")
        try:
            request.send_response(status)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(data)))
            request.end_headers()
            request.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # A long poll whose client has gone (the channel stopped). Printing the traceback from this
            # thread races CPython 3.11's ast module (traceback carets) with other threads: stay quiet.
            return
        with self._changed:
            self.calls.append(Call(method, args, status, bool(body.get("ok")), time.monotonic(), body))
            self._changed.notify_all()

    def _answer(self, method: str, args: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._changed:
            failure = next((f for f in self.failures if f.method == method and f.times > 0), None)
            if failure is not None:
                failure.times -= 1
                if failure.status == 429:
                    return 429, {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {failure.retry_after}",
                                 "parameters": {"retry_after": failure.retry_after}}
                return failure.status, {"ok": False, "error_code": failure.status, "description": "Internal Server Error"}
        if method == "getMe":
            return 200, {"ok": True, "result": BOT_USER}
        if method == "sendMessage":
            chat_id = args.get("chat_id")
            if not isinstance(chat_id, int) or not args.get("text"):
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found or message text is empty"}
            return 200, {"ok": True, "result": self._message(chat_id, args)}
        if method == "editMessageReplyMarkup":
            return 200, {"ok": True, "result": {"message_id": args.get("message_id"), "date": int(time.time()),
                                                "chat": {"id": args.get("chat_id"), "type": "private"}, "text": "edited", "from": BOT_USER}}
        if method in ("answerCallbackQuery", "setWebhook", "deleteWebhook", "setMyCommands"):
            return 200, {"ok": True, "result": True}
        if method == "getUpdates":
            return 200, {"ok": True, "result": self._updates(args)}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}

    def _message(self, chat_id: int, args: dict[str, Any]) -> dict[str, Any]:
        chat_type = "private" if chat_id > 0 else "supergroup"
        message = {"message_id": next(self._message_ids), "date": int(time.time()), "chat": {"id": chat_id, "type": chat_type},
                   "from": BOT_USER, "text": args["text"]}
        if args.get("reply_markup"):
            message["reply_markup"] = args["reply_markup"]
        return message

    def _updates(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(args.get("offset") or 0)
        wait = min(float(args.get("timeout") or 0), self.max_poll_wait)
        started = time.monotonic()
        deadline = started + wait
        with self._changed:
            while True:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
                if self.updates or time.monotonic() >= min(deadline, started + self.max_poll_wait):
                    return list(self.updates[: int(args.get("limit") or 100)])
                self._changed.wait(max(0.0, min(deadline, started + self.max_poll_wait) - time.monotonic()))


# -- Telegram's side: updates --------------------------------------------------------------------
_update_ids = itertools.count(500000)
_user_message_ids = itertools.count(1)


def user(user_id: int, lang: str | None = "en", name: str = "Customer") -> dict[str, Any]:
    out: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": name}
    if lang:
        out["language_code"] = lang
    return out


def message_update(chat_id: int, user_id: int, text: str | None = None, *, lang: str | None = "en", chat_type: str = "private",
                   update_id: int | None = None, message_id: int | None = None, reply_to: dict[str, Any] | None = None,
                   **content: Any) -> dict[str, Any]:
    """A `message` update as Telegram sends it; commands get their bot_command entity."""
    message: dict[str, Any] = {"message_id": message_id or next(_user_message_ids), "date": int(time.time()),
                               "chat": {"id": chat_id, "type": chat_type, **({"title": "Group"} if chat_type != "private" else {"first_name": "Customer"})},
                               "from": user(user_id, lang)}
    if text is not None:
        message["text"] = text
        entities = []
        if text.startswith("/"):
            entities.append({"type": "bot_command", "offset": 0, "length": len(text.split()[0])})
        at = text.find(f"@{BOT_USERNAME}")
        if at >= 0 and not text.startswith("/"):
            entities.append({"type": "mention", "offset": len(text[:at].encode("utf-16-le")) // 2, "length": len(BOT_USERNAME) + 1})
        if entities:
            message["entities"] = entities
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    message.update(content)
    return {"update_id": update_id or next(_update_ids), "message": message}


def sticker_update(chat_id: int, user_id: int, lang: str | None = "en", **kw: Any) -> dict[str, Any]:
    sticker = {"file_id": "CAACAgIAAxk", "file_unique_id": "AgADAQAD", "type": "regular", "width": 512, "height": 512,
               "is_animated": False, "is_video": False, "emoji": "👍"}
    return message_update(chat_id, user_id, None, lang=lang, sticker=sticker, **kw)


def press_update(user_id: int, sent: Call, data: str, lang: str | None = "en", update_id: int | None = None) -> dict[str, Any]:
    """A callback_query update for a tap on the button with `data` under the message recorded in `sent`."""
    return {
        "update_id": update_id or next(_update_ids),
        "callback_query": {"id": f"cq{next(_update_ids)}", "from": user(user_id, lang), "chat_instance": "42",
                           "message": sent.response["result"], "data": data},
    }


def buttons(call: Call) -> list[dict[str, str]]:
    """The inline buttons of a sent message."""
    markup = call.args.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]
