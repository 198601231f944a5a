"""Soak: a few thousand conversations over a few minutes against `answerdesk serve --workers 2`
on PostgreSQL, with each worker's memory at the start and the end.

A conversation = a new visitor (own cookie) opens a chat, asks two questions of the demo KB in
en/ar/tr/es (bench/web_load.py's script), and answers "Did this answer your question?" on the
first answer. Visitors run in parallel threads; each worker's RSS, PSS and USS (from
/proc/PID/smaps_rollup) are read after the warm-up and at the end, and the store is checked:
every conversation and every acknowledged message is there once.

Usage: python bench/soak.py [--conversations 3000] [--visitors 6] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

from common import NO_LIMITS, demo_index, memory_mib, percentile_ms, progress, table  # noqa: E402
from web_load import VISITS  # noqa: E402

from tests.pg_server import postgres_server  # noqa: E402
from tests.served import Client, Served  # noqa: E402


class Ledger:
    def __init__(self, total: int) -> None:
        self.total = total
        self.next = 0
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.conversations: list[str] = []
        self.messages = 0

    def take(self) -> int | None:
        with self.lock:
            if self.next >= self.total:
                return None
            self.next += 1
            return self.next - 1


def visitor(port: int, ledger: Ledger) -> None:
    while (number := ledger.take()) is not None:
        lang, questions = VISITS[number % len(VISITS)]
        client = Client(port, timeout=30)
        try:
            status, opened = client.request("POST", "/api/conversations", {"lang": lang})
            if status != 201:
                raise RuntimeError(f"open: HTTP {status} {opened}")
            with ledger.lock:
                ledger.conversations.append(opened["id"])
            for i, text in enumerate(questions[:2]):
                start = time.perf_counter()
                status, turn = client.request("POST", f"/api/conversations/{opened['id']}/messages", {"text": text, "client_id": f"s{number}-{i}"})
                elapsed = time.perf_counter() - start
                if status != 200:
                    raise RuntimeError(f"message: HTTP {status} {turn}")
                with ledger.lock:
                    ledger.latencies.append(elapsed)
                    ledger.messages += 1
                answers = [r for r in turn["replies"] if r.get("action") == "answer"]
                if i == 0 and answers:
                    status, _ = client.request("POST", f"/api/conversations/{opened['id']}/feedback", {"message_id": answers[0]["id"], "helpful": True})
                    if status != 200:
                        raise RuntimeError(f"feedback: HTTP {status}")
                if turn["state"] != "bot":
                    break
        except Exception as e:  # noqa: BLE001 - counted, the soak goes on
            with ledger.lock:
                ledger.errors.append(f"{type(e).__name__}: {e}")
        finally:
            if client.conn is not None:
                client.conn.close()
        progress("soak", number + 1, ledger.total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=10000)
    parser.add_argument("--visitors", type=int, default=6, help="concurrent visitors")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="answerdesk-soak-") as tmp_name, postgres_server(fsync=True) as pg:
        tmp = Path(tmp_name)
        kb, index = demo_index(tmp)
        url = pg.create_database()
        served = Served({"ANSWERDESK_KB": str(kb), "ANSWERDESK_INDEX": str(index), "ANSWERDESK_DB": url, **NO_LIMITS}, tmp / "serve.log", workers=args.workers)
        try:
            warm = Ledger(40)
            threads = [threading.Thread(target=visitor, args=(served.port, warm)) for _ in range(args.visitors)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            workers = served.worker_pids()
            start_memory = {pid: memory_mib(pid) for pid in [served.process.pid, *workers]}
            ledger = Ledger(args.conversations)
            began = time.perf_counter()
            threads = [threading.Thread(target=visitor, args=(served.port, ledger)) for _ in range(args.visitors)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            seconds = time.perf_counter() - began
            end_workers = served.worker_pids()
            end_memory = {pid: memory_mib(pid) for pid in [served.process.pid, *end_workers]}
        finally:
            served.stop()
        from bot.store.connect import open_store

        store = open_store(url)
        try:
            stored = {c.id for c in store.list_conversations(channel="web")}
            customer = sum(1 for c in ledger.conversations for m in store.list_messages(c) if m.author == "customer")
        finally:
            store.close()
    lost = set(ledger.conversations) - stored
    table(
        f"Soak: {args.conversations} conversations, {args.visitors} visitors, {args.workers} workers, PostgreSQL 15 "
        f"(fsync on), {os.cpu_count()} cores",
        ["seconds", "conversations/s", "messages", "errors", "p50 ms", "p99 ms", "conversations lost", "customer messages stored / acknowledged"],
        [(seconds, len(ledger.conversations) / seconds, ledger.messages, len(ledger.errors),
          percentile_ms(ledger.latencies, 50), percentile_ms(ledger.latencies, 99), len(lost), f"{customer} / {ledger.messages}")],
    )
    rows = []
    for pid in sorted(set(start_memory) | set(end_memory)):
        role = "master" if pid == served.process.pid else "worker"
        a, b = start_memory.get(pid), end_memory.get(pid)
        rows.append((role, pid, *(f"{getattr(a, k):.1f}" if a else "-" for k in ("rss", "pss", "uss")),
                     *(f"{getattr(b, k):.1f}" if b else "-" for k in ("rss", "pss", "uss"))))
    table("Memory (MiB) after the warm-up and at the end", ["process", "pid", "RSS start", "PSS start", "USS start", "RSS end", "PSS end", "USS end"], rows)
    if end_workers != workers:
        print(f"workers changed during the soak: {workers} -> {end_workers}")
    for error in ledger.errors[:5]:
        print("error:", error)


if __name__ == "__main__":
    main()
