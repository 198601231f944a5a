"""Live-update streams on the event loop: an open chat costs a small task, not a thread.

A stream view (channels/web/events.py `stream`) decides what to send; the server's front
(channels/web/front.py) hands the stream here instead of iterating it on a request thread. The
`Hub`, one per process, asks the store every `poll_seconds` when each watched conversation last
changed (one query for all of them) and wakes only the streams whose conversation did; a woken
stream runs its poll on a small thread pool and sends what it returns. Streams that watch no one
conversation (the agents' queue, a handful per agent) poll every `poll_seconds` as before, but wait
between polls without a thread. A stream ends at its `max_seconds`, when the client goes away, or
when the process stops (`STOPPING`); the browser's EventSource reconnects and resumes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from concurrent.futures import Executor
from typing import Any, Awaitable

from channels.web.events import STOPPING, LiveStream

log = logging.getLogger(__name__)

ChangedAt = Callable[[Collection[str]], dict[str, Any]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


class Hub:
    """Wakes the streams whose conversation changed; one per process, on its event loop."""

    def __init__(self, changed_at: ChangedAt, executor: Executor, poll_seconds: float) -> None:
        self.changed_at = changed_at
        self.executor = executor
        self.poll_seconds = poll_seconds
        self.watching: dict[str | None, set[asyncio.Event]] = {}
        self.stamps: dict[str, Any] = {}
        self.failing = False
        self._task: asyncio.Task[None] | None = None

    @property
    def streams(self) -> int:
        return sum(len(events) for events in self.watching.values())

    def watch(self, conversation_id: str | None) -> asyncio.Event:
        """An event set when `conversation_id` changes (and when the process stops)."""
        woken = asyncio.Event()
        self.watching.setdefault(conversation_id, set()).add(woken)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="answerdesk-live-hub")
        return woken

    def forget(self, conversation_id: str | None, woken: asyncio.Event) -> None:
        events = self.watching.get(conversation_id)
        if events is not None:
            events.discard(woken)
            if not events:
                del self.watching[conversation_id]
                if conversation_id is not None:
                    self.stamps.pop(conversation_id, None)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self.watching:
            await asyncio.sleep(self.poll_seconds)
            if STOPPING.is_set():
                for events in self.watching.values():
                    for woken in events:
                        woken.set()
                continue
            ids = [key for key in self.watching if key is not None]
            if not ids:
                continue
            try:
                stamps = await loop.run_in_executor(self.executor, self.changed_at, ids)
            except Exception as e:  # a busy or lost database: the streams wait; their heartbeats go on
                if not self.failing:
                    log.warning("live streams cannot see changes (%s); retrying every %.1f s", e, self.poll_seconds)
                self.failing = True
                continue
            if self.failing:
                log.info("live streams see changes again")
                self.failing = False
            for key in ids:
                stamp = stamps.get(key)
                if stamp != self.stamps.get(key) and key in self.watching:
                    self.stamps[key] = stamp
                    for woken in self.watching[key]:
                        woken.set()


async def run_live(live: LiveStream, hub: Hub, executor: Executor, send: Send, receive: Receive) -> None:
    """Send `live`'s events until it is over or the client is gone; the response has started."""
    loop = asyncio.get_running_loop()
    woken = hub.watch(live.watch)
    gone = asyncio.Event()

    async def watch_client() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        gone.set()
        woken.set()

    client = loop.create_task(watch_client())
    try:
        await send({"type": "http.response.body", "body": live.first().encode(), "more_body": True})
        started = last_sent = loop.time()
        quiet = False  # woken by the clock, not by a change: a watched stream only owes a heartbeat
        while not gone.is_set():
            woken.clear()
            chunks = [] if quiet and live.watch is not None else await loop.run_in_executor(executor, live.safe_poll)
            if chunks is None:
                return
            now = loop.time()
            chunks, last_sent, over = live.pace(chunks, started, last_sent, now)
            if chunks:
                await send({"type": "http.response.body", "body": "".join(chunks).encode(), "more_body": True})
            if over:
                return
            timing = live.timing
            wait = timing.poll_seconds if live.watch is None else timing.heartbeat_seconds - (now - last_sent)
            wait = max(0.0, min(wait, timing.max_seconds - (now - started)))
            try:
                await asyncio.wait_for(woken.wait(), timeout=wait)
                quiet = False
            except asyncio.TimeoutError:
                quiet = True
    finally:
        hub.forget(live.watch, woken)
        client.cancel()
        if not gone.is_set():
            try:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            except Exception:  # the client went away while we ended: nothing to tell it
                pass
