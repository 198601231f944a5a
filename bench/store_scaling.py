"""Per-message store cost as conversations grow long and the store grows big (issue 15: flat).

Three SQLite stores are filled first (rows written directly, then ANALYZE):

  short / 10k     10,000 messages; the visitor's conversation has 10
  long / 10k      10,000 messages; the visitor's conversation has 5,000
  short / 1M      1,000,000 messages; the visitor's conversation has 10

One turn is what a message's path asks of the store, in the desk's order: the conversation, the
redelivery check (find_message), the history (recent_messages), the turn's one transaction
(the message, the reply, the conversation), and what runs beside it every half second per
process: the Slack/Telegram relay query past its cursor and the orphan sweep's last ten minutes.
The stores are timed in turn (A, B, C, A, B, C ...) for --rounds; the table gives the median
turn (min and median over rounds) and each store's ratio to short / 10k.

Usage: python bench/store_scaling.py [--rounds 5] [--turns 200] [--big 1000000]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from common import REPO, table  # noqa: E402

from bot.delivery.sql_delivery import SQLRelayCursors
from bot.store.connect import open_store
from bot.store.sql import SQLStore

VISITOR = "visitor"


def fill(path: Path, total: int, mine: int) -> str:
    """A store with `total` messages, `mine` of them in the visitor's conversation; its id."""
    store = open_store(str(path))
    conversation = store.create_conversation("web", VISITOR, "en").id
    store.close()
    others = max(1, (total - mine) // 10)
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO conversations (id, channel, external_user, lang, state, created_at, updated_at, meta) "
            "VALUES (?, 'telegram', ?, 'en', 'closed', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00', '{}')",
            ((f"c{n:07d}", f"u{n}") for n in range(others)),
        )
        rows = ((f"c{n % others:07d}", "telegram", ("customer", "bot")[n % 2], "an earlier message",
                 f"2026-01-{1 + n * 28 // total:02d}T00:00:00+00:00") for n in range(total - mine))
        conn.executemany("INSERT INTO messages (conversation_id, channel, author, text, created_at) VALUES (?, ?, ?, ?, ?)", rows)
        conn.executemany(
            "INSERT INTO messages (conversation_id, channel, author, text, created_at) VALUES (?, 'web', ?, 'a message', ?)",
            ((conversation, ("customer", "bot")[n % 2], "2026-02-01T00:00:00+00:00") for n in range(mine)),
        )
        conn.execute("ANALYZE")
    return conversation


def turns(store: SQLStore, conversation: str, count: int, start: int) -> list[float]:
    relay = SQLRelayCursors(store.database)
    times = []
    for n in range(start, start + count):
        started = time.perf_counter()
        found = store.get_conversation(conversation)
        assert found is not None
        store.find_message("web", f"web:{VISITOR}:{n}")
        store.recent_messages(conversation, 20)
        with store.atomic():
            asked = store.add_message(conversation, "customer", f"question {n}", external_id=f"web:{VISITOR}:{n}")
            store.add_message(conversation, "bot", f"answer {n}", lang="en", decision={"answers": asked.message.id})
            store.update_conversation(conversation, lang="en", topic="delivery")
        relay.outward_messages("web", asked.message.id - 1, 50)
        now = store._clock()
        store.list_messages_since(now - timedelta(minutes=10), now)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--big", type=int, default=1_000_000)
    args = parser.parse_args()
    shapes = {"short / 10k": (10_000, 10), "long / 10k": (10_000, 5_000), f"short / {args.big // 1000}k": (args.big, 10)}
    (REPO / "var").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="store-scaling-", dir=REPO / "var") as folder:
        stores, conversations = {}, {}
        for name, (total, mine) in shapes.items():
            print(f"filling {name} ({total:,} messages)...", file=sys.stderr, flush=True)
            path = Path(folder) / f"{len(stores)}.db"
            conversations[name] = fill(path, total, mine)
            stores[name] = open_store(str(path))
        medians: dict[str, list[float]] = {name: [] for name in shapes}
        history: dict[str, list[float]] = {"the whole conversation (before)": [], "the last 20 (now)": []}
        try:
            for round_ in range(args.rounds):
                for name in shapes:
                    print(f"round {round_ + 1}/{args.rounds}: {name}", file=sys.stderr, flush=True)
                    times = turns(stores[name], conversations[name], args.turns, round_ * args.turns)  # type: ignore[arg-type]
                    medians[name].append(statistics.median(times) * 1000)
                long = stores["long / 10k"]
                for label, read in (("the whole conversation (before)", lambda: long.list_messages(conversations["long / 10k"])),
                                    ("the last 20 (now)", lambda: long.recent_messages(conversations["long / 10k"], 20))):
                    started = time.perf_counter()
                    read()
                    history[label].append((time.perf_counter() - started) * 1000)
        finally:
            for store in stores.values():
                store.close()
    base = statistics.median(medians["short / 10k"])
    rows = [[name, f"{min(m):.3f}", f"{statistics.median(m):.3f}", f"{statistics.median(m) / base:.2f}"] for name, m in medians.items()]
    table(
        f"One message's store work, ms (SQLite file; {args.rounds} interleaved rounds x {args.turns} turns)",
        ["conversation / store", "median turn, min", "median turn, median", "ratio to short / 10k"], rows,
    )
    table(
        "The history read of a message in a 5,000-message conversation, ms",
        ["read", "min", "median"], [[label, f"{min(t):.3f}", f"{statistics.median(t):.3f}"] for label, t in history.items()],
    )


if __name__ == "__main__":
    main()
