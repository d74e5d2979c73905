#!/usr/bin/env python3
"""Database writes per offer on the ingest path, counted statement by statement.

Feeds the benchmark's fridge messages (10 % of them trigger an offer) through the real
components of ``hub run --bench`` (device profile, rule pack, offers sink, outbox, relay,
SQLite) in batches, with SQLite's trace callback on every connection the hub opens, and
prints per offer and per message: write statements (INSERT, UPDATE, DELETE, by table) and
transactions (COMMIT). The same SQL runs on PostgreSQL, so the counts carry over.

    .venv/bin/python bench/bench_db_writes.py [--messages 5000] [--batch 100]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import re
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from hub.config import Settings
from hub.service import Hub
from hub.transport.base import InboundMessage
from hub.transport.memory import MemoryTransport

PAYLOAD = ('{"device":"fridge-%d","household":"h%d","items":{"milk":{"qty":%.2f,"unit":"l"},'
           '"eggs":{"qty":%d,"unit":"pcs"}},"door_open":false,"temp_c":4.0,"ts":%.6f,"seq":%d}')


class Counter:
    """Statements seen by SQLite's trace callback while ``on`` is set."""

    def __init__(self) -> None:
        self.on = False
        self.writes: collections.Counter[str] = collections.Counter()
        self.commits = 0

    def trace(self, db: str, sql: str) -> None:
        if not self.on:
            return
        head = sql.lstrip()[:6].upper()
        if head == "COMMIT":
            self.commits += 1
            return
        m = re.match(r"\s*(INSERT|UPDATE|DELETE)\s+(?:OR\s+\w+\s+)?(?:INTO\s+|FROM\s+)?([A-Za-z_]+)", sql, re.I)
        if m:
            self.writes[f"{Path(db).name}:{m.group(2)} {m.group(1).upper()}"] += 1


def messages(n: int, households: int = 500) -> list[InboundMessage]:
    out = []
    for i in range(n):
        h = i % households
        milk = 0.2 if i % 10 == 0 else 0.6 + (i % 140) * 0.01
        payload = (PAYLOAD % (h, h, milk, i % 12, time.time(), i)).encode()
        out.append(InboundMessage(f"home/h{h}/fridge-{h}/telemetry", payload, 0, False, 0, 0.0))
    return out


async def run(total: int, batch: int, counter: Counter) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(bench=True, data_dir=Path(tmp), api_port=0, mqtt_url="mqtt://127.0.0.1:1")
        hub = Hub(settings, transport=MemoryTransport())
        stop = asyncio.Event()
        task = asyncio.create_task(hub.run(stop))
        await hub.ready.wait()
        msgs = messages(total)
        counter.on = True
        for i in range(0, total, batch):
            hub.pipeline.handle_batch(msgs[i : i + batch])
            await asyncio.sleep(0)  # let the relay run, as in production
        for _ in range(200):  # let the relay drain the outbox (bounded)
            if hub.relay.sent >= total // 10:
                break
            await asyncio.sleep(0.01)
        counter.on = False
        offers = hub.relay.sent
        stop.set()
        await task
    return {"messages": total, "batch": batch, "offers": offers}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=100)
    a = ap.parse_args()
    if not 0 < a.messages <= 100_000 or not 0 < a.batch <= 10_000:
        ap.error("--messages 1..100000, --batch 1..10000")
    counter = Counter()
    connect = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)
        name = str(args[0] if args else kwargs.get("database"))
        conn.set_trace_callback(lambda sql: counter.trace(name, sql))
        return conn

    sqlite3.connect = traced  # type: ignore[assignment]
    result = asyncio.run(run(a.messages, a.batch, counter))
    offers = max(result["offers"], 1)
    writes = sum(counter.writes.values())
    print(f"{result['messages']} messages in batches of {a.batch}, {result['offers']} offers published")
    print("| statement | count | per offer |")
    print("|---|---|---|")
    for key, n in sorted(counter.writes.items(), key=lambda kv: -kv[1]):
        print(f"| {key} | {n} | {n / offers:.2f} |")
    print(f"| all writes | {writes} | {writes / offers:.2f} |")
    print(f"| transactions (COMMIT) | {counter.commits} | {counter.commits / offers:.2f} |")
    print(f"writes per message: {writes / result['messages']:.3f}")


if __name__ == "__main__":
    main()
