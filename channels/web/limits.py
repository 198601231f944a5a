"""Rate limits on the widget API and the console's sign-in: which keys, which limits.

The counters live in the store (bot/store/sql_limits.py), so a limit holds across workers and
hosts: one upsert per limited request counts every key it is limited by (the visitor and the
client address). Windows are fixed and aligned to the clock (a minute limit restarts on each
minute). The algorithms' vocabulary comes from `limits` (the library behind flask-limiter):
"20/minute" parsed into `RateLimitItem`s, their keys and periods; its own limiters would cost one
round trip per key, so the counting is ours.

Open event streams are counted per process instead: a stream is held by one process for up to
a minute, and a count in the store would be left too high by a worker that dies holding some;
across workers the per-visitor and per-address stream rates still bound them.

A refused request raises `TooManyRequests`: the API answers 429 with Retry-After and
{"error": ...} (app.py); the sign-in page flashes it.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from flask import Response, current_app, jsonify, request
from limits import RateLimitItem

from bot.config import Settings, rate_limits
from bot.store.db import database_of
from bot.store.sql_limits import SQLLimits, Window
from channels.web.visitor import visitor_id

log = logging.getLogger(__name__)

EXTENSION = "answerdesk.limits"
FORGET_FAILURES_SECONDS = 3600  # sign-in failures in a row are forgotten an hour after the last
F = TypeVar("F", bound=Callable[..., Any])


class TooManyRequests(Exception):
    """A request over a limit: answered 429, to be tried again after `retry_after` seconds."""

    def __init__(self, retry_after: int, message: str) -> None:
        self.retry_after = max(1, retry_after)
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class Policy:
    """The limits of one kind of request, per visitor (or account) and per client address."""

    name: str
    per_who: list[RateLimitItem]
    per_ip: list[RateLimitItem]


class OpenStreams:
    """Streams held open in this process, per key; a key at its cap takes no more."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, int] = {}

    def acquire(self, caps: Iterable[tuple[str, int]]) -> bool:
        wanted = [(key, cap) for key, cap in caps if cap > 0]
        with self._lock:
            if any(self._open.get(key, 0) >= cap for key, cap in wanted):
                return False
            for key, _ in wanted:
                self._open[key] = self._open.get(key, 0) + 1
            return True

    def release(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                left = self._open.get(key, 0) - 1
                if left > 0:
                    self._open[key] = left
                else:
                    self._open.pop(key, None)

    def count(self, key: str) -> int:
        with self._lock:
            return self._open.get(key, 0)


class Limiter:
    """Every limit of one app, counted in its store's database."""

    def __init__(self, settings: Settings, counters: SQLLimits | None, clock: Callable[[], datetime]) -> None:
        self.counters = counters
        self.clock = clock
        s = settings
        self.messages = Policy("messages", _rates(s.limit_messages_per_visitor), _rates(s.limit_messages_per_ip))
        self.conversations = Policy("conversations", _rates(s.limit_conversations_per_visitor), _rates(s.limit_conversations_per_ip))
        self.streams = Policy("streams", _rates(s.limit_streams_per_visitor), _rates(s.limit_streams_per_ip))
        self.sign_in = Policy("sign-in", _rates(s.limit_sign_in_per_account), _rates(s.limit_sign_in_per_ip))
        self.stream_caps = (s.open_streams_per_visitor, s.open_streams_per_ip)
        self.backoff_after = (s.sign_in_backoff_after, s.sign_in_backoff_after_per_ip)
        self.backoff_max = s.sign_in_backoff_max_seconds
        self.open_streams = OpenStreams()

    @classmethod
    def for_store(cls, settings: Settings, store: object, clock: Callable[[], datetime]) -> "Limiter":
        """The limiter over `store`'s database; a store without one (a test fake) is not limited."""
        if getattr(store, "database", None) is None:
            log.warning("%s keeps no database: requests are not rate limited", type(store).__name__)
            return cls(settings, None, clock)
        return cls(settings, SQLLimits(database_of(store, "rate limits")), clock)

    def now(self) -> int:
        return int(self.clock().timestamp())

    def check(self, policy: Policy, who: str | None, ip: str | None, message: str) -> None:
        """Count one request of `who` from `ip`; TooManyRequests when it is over a limit."""
        limits = [(item, "who", who) for item in policy.per_who if who] + [(item, "ip", ip) for item in policy.per_ip if ip]
        if not limits or self.counters is None:
            return
        now = self.now()
        windows = []
        for item, kind, identity in limits:
            period = item.get_expiry()
            start = now - now % period
            windows.append((item, Window(item.key_for(policy.name, kind, str(identity)), start, start + period)))
        counts = self.counters.hit([window for _, window in windows], now)
        over = [window.expires_at - now for item, window in windows if counts.get(window.key, 0) > item.amount]
        if over:
            raise TooManyRequests(max(over), message)

    def check_sign_in(self, account: str, ip: str | None) -> None:
        """Before a password is checked: TooManyRequests during a backoff or over the sign-in rates."""
        if self.counters is not None:
            keys = self._failure_keys(account, ip)
            now = self.now()
            waits = []
            for key, (failures, forget_at) in self.counters.failures([k for k, _ in keys], now).items():
                after = dict(keys)[key]
                if after and failures >= after:
                    last_failure = forget_at - FORGET_FAILURES_SECONDS
                    waits.append(last_failure + self._backoff(failures - after + 1) - now)
            if any(wait > 0 for wait in waits):
                raise TooManyRequests(max(waits), "Too many wrong passwords; wait before trying again.")
        self.check(self.sign_in, account, ip, "Too many sign-in attempts; wait a minute and try again.")

    def sign_in_failed(self, account: str, ip: str | None) -> None:
        if self.counters is not None and (keys := [key for key, after in self._failure_keys(account, ip) if after]):
            now = self.now()
            self.counters.fail(keys, now, now + FORGET_FAILURES_SECONDS)

    def sign_in_succeeded(self, account: str, ip: str | None) -> None:
        """The account's failures are forgotten; the address's are not (one good account must not
        wipe a guesser's record), they are forgotten an hour after its last failure."""
        if self.counters is not None and self.backoff_after[0]:
            self.counters.forget([self._failure_keys(account, ip)[0][0]])

    def _failure_keys(self, account: str, ip: str | None) -> list[tuple[str, int]]:
        keys = [(f"sign-in-failures/account/{account}", self.backoff_after[0])]
        return keys + ([(f"sign-in-failures/ip/{ip}", self.backoff_after[1])] if ip else [])

    def _backoff(self, beyond: int) -> int:
        """Seconds to wait after the `beyond`-th failure past the threshold: 2, 4, 8…, capped."""
        return min(self.backoff_max, 2 ** min(beyond, 30))


def _rates(rate: str) -> list[RateLimitItem]:
    items = rate_limits(rate)
    assert items is not None, f"Settings checks every rate ({rate!r})"
    return items


# -- for the views ------------------------------------------------------------------------------
def limiter() -> Limiter:
    """The limiter of the app handling this request."""
    return current_app.extensions[EXTENSION]


def client_ip() -> str | None:
    """The client's address (ProxyFix in app.py has applied the trusted proxies' X-Forwarded-For)."""
    return request.remote_addr


def limited(kind: str) -> Callable[[F], F]:
    """A widget API view counted against the `kind` limits ("messages" or "conversations")."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            active = limiter()
            policy = active.messages if kind == "messages" else active.conversations
            message = "too many messages in a short time" if kind == "messages" else "too many new conversations in a short time"
            active.check(policy, visitor_id(), client_ip(), f"{message}; wait and try again (see Retry-After)")
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


def stream_limited(view: F) -> F:
    """An event-stream view: counted against the stream rates, and refused when the visitor or the
    address already holds its cap of open streams in this process; the slot is freed when the
    stream ends or the client goes away."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        active, visitor, ip = limiter(), visitor_id(), client_ip()
        active.check(active.streams, visitor, ip, "too many live-update streams opened in a short time; wait and try again")
        keys = [(f"visitor/{visitor}", active.stream_caps[0])] if visitor else []
        keys += [(f"ip/{ip}", active.stream_caps[1])] if ip else []
        keys = [(key, cap) for key, cap in keys if cap > 0]
        if not active.open_streams.acquire(keys):
            raise TooManyRequests(5, "too many live-update streams open at once; close one (another tab?) and try again")
        release = _once(lambda: active.open_streams.release([key for key, _ in keys]))
        try:
            response = view(*args, **kwargs)
        except BaseException:
            release()
            raise
        if isinstance(response, Response) and response.is_streamed:
            response.response = _releasing(response.response, release)
            response.call_on_close(release)
        else:
            release()
        return response

    return wrapped  # type: ignore[return-value]


def _releasing(body: Iterable[Any], release: Callable[[], None]) -> Iterator[Any]:
    """`body`, then `release`: when it ends, is closed (the client went away) or is collected."""
    try:
        yield from body
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
        release()


def _once(action: Callable[[], None]) -> Callable[[], None]:
    done = threading.Lock()

    def run() -> None:
        if done.acquire(blocking=False):
            action()

    return run


def too_many_requests(e: TooManyRequests) -> tuple[Response, int, dict[str, str]]:
    """429 with Retry-After and {"error": ...} (the widget shows its own words for it)."""
    log.info("429 on %s %s from %s: %s", request.method, request.path, client_ip(), e.message)
    return jsonify(error=e.message), 429, {"Retry-After": str(e.retry_after)}


def retry_after_text(seconds: int) -> str:
    """'a minute', '30 seconds'…, for the sign-in page."""
    if seconds >= 60:
        minutes = math.ceil(seconds / 60)
        return "a minute" if minutes == 1 else f"{minutes} minutes"
    return "a second" if seconds == 1 else f"{seconds} seconds"
