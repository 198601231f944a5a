"""Slack users as the desk needs them: a name for agents and a locale as the language hint (users.info, cached)."""

from __future__ import annotations

import http.client
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str
    locale: str | None  # "tr-TR"; None when Slack did not say

    @property
    def languages(self) -> tuple[str, ...]:
        return (self.locale.split("-")[0].lower(),) if self.locale else ()


class People:
    """users.info with include_locale=true, remembered for `ttl` seconds (the last `size` users)."""

    def __init__(self, client: WebClient, ttl: float = 3600.0, size: int = 10000, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._cache: OrderedDict[str, tuple[float, Person]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, user_id: str) -> Person:
        """The user's name and locale; just the id when Slack cannot be asked (not remembered then)."""
        now = self.clock()
        with self._lock:
            cached = self._cache.get(user_id)
            if cached and now - cached[0] < self.ttl:
                self._cache.move_to_end(user_id)
                return cached[1]
        try:
            user = self.client.users_info(user=user_id, include_locale=True)["user"]
        except (SlackApiError, SlackClientError, OSError, http.client.HTTPException, ValueError, KeyError, TypeError) as e:
            log.warning("users.info for %s failed (%s); going on without their name and locale", user_id, e)
            return Person(user_id, user_id, None)
        profile = user.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user.get("name") or user_id
        person = Person(user_id, str(name), user.get("locale") or None)
        with self._lock:
            self._cache[user_id] = (now, person)
            self._cache.move_to_end(user_id)
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return person
