"""Server-Sent Events: the server polls the store and pushes what changed; pages never poll.

A stream ends after `max_seconds` so worker threads are freed; EventSource reconnects by
itself and sends Last-Event-ID, so nothing is missed. A comment line every
`heartbeat_seconds` keeps proxies from closing an idle stream and tells the server (on its
next write) that the browser is gone.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from flask import Response, request

from bot.store.model import Conversation, Message, Store

log = logging.getLogger(__name__)

Poll = Callable[[], list[str]]
Render = Callable[[Message, Conversation], dict[str, Any]]


@dataclass(frozen=True)
class Timing:
    poll_seconds: float = 0.3
    heartbeat_seconds: float = 15.0
    max_seconds: float = 60.0
    retry_ms: int = 1000

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Timing":
        return cls(
            config.get("SSE_POLL_SECONDS", cls.poll_seconds),
            config.get("SSE_HEARTBEAT_SECONDS", cls.heartbeat_seconds),
            config.get("SSE_MAX_SECONDS", cls.max_seconds),
        )


def event(data: Any, name: str | None = None, event_id: int | None = None) -> str:
    """One SSE event; data is sent as one line of JSON."""
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    if name:
        lines.append(f"event: {name}")
    lines.append("data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


MAX_ID = 2**63 - 1  # ids are 64-bit in the store (SQLite INTEGER, PostgreSQL bigint)
_DIGITS = re.compile(r"[0-9]{1,19}")


class BadEventId(ValueError):
    """Last-Event-ID or ?after= that is no message id; `field` names which."""

    def __init__(self, field: str, raw: str) -> None:
        self.field = field
        super().__init__(f"{field} must be a message id: a whole number from 0 to {MAX_ID} (got {raw[:40]!r})")


def parse_id(raw: str, field: str) -> int:
    """A message id sent as text: ASCII digits, at most MAX_ID; BadEventId naming `field` otherwise."""
    if not _DIGITS.fullmatch(raw) or int(raw) > MAX_ID:
        raise BadEventId(field, raw)
    return int(raw)


def last_event_id() -> int | None:
    """Where a stream resumes: the Last-Event-ID header (a reconnect), else ?after=; None if neither.

    BadEventId (a ValueError) when the value is not a message id.
    """
    header, after = request.headers.get("Last-Event-ID"), request.args.get("after")
    # Both are checked, empty ones too (browsers send neither empty): a bad ?after= is a
    # mistake even when the header is the one used.
    resume = parse_id(after, "after") if after is not None else None
    return parse_id(header.strip(), "Last-Event-ID") if header is not None else resume


# Set when this process is stopping: open streams end at their next poll instead of holding the
# shutdown for up to a minute; the page's EventSource reconnects (to another worker) and resumes.
STOPPING = threading.Event()


def stream(poll: Poll, timing: Timing, sleep: Callable[[float], None] = time.sleep) -> Response:
    """A streaming text/event-stream response that calls `poll` until `timing.max_seconds`."""
    disconnected = request.environ.get("waitress.client_disconnected")
    request_path = request.path

    def generate() -> Iterator[str]:
        started = last_sent = time.monotonic()
        yield f"retry: {timing.retry_ms}\n\n"
        while True:
            try:
                chunks = poll()
            except Exception:  # e.g. a busy database: end this stream; EventSource reconnects and resumes
                log.exception("event stream %s failed; the client will reconnect", request_path)
                return
            for chunk in chunks:
                yield chunk
            now = time.monotonic()
            if chunks:
                last_sent = now
            elif now - last_sent >= timing.heartbeat_seconds:
                yield ": heartbeat\n\n"
                last_sent = now
            if now - started >= timing.max_seconds or STOPPING.is_set() or (disconnected is not None and disconnected()):
                return
            sleep(timing.poll_seconds)

    return Response(
        generate(),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def conversation_poll(store: Store, conversation_id: str, after: int, render: Render) -> Poll:
    """New messages of one conversation as events with their id, and a `state` event on each change."""
    seen: dict[str, Any] = {"after": after, "state": None}

    def poll() -> list[str]:
        conversation = store.get_conversation(conversation_id)
        if conversation is None:
            return []
        messages = store.list_messages(conversation_id, after_id=seen["after"])
        chunks = [event(render(message, conversation), event_id=message.id) for message in messages]
        if messages:
            seen["after"] = messages[-1].id
        if conversation.state != seen["state"]:
            seen["state"] = conversation.state
            chunks.append(event({"state": conversation.state}, name="state"))
        return chunks

    return poll
