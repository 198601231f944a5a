"""Memory of `answerdesk serve --workers N`: RSS, PSS and USS of the master and of each worker.

For each N (1, 2, 4) the real server runs on 127.0.0.1 over the demo KB indexed into a temp
folder (with --synthetic 10000, also a generated KB of that many articles: an HNSW index),
with a SQLite store there. Each worker gets a keep-alive connection of its own (found by the
`worker` field of /healthz) and a few warm-up conversations in en/ar/tr/es, then
/proc/PID/smaps_rollup is read for every process. Then one article is added to the KB,
`answerdesk reindex` publishes a new snapshot, every worker answers on it, and memory is read
again: the 'after reindex' rows show what moving to the new index cost each worker and whether
that copy is private (USS) or shared (PSS well under RSS).

RSS: every page a process has mapped. PSS: shared pages divided among their sharers; the sum
over the processes is the server's real footprint. USS: pages only this process holds (what
its exit would free). N=1 is one process (uvicorn); N≥2 is a gunicorn master and N uvicorn workers.

Usage: python bench/memory.py [--workers 1,2,4] [--synthetic 10000] [--questions 8]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common import NO_LIMITS, REPO, Memory, memory_mib, reindex_cli, table, write_kb  # noqa: E402
from speed import synthetic_articles  # noqa: E402
from web_load import VISITS  # noqa: E402

from tests.served import Client, Served  # noqa: E402

MOVE_SECONDS = 30.0
ADDED_ARTICLE = """---
id: gift-cards
lang: en
title: Gift cards
questions:
  - do gift cards expire
  - where can I use a gift card
---
Gift cards never expire and work in every shop and online.
"""


def pin_clients(served: Served, expected: int) -> dict[int, Client]:
    """One keep-alive connection per worker: new connections until every worker has one."""
    pinned: dict[int, Client] = {}
    for _ in range(200):
        client = Client(served.port, timeout=60)
        status, body = client.request("GET", "/healthz")
        if status != 200 or "worker" not in body:
            raise SystemExit(f"/healthz answered {status} {body}: this bench needs its 'worker' field")
        if body["worker"] in pinned:
            assert client.conn is not None
            client.conn.close()
        else:
            pinned[body["worker"]] = client
        if len(pinned) == expected:
            return pinned
    raise SystemExit(f"reached {len(pinned)} of {expected} workers in 200 connections")


def chat(client: Client, questions: int, offset: int) -> None:
    """Conversations of a few questions each, over this client's connection (so on its worker)."""
    asked = 0
    for number in range(offset, offset + len(VISITS)):
        lang, texts = VISITS[number % len(VISITS)]
        status, opened = client.request("POST", "/api/conversations", {"lang": lang})
        if status != 201:
            raise SystemExit(f"POST /api/conversations: HTTP {status} {opened}")
        for text in texts:
            status, turn = client.request("POST", f"/api/conversations/{opened['id']}/messages", {"text": text})
            if status != 200:
                raise SystemExit(f"POST a message: HTTP {status} {turn}")
            asked += 1
            if asked >= questions:
                return
            if turn["state"] != "bot":
                break


def snapshot_of(client: Client) -> str:
    with client.lock:
        status, body = client.request("GET", "/healthz")
    if status != 200:
        raise SystemExit(f"/healthz: HTTP {status} {body}")
    return str(body.get("index") or body.get("index_built_at"))


@contextmanager
def kept_alive(clients: list[Client], every: float = 1.0) -> Iterator[None]:
    """Ping each connection while the bench waits, or the server closes it after its keep-alive
    timeout and the next request would open one on any worker."""
    stop = threading.Event()

    def ping() -> None:
        while not stop.wait(every):
            for client in clients:
                snapshot_of(client)

    pinger = threading.Thread(target=ping, daemon=True)
    pinger.start()
    try:
        yield
    finally:
        stop.set()
        pinger.join()


def measure(label: str, kb: Path, index: Path, workers: int, questions: int, tmp: Path) -> list[tuple[object, ...]]:
    """Rows (label, workers, phase, process, pid, RSS, PSS, USS) before and after a reindex."""
    db = tmp / f"desk-{workers}.db"
    served = Served({"ANSWERDESK_KB": str(kb), "ANSWERDESK_INDEX": str(index), "ANSWERDESK_DB": str(db), **NO_LIMITS}, tmp / f"serve-{workers}.log", workers=workers, start_seconds=300)
    rows: list[tuple[object, ...]] = []
    try:
        expected = workers if workers > 1 else 1
        pinned = pin_clients(served, expected)
        for offset, client in enumerate(pinned.values()):
            chat(client, questions, offset)
        with kept_alive(list(pinned.values())):
            time.sleep(2)  # the request threads finish
        rows += _rows(label, workers, "warm", served)
        old = {pid: snapshot_of(client) for pid, client in pinned.items()}
        added = kb / "en" / "gift-cards.md"
        added.write_text(ADDED_ARTICLE, encoding="utf-8")
        try:
            with kept_alive(list(pinned.values())):
                reindex_cli(kb, index)
            deadline = time.monotonic() + MOVE_SECONDS
            for pid, client in pinned.items():
                while snapshot_of(client) == old[pid]:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"worker {pid} still serves {old[pid]} {MOVE_SECONDS:g} s after the reindex")
                    time.sleep(0.05)
            for offset, client in enumerate(pinned.values()):
                chat(client, questions, offset + 1)
            rows += _rows(label, workers, "after reindex", served)
        finally:
            added.unlink()
            reindex_cli(kb, index)  # back to the KB the next row starts from
        for client in pinned.values():
            if client.conn is not None:
                client.conn.close()
    finally:
        served.stop()
    return rows


def _rows(label: str, workers: int, phase: str, served: Served) -> list[tuple[object, ...]]:
    processes = [("master" if workers > 1 else "server", served.process.pid)] + [("worker", pid) for pid in served.worker_pids()]
    rows: list[tuple[object, ...]] = []
    total = Memory(0.0, 0.0, 0.0)
    for role, pid in processes:
        m = memory_mib(pid)
        total = Memory(total.rss + m.rss, total.pss + m.pss, total.uss + m.uss)
        rows.append((label, workers, phase, role, pid, m.rss, m.pss, m.uss))
    rows.append((label, workers, phase, "total", "", total.rss, total.pss, total.uss))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker counts (default 1,2,4)")
    parser.add_argument("--synthetic", type=int, default=0, help="also a generated KB of this many articles (e.g. 10000; its reindex takes one to two minutes)")
    parser.add_argument("--questions", type=int, default=8, help="warm-up questions per worker (default 8)")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    rows: list[tuple[object, ...]] = []
    with tempfile.TemporaryDirectory(prefix="answerdesk-memory-") as tmp_name:
        tmp = Path(tmp_name)
        kbs = [("demo KB", Path(shutil.copytree(REPO / "kb_source", tmp / "demo" / "kb")))]
        if args.synthetic:
            kbs.append((f"{args.synthetic} articles", write_kb(tmp / "synthetic" / "kb", synthetic_articles(args.synthetic))))
        for label, kb in kbs:
            index = kb.parent / "index"
            print(f"indexing the {label}...", file=sys.stderr, flush=True)
            seconds = reindex_cli(kb, index)
            vectors = (index / "vectors.faiss").stat().st_size / 2**20
            print(f"  {seconds:.0f} s; vectors.faiss {vectors:.1f} MiB", file=sys.stderr, flush=True)
            for workers in counts:
                print(f"{label}, --workers {workers}...", file=sys.stderr, flush=True)
                rows += measure(label, kb, index, workers, args.questions, kb.parent)
    table(
        f"answerdesk serve --workers N, memory in MiB ({os.cpu_count()} cores; {args.questions} warm-up questions per worker; "
        "'after reindex': one article added, every worker moved to the new snapshot and answered on it)",
        ["KB", "N", "phase", "process", "pid", "RSS", "PSS", "USS"],
        rows,
    )


if __name__ == "__main__":
    main()
