"""Capacity of one `answerdesk serve`: a normal visitor's latency while many live streams or idle sockets are open.

A real `answerdesk serve` process on 127.0.0.1 over the demo KB (indexed into a temp folder
with ANSWERDESK_ENCODER, default `use`: serving cost, not the encoder's, is measured). A normal
visitor opens a conversation and posts questions one after another; each request is timed until
its reply is read, and one that takes longer than --timeout counts as timed out. Meanwhile:

  none       nothing else
  streams N  N live-update streams (GET /api/conversations/<id>/events, as the widget opens
             them), one per visitor's conversation, held open and read only to see each start
  idle N     N sockets that sent half a request line and then nothing

The conditions are interleaved (none, streams 500, streams 2000, idle 500, none, ...) for
--rounds rounds on one server; the table gives each condition's p50 (min and median over the
rounds), its worst p99, and how many requests timed out. Everything binds 127.0.0.1 and every
loop is bounded in count and time.

Usage: python bench/capacity.py [--rounds 2] [--requests 40] [--streams 500,2000] [--idle 500]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from http.cookies import SimpleCookie
from pathlib import Path

from common import NO_LIMITS, REPO, percentile_ms, table  # noqa: E402

HOST = "127.0.0.1"
ANSWERDESK = Path(sys.executable).with_name("answerdesk")
QUESTIONS = ("how much is delivery", "what time are you open?", "I forgot my password", "refund policy")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def environment(tmp: Path, encoder: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ANSWERDESK_", "SLACK_", "TELEGRAM_"))}
    return {**clean, "ANSWERDESK_KB": str(REPO / "kb_source"), "ANSWERDESK_INDEX": str(tmp / "index"),
            "ANSWERDESK_DB": str(tmp / "answerdesk.db"), "ANSWERDESK_ENCODER": encoder, **NO_LIMITS}


def start_server(env: dict[str, str], log: Path, seconds: float = 180.0) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    out = log.open("wb")
    process = subprocess.Popen([str(ANSWERDESK), "serve", "--host", HOST, "--port", str(port)], stdout=out, stderr=subprocess.STDOUT,
                               cwd=REPO, env=env, start_new_session=True)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"answerdesk serve exited:\n{log.read_text(errors='replace')[-2000:]}")
        if re.search(r"serving on http://", log.read_text(errors="replace")):
            return process, port
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    raise SystemExit("answerdesk serve did not start")


class Visitor:
    """One widget: a keep-alive connection, its cookie, its conversation."""

    def __init__(self, port: int, timeout: float) -> None:
        self.port, self.timeout = port, timeout
        self.conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
        self.cookie = ""
        body = self.request("POST", "/api/conversations", {"lang": "en"})
        self.conversation = body["id"]

    def request(self, method: str, path: str, body: object | None = None) -> dict:
        headers = {"Content-Type": "application/json", **({"Cookie": self.cookie} if self.cookie else {})}
        try:
            self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            raise
        for header in response.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie(header)
            self.cookie = "; ".join(f"{k}={v.value}" for k, v in jar.items())
        if response.status >= 400:
            raise OSError(f"{method} {path}: {response.status} {data[:200]!r}")
        return json.loads(data) if data else {}


def held_streams(port: int, owners: list[Visitor], count: int, seconds: float = 60.0) -> list[socket.socket]:
    """`count` event streams opened as the widget opens them, spread over the owners' conversations."""
    sockets = []
    deadline = time.monotonic() + seconds
    for i in range(count):
        if time.monotonic() > deadline:
            break
        owner = owners[i % len(owners)]
        try:
            s = socket.create_connection((HOST, port), timeout=5)
            s.sendall(
                f"GET /api/conversations/{owner.conversation}/events HTTP/1.1\r\nHost: {HOST}\r\nAccept: text/event-stream\r\n"
                f"Cookie: {owner.cookie}\r\n\r\n".encode()
            )
        except OSError:
            break  # the server stopped accepting: that is a result too (the table says how many were open)
        sockets.append(s)
    return sockets


def streaming(sockets: list[socket.socket], seconds: float = 60.0) -> int:
    """How many of the held streams the server answered with 200 (bounded wait)."""
    started, deadline = set(), time.monotonic() + seconds
    while len(started) < len(sockets) and time.monotonic() < deadline:
        for n, s in enumerate(sockets):
            if n in started:
                continue
            s.settimeout(0.001)
            try:
                if s.recv(64, socket.MSG_PEEK).startswith(b"HTTP/1.1 200"):
                    started.add(n)
            except (BlockingIOError, TimeoutError, socket.timeout):
                pass
            except OSError:
                started.add(-1 - n)  # closed: never streaming
        time.sleep(0.1)
    return sum(1 for n in started if n >= 0)


def idle_sockets(port: int, count: int, seconds: float = 60.0) -> list[socket.socket]:
    """`count` connections that sent half a request line, then nothing."""
    sockets = []
    deadline = time.monotonic() + seconds
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        try:
            s = socket.create_connection((HOST, port), timeout=5)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x")
        except OSError:
            break  # the server stopped accepting: that is a result too
        sockets.append(s)
    return sockets


def measure(port: int, requests: int, timeout: float) -> tuple[list[float], int]:
    """A normal visitor's round trips; (seconds of the answered ones, how many timed out or failed)."""
    try:
        visitor = Visitor(port, timeout)
    except (OSError, http.client.HTTPException):
        return [], requests
    times, failed = [], 0
    for n in range(requests):
        started = time.perf_counter()
        try:
            visitor.request("POST", f"/api/conversations/{visitor.conversation}/messages", {"text": QUESTIONS[n % len(QUESTIONS)]})
            times.append(time.perf_counter() - started)
        except (OSError, http.client.HTTPException):
            failed += 1
    visitor.conn.close()
    return times, failed


def settle(port: int, seconds: float = 120.0) -> None:
    """Wait (bounded) until the server answers /healthz quickly again."""
    deadline = time.monotonic() + seconds
    time.sleep(2.0)
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=0.5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.5)


def close_all(sockets: list[socket.socket]) -> None:
    for s in sockets:
        try:
            s.close()
        except OSError:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--streams", default="500,2000", help="comma-separated stream counts")
    parser.add_argument("--idle", type=int, default=500)
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds after which a visitor's request counts as timed out")
    parser.add_argument("--encoder", default="use")
    args = parser.parse_args()
    conditions = [("none", 0)] + [("streams", int(n)) for n in args.streams.split(",") if n] + ([("idle", args.idle)] if args.idle else [])
    results: dict[str, list[tuple[list[float], int]]] = {f"{kind} {n}" if n else kind: [] for kind, n in conditions}
    opened: dict[str, list[int]] = {name: [] for name in results}
    live: dict[str, list[int]] = {name: [] for name in results}
    with tempfile.TemporaryDirectory(prefix="capacity-") as folder:
        tmp = Path(folder)
        env = environment(tmp, args.encoder)
        print(f"indexing the demo KB with {args.encoder}...", file=sys.stderr, flush=True)
        subprocess.run([str(ANSWERDESK), "reindex"], env=env, cwd=REPO, check=True, capture_output=True)
        process, port = start_server(env, tmp / "serve.log")
        try:
            print(f"opening {max(n for _, n in conditions)} visitors' conversations...", file=sys.stderr, flush=True)
            owners = []
            for _ in range(max([10] + [n for kind, n in conditions if kind == "streams"])):
                owners.append(Visitor(port, args.timeout))
                owners[-1].conn.close()  # their streams come on connections of their own
            measure(port, 8, args.timeout)  # warm-up: the first answers load what the later ones reuse
            for round_ in range(args.rounds):
                for kind, n in conditions:
                    name = f"{kind} {n}" if n else kind
                    print(f"round {round_ + 1}/{args.rounds}: {name}", file=sys.stderr, flush=True)
                    held = held_streams(port, owners, n) if kind == "streams" else idle_sockets(port, n) if kind == "idle" else []
                    opened[name].append(len(held))
                    live[name].append(streaming(held) if kind == "streams" else 0)
                    time.sleep(1.0)  # let the server take them in
                    results[name].append(measure(port, args.requests, args.timeout))
                    close_all(held)
                    settle(port)  # held streams notice their client left at their next poll; queued ones wait their turn
        finally:
            alive = process.poll() is None
            if alive:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
            if not alive:
                print(f"the server died:\n{(tmp / 'serve.log').read_text(errors='replace')[-3000:]}", file=sys.stderr)
    rows = []
    for name, runs in results.items():
        p50s = [percentile_ms(t, 50) for t, _ in runs if t]
        p99s = [percentile_ms(t, 99) for t, _ in runs if t]
        failed = sum(f for _, f in runs)
        total = sum(len(t) + f for t, f in runs)
        rows.append([
            name, min(opened[name]) if opened[name] else 0, min(live[name]) if live[name] else 0,
            f"{min(p50s):.1f}" if p50s else "-", f"{statistics.median(p50s):.1f}" if p50s else "-",
            f"{max(p99s):.1f}" if p99s else "-", f"{failed}/{total}",
        ])
    table(
        f"A normal visitor's message round trip (ms) on one `answerdesk serve`, {args.rounds} rounds x {args.requests} requests, "
        f"timeout {args.timeout:g} s",
        ["while open", "opened (min)", "streaming (min)", "p50 min", "p50 median", "p99 worst", "timed out"], rows,
    )


if __name__ == "__main__":
    main()
