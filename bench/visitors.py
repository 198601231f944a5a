"""Visitors of bench/web_load.py (and bench/workers_load.py): the script they follow, HTTP visitors
on threads, and the same visits in process (the engine alone, Desk.receive), timed in lockstep."""

from __future__ import annotations

import http.client
import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from common import percentile_or_none, progress  # noqa: E402
from memory_store import MemoryStore  # noqa: E402

HOST = "127.0.0.1"

# Visits: one visitor's language and questions, in order. KB questions lightly rephrased, and
# a few the KB does not cover; those (and asking for a person) hand off, so they come last.
VISITS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("en", ("hi", "what time are you open?", "do you work on weekends?", "how long until someone replies to me?")),
    ("es", ("¿en qué idiomas me pueden atender?", "¿guardan el historial de mis chats?", "¿cuánto tardan en contestar?")),
    ("tr", ("çalışma saatleriniz ne?", "hangi dillerde destek veriyorsunuz?", "sohbet geçmişimi saklıyor musunuz acaba?", "kargom nerede kaldı?")),
    ("ar", ("ما هي ساعات عملكم؟", "هل تحتفظون بسجل المحادثات الخاص بي؟", "كم من الوقت يستغرق الرد عادة؟")),
    ("en", ("what's the difference between customer support and customer service?", "what does proactive support mean?", "is live chat better than a ticketing system?")),
    ("es", ("¿cuál es el horario de soporte?", "¿por qué el bot pregunta si me sirvió la respuesta?", "quiero hablar con un humano")),
    ("tr", ("müşteri desteği ile müşteri hizmetleri arasındaki fark ne?", "reaktif destek ne demek?", "bir şirket 7/24 destek vermeli mi?")),
    ("ar", ("ما الفرق بين دعم العملاء وخدمة العملاء؟", "ما هو الدعم الاستباقي؟", "ما هي أفضل ممارسات الخدمة الذاتية؟")),
    ("en", ("do you keep my chat history?", "which languages can I write in?", "can you recommend a good pizza place nearby?")),
    ("en", ("what happens if the bot doesn't understand me?", "how do you measure support success?", "what tone should we use with customers?")),
    ("tr", ("yanıt almak ne kadar sürüyor?", "müşterilere hızlı yanıt vermek neden önemli?", "hangi destek stilini seçmeliyim?")),
    ("ar", ("ما هي اللغات التي تدعمونها؟", "لماذا خدمة العملاء مهمة؟", "ما هو سعر تذكرة الطيران إلى دبي؟")),
    ("es", ("¿abren los sábados?", "¿cuánto tardan en responder a un mensaje?", "¿me recomiendas una receta de paella?")),
    ("en", ("why is customer service important?", "what is a self-service portal?", "I want to speak to a real person")),
)


# -- visitors ----------------------------------------------------------------------------------
@dataclass
class Tally:
    """What all visitor threads of one run saw; `claim` hands out the message budget."""

    budget: int
    label: str
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    conversations: int = 0
    handoffs: int = 0
    claimed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    visits: Iterator[tuple[str, tuple[str, ...]]] = field(default_factory=lambda: itertools.cycle(VISITS))

    def claim(self) -> bool:
        with self.lock:
            if self.claimed >= self.budget:
                return False
            self.claimed += 1
            return True

    def next_visit(self) -> tuple[str, tuple[str, ...]]:
        with self.lock:
            self.conversations += 1
            return next(self.visits)

    def record(self, seconds: float | None, error: str | None = None) -> None:
        with self.lock:
            if error is not None:
                self.errors.append(error)
            elif seconds is not None:
                self.latencies.append(seconds)
                progress(self.label, len(self.latencies), self.budget)


class Visitor:
    """One browser: a cookie jar, and the keep-alive connection of its thread."""

    def __init__(self, conn: http.client.HTTPConnection) -> None:
        self.conn = conn
        self.cookies: SimpleCookie = SimpleCookie()

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={m.value}" for k, m in self.cookies.items())
        self.conn.request("POST", path, json.dumps(body).encode(), headers)
        response = self.conn.getresponse()
        raw = response.read()
        for value in response.headers.get_all("Set-Cookie") or ():
            self.cookies.load(value)
        return response.status, json.loads(raw) if raw else {}


def visitor_thread(port: int, tally: Tally) -> None:
    """Visitors one after another until the message budget is spent."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    while len(tally.errors) < tally.budget:  # a server that refuses every visitor ends the run too
        lang, questions = tally.next_visit()
        visitor = Visitor(conn)
        try:
            status, opened = visitor.post("/api/conversations", {"lang": lang})
        except (OSError, http.client.HTTPException, ValueError) as e:
            tally.record(None, f"open: {type(e).__name__}: {e}")
            conn.close()
            continue
        if not 200 <= status < 300:
            tally.record(None, f"open: HTTP {status} {opened.get('error', '')}")
            continue
        for text in questions:
            if not tally.claim():
                conn.close()
                return
            start = time.perf_counter()
            try:
                status, turn = visitor.post(f"/api/conversations/{opened['id']}/messages", {"text": text})
            except (OSError, http.client.HTTPException, ValueError) as e:
                tally.record(None, f"message: {type(e).__name__}: {e}")
                conn.close()  # http.client reconnects on the next request
                break
            elapsed = time.perf_counter() - start
            if not 200 <= status < 300:
                tally.record(None, f"message: HTTP {status} {turn.get('error', '')}")
                break
            if not turn.get("replies"):
                tally.record(None, f"message: no reply to {text!r} (state {turn.get('state')})")
                break
            tally.record(elapsed)
            if turn.get("state") != "bot":  # handed to a person: the bot is silent from now on, so leave
                with tally.lock:
                    tally.handoffs += 1
                break


def run_visitors(port: int, concurrency: int, messages: int, label: str) -> tuple[Tally, float]:
    tally = Tally(messages, label)
    threads = [threading.Thread(target=visitor_thread, args=(port, tally), name=f"visitor-{i}") for i in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return tally, time.perf_counter() - start


@dataclass
class Run:
    """One timed block: a configuration at one concurrency in one round."""

    tally: Tally
    seconds: float

    @property
    def p50(self) -> float | None:
        return percentile_or_none(self.tally.latencies, 50)

    @property
    def rps(self) -> float | None:
        return len(self.tally.latencies) / self.seconds if self.tally.latencies else None


# -- in process: the same visits without HTTP ---------------------------------------------------
OpenVisit = Callable[[str], Callable[[str], bool]]  # open_visit(lang) -> say(text), true while the bot keeps it


def run_script(messages: int, label: str, paths: Mapping[str, OpenVisit]) -> dict[str, Run]:
    """One visitor at a time, the same script down every path in lockstep, message by message (who
    goes first rotates), so load on this machine falls on all alike. A visit ends for all paths
    when one is handed off or fails. A path's seconds are the sum of its own timings."""
    tallies = {name: Tally(messages, f"{label} {name}") for name in paths}
    spent = dict.fromkeys(paths, 0.0)
    names, turn = list(paths), itertools.count()
    while all(len(t.errors) < messages for t in tallies.values()):
        lang, questions = [t.next_visit() for t in tallies.values()][0]  # each tally counts its conversations
        says = {}
        for name in names:
            try:
                says[name] = paths[name](lang)
            except Exception as e:  # noqa: BLE001 - counted and shown under the table
                tallies[name].record(None, f"open: {type(e).__name__}: {e}")
        if len(says) < len(names):
            continue
        for text in questions:
            if not all(t.claim() for t in tallies.values()):
                return {name: Run(t, spent[name]) for name, t in tallies.items()}
            k = next(turn) % len(names)
            stay = True
            for name in names[k:] + names[:k]:
                began = time.perf_counter()
                try:
                    stays = says[name](text)
                except Exception as e:  # noqa: BLE001 - counted and shown under the table
                    tallies[name].record(None, f"message: {type(e).__name__}: {e}")
                    stay = False
                    continue
                took = time.perf_counter() - began
                spent[name] += took
                if name == names[0]:
                    tallies[name].record(took)  # and the progress line, for the first path only
                else:
                    tallies[name].latencies.append(took)
                if not stays:
                    tallies[name].handoffs += 1
                    stay = False
            if not stay:
                break
    return {name: Run(t, spent[name]) for name, t in tallies.items()}


def web_visits(port: int) -> OpenVisit:
    """The web round trip for one visitor at a time: POST, read the reply, over one keep-alive connection."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)

    def post(visitor: Visitor, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            status, answer = visitor.post(path, body)
        except (OSError, http.client.HTTPException, ValueError):
            conn.close()  # http.client reconnects on the next request
            raise
        if not 200 <= status < 300:
            raise RuntimeError(f"HTTP {status} {answer.get('error', '')}")
        return answer

    def open_visit(lang: str) -> Callable[[str], bool]:
        visitor = Visitor(conn)
        conversation = post(visitor, "/api/conversations", {"lang": lang})

        def say(text: str) -> bool:
            turn = post(visitor, f"/api/conversations/{conversation['id']}/messages", {"text": text})
            if not turn.get("replies"):
                raise RuntimeError(f"no reply to {text!r} (state {turn.get('state')})")
            return turn.get("state") == "bot"

        return say

    return open_visit


def engine_visits(engine: Any) -> Callable[[str], Callable[[str], bool]]:
    """The engine floor: Engine.respond alone, no store, no HTTP, called as Desk.receive calls it:
    with the conversation's language as the hint, the languages of the bot's last replies and the
    customer's last question (a follow-up is read with it: a second search, which is the engine's
    work for that message, not the desk's)."""
    from bot.answer.decision import HANDOFF
    from bot.answer.engine import Inbound

    def open_visit(lang: str) -> Callable[[str], bool]:
        replied: list[str] = []
        asked: list[str] = []

        def say(text: str) -> bool:
            outcome = engine.respond(Inbound(text, lang_hint=replied[-1] if replied else lang, history_langs=tuple(replied[-5:]), history_texts=tuple(asked[-1:])))
            replied.append(outcome.lang.lang)
            asked.append(text)
            return outcome.decision.action != HANDOFF

        return say

    return open_visit


def desk_visits(desk: Any) -> Callable[[str], Callable[[str], bool]]:
    """Desk.open and Desk.receive on the store under test, as the web API calls them, without HTTP."""

    def open_visit(lang: str) -> Callable[[str], bool]:
        conversation = desk.open("web", uuid.uuid4().hex, lang)
        return lambda text: desk.receive(conversation.id, text).conversation.state == "bot"

    return open_visit


def in_process_desk(store: str, engine: Any, db: Path) -> Any:
    """A desk over `engine` with the store kind a server of `store` has."""
    from bot.desk.desk import Desk, build_desk, utc_now
    from bot.desk.hours import parse_hours

    settings = replace(engine.settings, db=":memory:" if store == "sqlite-memory" else str(db))
    if store != "fake":
        return build_desk(settings, engine=engine)
    return Desk(engine, MemoryStore(utc_now), parse_hours(settings.hours, settings.timezone, settings.holidays),  # type: ignore[arg-type]
                agent_wait=timedelta(seconds=settings.agent_wait_seconds))
