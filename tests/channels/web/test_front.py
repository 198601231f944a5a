"""Issue 14: the web app's ASGI front on uvicorn (what `answerdesk serve` runs), in this process on
127.0.0.1: live streams run on the event loop and hold no request thread, are woken by the
store's changes, end when the browser goes or the process stops; requests arrive whole or not at all."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from bot.config import Settings
from channels.server import AnswerdeskServer, DeadlineProtocol, config_options
from channels.web.events import STOPPING
from channels.web.front import Front
from tests.channels.web.conftest import Web, read_events, say, start

HOST = "127.0.0.1"


@contextmanager
def serving(web: Web, threads: int = 2, request_seconds: float | None = None, recycle_seconds: float | None = None) -> Iterator[tuple[Front, int]]:
    front = Front(web.app, threads=threads)
    options = config_options(Settings(web_idle_seconds=20))
    if request_seconds is not None or recycle_seconds is not None:
        options["http"] = type("Quick", (DeadlineProtocol,), {"request_seconds": request_seconds or 20.0, "recycle_seconds": recycle_seconds})
    server = AnswerdeskServer(uvicorn.Config(front, host=HOST, port=0, **options))
    server.announce = False
    thread = threading.Thread(target=server.run, daemon=True)  # not the main thread: no signal handlers
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    try:
        yield front, server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def open_stream(port: int, cid: str, cookie: str, after: int | None = None) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    connection = http.client.HTTPConnection(HOST, port, timeout=5)
    query = f"?after={after}" if after is not None else ""
    connection.request("GET", f"/api/conversations/{cid}/events{query}", headers={"Cookie": f"answerdesk_visitor={cookie}"})
    response = connection.getresponse()
    assert response.status == 200 and response.getheader("Content-Type", "").startswith("text/event-stream")
    return connection, response


def read_until(response: http.client.HTTPResponse, wanted: bytes, seconds: float = 5.0) -> bytes:
    received, deadline = b"", time.monotonic() + seconds
    while wanted not in received:
        assert time.monotonic() < deadline, received[-400:]
        chunk = response.read1(4096)
        if not chunk:
            break
        received += chunk
    return received


def visitor(web: Web, text: str = "how much is delivery") -> tuple[str, str]:
    client = web.client()
    cid = start(client)["id"]
    say(client, cid, text)
    return cid, client.get_cookie("answerdesk_visitor").value  # type: ignore[union-attr]


def wait_for(condition: object, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_a_stream_arrives_unbuffered_and_ends_when_the_browser_goes(web: Web) -> None:
    web.app.config.update(SSE_MAX_SECONDS=30.0, SSE_POLL_SECONDS=0.05, SSE_HEARTBEAT_SECONDS=15.0)
    cid, cookie = visitor(web)
    with serving(web) as (front, port):
        connection, response = open_stream(port, cid, cookie)
        started = time.monotonic()
        received = read_until(response, b"event: state")
        assert time.monotonic() - started < 5  # the events came long before the stream's 30 s end
        assert received.startswith(b"retry: 1000") and received.count(b"id: ") == 2
        assert front.hub.streams == 1
        connection.close()
        assert wait_for(lambda: front.hub.streams == 0), "the stream did not notice the browser had gone"


def test_open_streams_hold_no_request_thread(web: Web) -> None:
    web.app.config.update(SSE_MAX_SECONDS=30.0, SSE_POLL_SECONDS=0.05, SSE_HEARTBEAT_SECONDS=15.0)
    visitors = [visitor(web) for _ in range(5)]
    with serving(web, threads=2) as (front, port):
        held = [open_stream(port, cid, cookie) for cid, cookie in visitors for _ in range(4)]  # 20 streams, 2 threads
        for _, response in held:
            read_until(response, b"event: state")
        assert front.hub.streams == 20
        started = time.monotonic()
        other = http.client.HTTPConnection(HOST, port, timeout=5)
        for _ in range(5):
            other.request("GET", "/healthz")
            assert other.getresponse().read() and time.monotonic() - started < 3
        other.close()
        for connection, _ in held:
            connection.close()


def test_a_change_in_the_store_wakes_the_stream_at_once(web: Web) -> None:
    # The polls' pace is the hub's: every 0.05 s for all streams; the stream's own heartbeat is 15 s.
    web.app.config.update(SSE_MAX_SECONDS=30.0, SSE_POLL_SECONDS=0.05, SSE_HEARTBEAT_SECONDS=15.0)
    cid, cookie = visitor(web, "I want to talk to a human")
    assert web.desk.take(cid, web.agents["ayse"].id, "Ayşe")
    after = web.desk.store.list_messages(cid)[-1].id
    with serving(web) as (front, port):
        connection, response = open_stream(port, cid, cookie, after=after)
        read_until(response, b"event: state")  # the state it is in, then quiet
        time.sleep(0.3)
        sent = time.monotonic()
        web.desk.agent_reply(cid, web.agents["ayse"].id, "Hello from Ayşe")  # the test's clock stands still: ids tell
        received = read_until(response, "Hello from Ayşe".encode())
        assert time.monotonic() - sent < 2
        assert [e["data"]["text"] for e in read_events(received.decode()) if e["event"] == "message"] == ["Hello from Ayşe"]
        connection.close()


def test_a_stopping_process_ends_its_open_streams(web: Web) -> None:
    web.app.config.update(SSE_MAX_SECONDS=30.0, SSE_POLL_SECONDS=0.05, SSE_HEARTBEAT_SECONDS=15.0)
    cid, cookie = visitor(web)
    with serving(web) as (front, port):
        connection, response = open_stream(port, cid, cookie)
        read_until(response, b"event: state")
        try:
            STOPPING.set()
            started = time.monotonic()
            while response.read1(4096):
                assert time.monotonic() - started < 3
        finally:
            STOPPING.clear()
        assert wait_for(lambda: front.hub.streams == 0)
        connection.close()


def test_bodies_over_the_cap_get_the_apps_413(web: Web) -> None:
    cid, cookie = visitor(web)
    with serving(web) as (_, port):
        connection = http.client.HTTPConnection(HOST, port, timeout=5)
        body = b'{"text": "' + b"x" * (70 * 1024) + b'"}'
        connection.request("POST", f"/api/conversations/{cid}/messages", body=body,
                           headers={"Cookie": f"answerdesk_visitor={cookie}", "Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == 413 and b"error" in response.read()
        connection.close()


def test_a_request_that_never_arrives_whole_is_closed_at_its_deadline(web: Web) -> None:
    with serving(web, request_seconds=0.5) as (_, port):
        silent = socket.create_connection((HOST, port), timeout=5)  # connects, sends nothing
        half = socket.create_connection((HOST, port), timeout=5)
        half.sendall(b"POST /api/conversations HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")  # body never finished
        whole = http.client.HTTPConnection(HOST, port, timeout=5)
        whole.request("GET", "/healthz")
        assert whole.getresponse().status == 200
        started = time.monotonic()
        assert silent.recv(1) == b"" and half.recv(1) == b""  # closed by the server, not by our timeout
        assert time.monotonic() - started < 3
        for s in (silent, half):
            s.close()
        whole.close()


def test_with_several_workers_an_old_keep_alive_connection_is_closed_after_its_response(web: Web) -> None:
    assert config_options(Settings(workers=2))["http"].recycle_seconds is not None
    assert config_options(Settings(workers=1))["http"].recycle_seconds is None
    with serving(web, recycle_seconds=0.3) as (_, port):
        connection = http.client.HTTPConnection(HOST, port, timeout=5)
        connection.request("GET", "/healthz")
        first = connection.getresponse()
        first.read()
        assert first.getheader("Connection") is None  # young: kept alive
        time.sleep(0.4)
        connection.request("GET", "/healthz")
        second = connection.getresponse()
        second.read()
        assert second.status == 200 and second.getheader("Connection") == "close"  # old: the client reconnects
        connection.close()
