"""Load on the web channel: the real server (uvicorn), chat visitors over HTTP, with and without storage.

Each configuration starts its own server process running channels.serve.serve() (what
`answerdesk serve` runs: uvicorn, THREADS request threads, the expiry timer) on 127.0.0.1, port 0,
over the demo KB indexed into a temp folder. Visitors (one thread and one keep-alive
http.client connection each, a cookie jar per visitor) open a conversation, then post
questions in en/ar/tr/es from a fixed script; a visitor the bot hands to a person leaves and a
new one starts. Timed: POST /api/conversations/<id>/messages until its reply has been read.

Stores: `sqlite`, a file (WAL, synchronous=FULL, a connection per thread), as deployed;
`sqlite-memory`, SQLite ":memory:" (no file, no fsync, but still SQL, JSON and one shared
connection behind a lock); `fake`, a dict store defined here (no storage cost at all).
With `--compare REPO` (another checkout, e.g. `git worktree add /tmp/before <commit>`), the
SQLite configuration is served by this checkout and by REPO's code in turn, over the same
index, for `--rounds` rounds (A, B, A, B, ...), and the table gives each one's min and median
and this checkout's ratio to REPO's.
Usage: python bench/web_load.py [--messages 400] [--concurrency 1,8] [--stores sqlite,sqlite-memory,fake]
       python bench/web_load.py --compare /tmp/before [--rounds 3] [--messages 200]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, Callable, Collection, Iterator, Mapping, Sequence

from common import NO_LIMITS, REPO, demo_index, percentile_ms, progress, table  # noqa: E402

from bot.config import Settings
from bot.store.model import KEEP, AddedMessage, Choice, Conversation, Keep, Message

HOST = "127.0.0.1"
STORES = {
    "sqlite": "SQLite file (WAL, sync=FULL)",
    "sqlite-memory": "SQLite :memory:",
    "fake": "no store (dict fake)",
}
TARGET_P50_MS = 30.0
SERVER_START_SECONDS = 180.0

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


# -- the store-less configuration ------------------------------------------------------------
class MemoryStore:
    """The part of `bot.store.model.Store` the web chat path uses, in dicts behind one lock; nothing persists."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._conversations: dict[str, Conversation] = {}
        self._open: dict[tuple[str, str], str] = {}
        self._messages: dict[str, list[Message]] = {}
        self._ids = itertools.count(1)

    def find_or_create_conversation(self, channel: str, external_user: str, lang: str) -> Conversation:
        with self._lock:
            found = self._open.get((channel, external_user))
            if found and self._conversations[found].state != "closed":
                return self._conversations[found]
            now = self._clock()
            conversation = Conversation(uuid.uuid4().hex, channel, external_user, lang, "bot", None, None, now, now, None, None, {})
            self._conversations[conversation.id] = conversation
            self._open[(channel, external_user)] = conversation.id
            self._messages[conversation.id] = []
            return conversation

    def get_conversation(self, conversation_id: str) -> Conversation | None:
        return self._conversations.get(conversation_id)

    def changed_at(self, conversation_ids: Collection[str]) -> dict[str, Any]:
        with self._lock:
            return {c: (len(self._messages[c]), self._conversations[c].state, self._conversations[c].updated_at)
                    for c in conversation_ids if c in self._conversations}

    def update_conversation(
        self,
        conversation_id: str,
        *,
        lang: str | Keep = KEEP,
        topic: str | None | Keep = KEEP,
        email: str | None | Keep = KEEP,
        meta: Mapping[str, Any] | Keep = KEEP,
    ) -> Conversation:
        changes = {k: v for k, v in (("lang", lang), ("topic", topic), ("email", email), ("meta", meta)) if v is not KEEP}
        with self._lock:
            updated = replace(self._conversations[conversation_id], updated_at=self._clock(), **changes)
            self._conversations[conversation_id] = updated
            return updated

    def transition(self, conversation_id: str, from_states: Collection[str], to_state: str, agent: str | None = None) -> bool:
        with self._lock:
            current = self._conversations.get(conversation_id)
            if current is None or current.state not in from_states:
                return False
            waiting = self._clock() if to_state == "waiting" else None
            self._conversations[conversation_id] = replace(current, state=to_state, agent=agent, waiting_since=waiting)  # type: ignore[arg-type]
            return True

    def waiting_queue(self, languages: Collection[str], limit: int | None = None) -> list[Conversation]:
        waiting = sorted((c for c in list(self._conversations.values()) if c.state == "waiting"), key=lambda c: c.waiting_since or c.created_at)
        return waiting[:limit]

    def add_message(
        self,
        conversation_id: str,
        author: str,
        text: str,
        *,
        lang: str | None = None,
        action: str | None = None,
        article_id: str | None = None,
        decision: Mapping[str, Any] | None = None,
        choices: Sequence[Choice] = (),
        external_id: str | None = None,
        agent: str | None = None,
    ) -> AddedMessage:
        with self._lock:
            message = Message(
                next(self._ids), conversation_id, author, text, self._clock(), lang, action,  # type: ignore[arg-type]
                article_id, decision, tuple(choices), external_id, agent,
            )
            self._messages[conversation_id].append(message)
            return AddedMessage(message, duplicate=False)

    def list_messages(self, conversation_id: str, after_id: int | None = None) -> list[Message]:
        return [m for m in list(self._messages.get(conversation_id, ())) if after_id is None or m.id > after_id]

    def close(self) -> None:
        pass


# -- the server process ----------------------------------------------------------------------
def serve_child(store: str, kb: str, index: str, db: str) -> int:
    """Run channels.serve.serve() as `answerdesk serve` does, with the chosen store."""
    from channels import serve as server

    settings = Settings(kb_dir=kb, index_dir=index, db=":memory:" if store == "sqlite-memory" else db)
    if store == "fake":
        from bot.desk.desk import Desk, utc_now
        from bot.answer.engine import build_engine
        from bot.desk.hours import parse_hours

        def build_fake_desk(settings: Settings) -> Desk:
            return Desk(
                build_engine(settings), MemoryStore(utc_now),  # type: ignore[arg-type]
                parse_hours(settings.hours, settings.timezone, settings.holidays),
                agent_wait=timedelta(seconds=settings.agent_wait_seconds),
            )

        server.build_desk = build_fake_desk  # type: ignore[assignment]
    return server.serve(settings, host=HOST, port=0)


def child_command(*args: str, repo: Path = REPO) -> list[str]:
    return [sys.executable, str(repo / "bench" / "web_load.py"), "--child", *args]


@dataclass
class Server:
    process: subprocess.Popen[str]
    port: int
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # serve() stops on SIGTERM, finishing running requests
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(store: str, kb: Path, index: Path, db: Path, log: Path, repo: Path = REPO) -> Server:
    err = log.open("w", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(repo), **NO_LIMITS}  # the server runs `repo`'s code
    process = subprocess.Popen(
        child_command("serve", store, str(kb), str(index), str(db), repo=repo), stdout=subprocess.PIPE, stderr=err, text=True, cwd=repo, env=env
    )
    err.close()
    assert process.stdout is not None
    deadline = time.monotonic() + SERVER_START_SECONDS
    for line in process.stdout:  # the child prints "... serving on http://127.0.0.1:PORT/ ..."
        found = re.search(r"serving on http://[^:/]+:(\d+)/", line)
        if found:
            threading.Thread(target=lambda: process.stdout.read(), daemon=True).start()  # type: ignore[union-attr]
            return Server(process, int(found.group(1)), log)
        if time.monotonic() > deadline:
            break
    process.kill()
    raise SystemExit(f"the {store} server did not start; its log ({log}) ends with:\n{log.read_text(encoding='utf-8')[-2000:]}")


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


# -- the benchmark -----------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=400, help="timed messages per configuration and concurrency")
    parser.add_argument("--warmup", type=int, default=40, help="untimed messages at the highest concurrency first")
    parser.add_argument("--concurrency", default="1,8", help="comma-separated numbers of concurrent visitors")
    parser.add_argument("--stores", default=",".join(STORES), help=f"comma-separated, of: {', '.join(STORES)}")
    parser.add_argument("--compare", type=Path, help="another checkout to serve SQLite in turn with this one, interleaved")
    parser.add_argument("--rounds", type=int, default=3, help="with --compare: rounds of (this, other)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)  # internal: the server process
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        raise SystemExit(serve_child(*rest))
    levels = [int(c) for c in args.concurrency.split(",")]
    if args.compare:
        compare(args.compare.resolve(), levels, args.messages, args.warmup, args.rounds)
        return
    stores = [s.strip() for s in args.stores.split(",")]
    unknown = [s for s in stores if s not in STORES]
    if unknown:
        raise SystemExit(f"--stores: unknown {', '.join(unknown)}; use some of {', '.join(STORES)}")
    THREADS = Settings().web_threads

    rows: list[tuple[object, ...]] = []
    notes: list[str] = []
    target: str | None = None
    with tempfile.TemporaryDirectory(prefix="answerdesk-web-load-") as tmp_name:
        tmp = Path(tmp_name)
        kb, index = demo_index(tmp)
        for store in stores:
            print(f"starting the server with {STORES[store]}...", file=sys.stderr, flush=True)
            server = start_server(store, kb, index, tmp / f"{store}.db", tmp / f"{store}.log")
            try:
                warm, _ = run_visitors(server.port, max(levels), args.warmup, f"{store} warm-up")
                if warm.errors:
                    notes.append(f"{store} warm-up: {len(warm.errors)} errors, first: {warm.errors[0]}")
                for level in levels:
                    tally, seconds = run_visitors(server.port, level, args.messages, f"{store} x{level}")
                    p50 = percentile_ms(tally.latencies, 50) if tally.latencies else float("nan")
                    rows.append((
                        STORES[store], level, len(tally.latencies) + len(tally.errors), len(tally.errors),
                        len(tally.latencies) / seconds, p50,
                        percentile_ms(tally.latencies, 99) if tally.latencies else float("nan"),
                        tally.conversations, tally.handoffs,
                    ))
                    if tally.errors:
                        notes.append(f"{store} x{level}: {len(tally.errors)} errors, first: {tally.errors[0]}")
                    if store == "sqlite" and level == 8:
                        holds = p50 < TARGET_P50_MS and not tally.errors
                        target = (
                            f"target (SQLite, 8 visitors: p50 < {TARGET_P50_MS:g} ms, no error): "
                            f"{'holds' if holds else 'MISSED'} (p50 {p50:.1f} ms, {len(tally.errors)} errors)"
                        )
            finally:
                server.stop()
            failures = [line for line in server.log.read_text(encoding="utf-8").splitlines() if " ERROR " in line]
            if failures:
                notes.append(f"{store} server logged {len(failures)} errors, first: {failures[0][:200]}")
    table(
        f"Web channel load ({os.cpu_count()} cores; uvicorn, {THREADS} request threads, 1 encoder thread; "
        "a request = POST a message and read the bot's reply; errors = non-2xx or exception, opening conversations included)",
        ["configuration", "visitors", "requests", "errors", "rps", "p50 ms", "p99 ms", "conversations", "handed off"],
        rows,
    )
    for line in ([target] if target else []) + notes:
        print(line)


def compare(other: Path, levels: list[int], messages: int, warmup: int, rounds: int) -> None:
    """This checkout (A) and `other` (B) serve SQLite in turn, A, B, A, B..., over one index."""
    runs: dict[tuple[str, int], list[tuple[float, float]]] = {}  # (checkout, visitors) -> [(p50 ms, rps)]
    errors = 0
    with tempfile.TemporaryDirectory(prefix="answerdesk-web-ab-") as tmp_name:
        tmp = Path(tmp_name)
        kb, index = demo_index(tmp)
        for n in range(rounds):
            for name, repo in (("A", REPO), ("B", other)):
                server = start_server("sqlite", kb, index, tmp / f"{name}{n}.db", tmp / f"{name}{n}.log", repo=repo)
                try:
                    run_visitors(server.port, max(levels), warmup, f"{name} round {n + 1} warm-up")
                    for level in levels:
                        tally, seconds = run_visitors(server.port, level, messages, f"{name} round {n + 1} x{level}")
                        errors += len(tally.errors)
                        runs.setdefault((name, level), []).append((percentile_ms(tally.latencies, 50), len(tally.latencies) / seconds))
                finally:
                    server.stop()
    rows = []
    for level in levels:
        a, b = runs[("A", level)], runs[("B", level)]
        a50, b50 = sorted(x[0] for x in a), sorted(x[0] for x in b)
        arps, brps = sorted(x[1] for x in a), sorted(x[1] for x in b)
        rows.append((level, a50[0], statistics.median(a50), b50[0], statistics.median(b50), statistics.median(a50) / statistics.median(b50),
                     statistics.median(arps), statistics.median(brps), statistics.median(arps) / statistics.median(brps)))
    table(
        f"Web channel, SQLite: A = {REPO}, B = {other}; {rounds} interleaved rounds of {messages} messages per level ({errors} errors)",
        ["visitors", "A p50 min", "A p50 median", "B p50 min", "B p50 median", "A/B p50", "A rps", "B rps", "A/B rps"],
        rows,
    )


if __name__ == "__main__":
    main()
