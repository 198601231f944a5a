"""Server-Sent Events: the server polls the store and pushes what changed; pages never poll.

A stream ends after `max_seconds` (then a session that ended, or a visitor over the limits, is
checked again); EventSource reconnects by itself and sends Last-Event-ID, so nothing is missed. A comment line every
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

# The environ key where a server that runs streams on its event loop (channels/web/front.py) puts
# a list: a view's stream is appended to it instead of being iterated on a request thread.
HANDOVER = "answerdesk.live"


@dataclass
class LiveStream:
    """What a stream view decided: what to poll, how often, and which conversation's changes wake it
    (`watch`; None: poll every `timing.poll_seconds`, as the agents' queue does)."""

    poll: Poll
    timing: Timing
    watch: str | None
    path: str

    def first(self) -> str:
        return f"retry: {self.timing.retry_ms}\n\n"

    def pace(self, chunks: list[str], started: float, last_sent: float, now: float) -> tuple[list[str], float, bool]:
        """After one poll: what to send (a heartbeat when quiet too long), when something was
        last sent, and whether the stream is over (its time is up, or this process stops)."""
        if chunks:
            last_sent = now
        elif now - last_sent >= self.timing.heartbeat_seconds:
            chunks, last_sent = [": heartbeat\n\n"], now
        return chunks, last_sent, now - started >= self.timing.max_seconds or STOPPING.is_set()

    def safe_poll(self) -> list[str] | None:
        """The poll's events; None when it failed (e.g. a busy database): the stream ends and the
        browser's EventSource reconnects and resumes."""
        try:
            return self.poll()
        except Exception:
            log.exception("event stream %s failed; the client will reconnect", self.path)
            return None


def stream(poll: Poll, timing: Timing, watch: str | None = None, sleep: Callable[[float], None] = time.sleep) -> Response:
    """A text/event-stream response that calls `poll` until `timing.max_seconds`.

    Under `answerdesk serve` the event loop runs it without a thread (channels/web/live.py), woken
    when the `watch`ed conversation changes; under any other WSGI server (and Flask's test client)
    it is a generator that polls on its request thread.
    """
    live = LiveStream(poll, timing, watch, request.path)
    handover = request.environ.get(HANDOVER)
    if handover is not None:
        handover.append(live)
    disconnected = request.environ.get("waitress.client_disconnected")

    def generate() -> Iterator[str]:
        started = last_sent = time.monotonic()
        yield live.first()
        while True:
            chunks = live.safe_poll()
            if chunks is None:
                return
            chunks, last_sent, over = live.pace(chunks, started, last_sent, time.monotonic())
            yield from chunks
            if over or (disconnected is not None and disconnected()):
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
