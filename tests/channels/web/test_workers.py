"""`answerdesk serve --workers 2`: whichever worker serves a request, the visitor and the agent see
the same thing; one agent wins a take; a reindex reaches every worker without a failed request."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.desk.agents import create_agent
from bot.store.connect import open_store
from tests.conftest import small_index, write_article
from tests.faults.chatters import Chatters, check_ledger
from tests.served import HOST, Served

pytestmark = pytest.mark.slow  # over 10 s on 2 cores (tests/conftest.py SLOW_SECONDS)

PASSWORD = "correct horse battery"


@pytest.fixture
def served(tmp_path: Path, use_encoder: object, db_url: str) -> Iterator[Served]:
    settings = small_index(tmp_path, use_encoder)  # USE alone: workers start in seconds; what is tested is serving
    store = open_store(db_url)
    for email, name in (("ayse@example.com", "Ayşe"), ("omar@example.com", "Omar")):
        create_agent(store, email, name, PASSWORD, ["en"])
    store.close()
    env = {"ANSWERDESK_KB": settings.kb_dir, "ANSWERDESK_INDEX": settings.index_dir, "ANSWERDESK_DB": db_url, "ANSWERDESK_ENCODER": "use"}
    server = Served(env, tmp_path / "serve.log", workers=2)
    server.db_url = db_url  # type: ignore[attr-defined]
    yield server
    server.stop()


def fresh(server: Served) -> httpx.Client:
    """A browser that opens a new connection for every request, so requests spread over the workers."""
    return httpx.Client(base_url=f"http://{HOST}:{server.port}", timeout=20, limits=httpx.Limits(max_keepalive_connections=0))


def workers_seen(server: Served, seconds: float = 10.0) -> dict[int, str]:
    """worker pid -> the index snapshot it serves, from /healthz over fresh connections, asked
    until every worker has answered (the kernel, not we, picks the worker of a connection)."""
    seen: dict[int, str] = {}
    deadline = time.monotonic() + seconds
    with fresh(server) as client:
        while len(seen) < server.workers and time.monotonic() < deadline:
            body = client.get("/healthz").json()
            seen[body["worker"]] = body["index"]
    return seen


def sign_in(client: httpx.Client, email: str) -> str:
    """Sign in through the form; the CSRF token of the session."""
    page = client.get("/agent/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = client.post("/agent/login", data={"email": email, "password": PASSWORD, "csrf_token": token, "next": ""})
    assert response.status_code == 302, response.text
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/agent/").text).group(1)  # type: ignore[union-attr]


def test_any_worker_continues_a_conversation_and_an_agent_reply_reaches_a_stream_on_another(served: Served) -> None:
    assert set(workers_seen(served)) == set(served.worker_pids()) and len(served.worker_pids()) == 2
    visitor, agent = fresh(served), fresh(served)
    token = sign_in(agent, "ayse@example.com")  # signed in on one worker: available to the other as well
    conversation = visitor.post("/api/conversations", json={"lang": "en"}).json()["id"]
    for n, text in enumerate(["how much is delivery", "I forgot my password", "refund policy", "when are you open"] * 2):
        turn = visitor.post(f"/api/conversations/{conversation}/messages", json={"text": text, "client_id": f"m{n}"})
        assert turn.status_code == 200 and turn.json()["replies"], turn.text
    assert visitor.post(f"/api/conversations/{conversation}/human").json()["state"] == "waiting"
    got: list[str] = []
    streaming = threading.Event()

    def listen() -> None:  # the widget's event stream, on its own connection: one worker holds it
        with httpx.Client(base_url=visitor.base_url, cookies=visitor.cookies, timeout=20) as stream_client:
            with stream_client.stream("GET", f"/api/conversations/{conversation}/events") as response:
                streaming.set()
                for line in response.iter_lines():
                    got.append(line)
                    if "on its way from any worker" in line:
                        return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert streaming.wait(10)
    for _ in range(3):  # over fresh connections: at least one lands on the other worker
        assert agent.get("/agent/").status_code == 200  # the session holds on every worker (one secret key)
    assert agent.post(f"/agent/conversations/{conversation}/take", data={"csrf_token": token}).status_code == 302
    reply = agent.post(f"/agent/conversations/{conversation}/reply", data={"csrf_token": token, "text": "Hello, on its way from any worker"})
    assert reply.status_code in (200, 302), reply.text
    listener.join(10)
    assert any("on its way from any worker" in line for line in got), got[-5:]
    transcript = visitor.get(f"/api/conversations/{conversation}").json()
    assert [m["author"] for m in transcript["messages"]].count("customer") == 8


def test_two_agents_taking_the_same_conversations_on_different_workers_one_wins_each(served: Served) -> None:
    agents = [fresh(served), fresh(served)]
    tokens = [sign_in(agents[0], "ayse@example.com"), sign_in(agents[1], "omar@example.com")]
    visitors = [fresh(served) for _ in range(6)]
    conversations = []
    for visitor in visitors:
        opened = visitor.post("/api/conversations", json={"lang": "en"}).json()["id"]
        assert visitor.post(f"/api/conversations/{opened}/human").json()["state"] == "waiting"
        conversations.append(opened)
    barrier = threading.Barrier(2)

    def take_all(i: int) -> None:
        for conversation in conversations:
            barrier.wait()
            agents[i].post(f"/agent/conversations/{conversation}/take", data={"csrf_token": tokens[i]})

    threads = [threading.Thread(target=take_all, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store = open_store(served.db_url)  # type: ignore[attr-defined]
    try:
        agents_by_email = {store.get_agent_by_email(e).id: e for e in ("ayse@example.com", "omar@example.com")}  # type: ignore[union-attr]
        for conversation in conversations:
            found = store.get_conversation(conversation)
            assert found is not None and found.state == "agent" and found.agent in agents_by_email
            joined = [m for m in store.list_messages(conversation) if m.action == "agent_joined"]
            assert len(joined) == 1, joined  # one winner, announced once
    finally:
        store.close()


def test_a_reindex_reaches_every_worker_within_seconds_with_no_failed_request(served: Served, tmp_path: Path) -> None:
    before = workers_seen(served)
    assert len(set(before.values())) == 1 and len(before) == 2
    chatters = Chatters(served.port, count=3)
    chatters.start()
    write_article(tmp_path / "kb", "en", "gift-cards", "Gift cards", "Gift cards never expire and work in every shop.",
                  ["do gift cards expire", "where can I use a gift card"])
    env = {"ANSWERDESK_KB": str(tmp_path / "kb"), "ANSWERDESK_INDEX": str(tmp_path / "index"), "ANSWERDESK_ENCODER": "use"}
    done = subprocess.run([str(Path(sys.executable).with_name("answerdesk")), "reindex"], env={**env, "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    published = time.monotonic()
    new = Path(tmp_path / "index").resolve().name
    while True:
        now = workers_seen(served, seconds=2)
        if set(now.values()) == {new} and len(now) == 2:
            break
        assert time.monotonic() - published < 5, f"workers still on the old index 5 s after publish: {now}"
    moved_in = time.monotonic() - published
    time.sleep(0.5)
    chatters.stop()
    assert all(s.first == "ok" for s in chatters.sent), [s.first for s in chatters.sent if s.first != "ok"]
    with fresh(served) as visitor:
        conversation = visitor.post("/api/conversations", json={"lang": "en"}).json()["id"]
        turn = visitor.post(f"/api/conversations/{conversation}/messages", json={"text": "do gift cards expire?"}).json()
        assert turn["replies"][0]["article_id"] == "gift-cards"
    store = open_store(served.db_url)  # type: ignore[attr-defined]
    try:
        check_ledger(chatters, store)
    finally:
        store.close()
    print(f"\nevery worker on the new index {moved_in:.2f} s after publish; {len(chatters.sent)} messages, none failed")
