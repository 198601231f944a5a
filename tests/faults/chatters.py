"""Visitors chatting with a served Answerdesk while something breaks, keeping a ledger of what
each message got: a 2xx, or an error and then retries with the same client_id, as the widget does."""

from __future__ import annotations

import http.client
import itertools
import threading
import time
from dataclasses import dataclass, field

from bot.store.model import Store
from tests.served import Client

QUESTIONS = ("how much is delivery", "I forgot my password", "refund policy", "when are you open", "how do I delete my account")


@dataclass
class Sent:
    text: str
    client_id: str
    first: str = ""  # "ok" or what went wrong on the first attempt
    ok: bool = False  # some attempt got a 2xx
    attempts: int = 0
    answered: bool = False  # the 2xx carried the bot's reply


@dataclass
class Chatters:
    """`count` visitors, each in its own conversation, sending until `stop()`."""

    port: int
    count: int = 4
    pause: float = 0.0
    retry_for: float = 60.0  # how long a visitor keeps retrying one message
    sent: list[Sent] = field(default_factory=list)
    conversations: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for number in range(self.count):
            thread = threading.Thread(target=self._visit, args=(number,), name=f"chatter-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 90.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        assert not any(t.is_alive() for t in self._threads), "a visitor is still waiting for an answer"

    def acknowledged(self) -> int:
        with self._lock:
            return sum(s.ok for s in self.sent)

    def _attempt(self, client: Client, path: str, body: dict[str, object]) -> tuple[int | None, dict[str, object], str]:
        try:
            status, reply = client.request("POST", path, body)
        except (OSError, http.client.HTTPException) as e:
            return None, {}, f"{type(e).__name__}"
        return status, reply, "ok" if 200 <= status < 300 else f"HTTP {status}"

    def _open(self, client: Client) -> str:
        deadline = time.monotonic() + self.retry_for
        while True:
            status, reply, _ = self._attempt(client, "/api/conversations", {"lang": "en"})
            if status is not None and 200 <= status < 300:
                return str(reply["id"])
            if time.monotonic() > deadline:
                raise AssertionError(f"could not open a conversation for {self.retry_for:g} s")
            time.sleep(0.2)

    def _visit(self, number: int) -> None:
        client = Client(self.port, timeout=30.0)
        conversation = self._open(client)
        with self._lock:
            self.conversations.append(conversation)
        for n in itertools.count():
            if self._stop.is_set():
                return
            item = Sent(f"{QUESTIONS[n % len(QUESTIONS)]} (visitor {number}, message {n})", f"v{number}-m{n}")
            with self._lock:
                self.sent.append(item)
            deadline = time.monotonic() + self.retry_for
            while not item.ok and time.monotonic() < deadline:
                item.attempts += 1
                status, reply, what = self._attempt(
                    client, f"/api/conversations/{conversation}/messages", {"text": item.text, "client_id": item.client_id}
                )
                item.first = item.first or what
                if what == "ok":
                    item.ok, item.answered = True, bool(reply.get("replies"))
                else:
                    assert status is None or status >= 500, f"{item.text!r}: HTTP {status} {reply} is not an error to retry"
                    time.sleep(0.2)
            if not item.ok:
                return  # given up: the test's ledger shows it
            if self.pause:
                time.sleep(self.pause)


def check_ledger(chatters: Chatters, store: Store) -> dict[str, int]:
    """Nothing lost, nothing doubled: every message that got a 2xx is stored once and answered once;
    every message is either acknowledged in the end or its client saw an error to retry."""
    stored: dict[str, list[int]] = {}
    bot_after: dict[int, int] = {}
    for conversation in chatters.conversations:
        messages = store.list_messages(conversation)
        for i, message in enumerate(messages):
            if message.author == "customer":
                stored.setdefault(message.text, []).append(message.id)
                # the bot messages between this customer message and the next one
                later = list(itertools.takewhile(lambda m: m.author != "customer", messages[i + 1:]))
                bot_after[message.id] = sum(m.author == "bot" for m in later)
    not_acknowledged = [s.text for s in chatters.sent if not s.ok]
    assert not not_acknowledged, f"retried for {chatters.retry_for:g} s and never got a 2xx: {not_acknowledged[:3]}"
    for item in chatters.sent:
        ids = stored.get(item.text, [])
        assert len(ids) == 1, f"{item.text!r} is stored {len(ids)} times (first attempt: {item.first}, attempts {item.attempts})"
        assert item.answered, f"{item.text!r} got a 2xx without the bot's reply"
        assert bot_after[ids[0]] >= 1, f"{item.text!r} has no bot reply in the store"
    assert set(stored) == {s.text for s in chatters.sent}, "the store has customer messages nobody sent"
    return {
        "messages": len(chatters.sent),
        "failed_first": sum(s.first != "ok" for s in chatters.sent),
        "retried": sum(s.attempts > 1 for s in chatters.sent),
    }
