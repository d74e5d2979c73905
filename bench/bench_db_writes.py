#!/usr/bin/env python3
"""Database writes per offer on the ingest path, counted statement by statement.

Feeds the benchmark's fridge messages (10 % of them trigger an offer) through the real
components of ``hub run --bench`` (device profile, rule pack, offers sink, outbox, relay,
SQLite) in batches, with SQLite's trace callback on every connection the hub opens, and
prints per offer and per message: write statements (INSERT, UPDATE, DELETE, by table) and
transactions (COMMIT). The same SQL runs on PostgreSQL, so the counts carry over.

    .venv/bin/python bench/bench_db_writes.py [--messages 5000] [--batch 100]
    .venv/bin/python bench/bench_db_writes.py --demo-mix   # the demo's six devices instead
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


def demo_mix(rounds: int, households: int = 20) -> list[InboundMessage]:
    """The demo's device mix (hub.simulator), one round every 5 s, as the demo fleet sends it."""
    from datetime import UTC, datetime, timedelta

    from hub.simulator import HouseholdSimulator

    sims = [HouseholdSimulator(f"h{i}", seed=i) for i in range(households)]
    start = datetime.now(UTC)
    out = []
    for r in range(rounds):
        for sim in sims:
            for topic, payload, retain in sim.messages(start + timedelta(seconds=5 * r)):
                out.append(InboundMessage(f"home/{sim.household}/{topic}", payload, 1, retain, 0, 0.0))
    return out


def messages(n: int, households: int = 500) -> list[InboundMessage]:
    out = []
    for i in range(n):
        h = i % households
        milk = 0.2 if i % 10 == 0 else 0.6 + (i % 140) * 0.01
        payload = (PAYLOAD % (h, h, milk, i % 12, time.time(), i)).encode()
        out.append(InboundMessage(f"home/h{h}/fridge-{h}/telemetry", payload, 0, False, 0, 0.0))
    return out


async def run(total: int, batch: int, counter: Counter, *, mix: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(bench=not mix, data_dir=Path(tmp), api_port=0,
                            mqtt_url="mqtt://127.0.0.1:1", secret_key="x" * 32)
        hub = Hub(settings, transport=MemoryTransport())
        stop = asyncio.Event()
        task = asyncio.create_task(hub.run(stop))
        await hub.ready.wait()
        msgs = demo_mix(max(total // 120, 1)) if mix else messages(total)
        total = len(msgs)
        size0 = db_bytes(Path(tmp))
        counter.on = True
        cpu0 = time.process_time()
        for i in range(0, total, batch):
            hub.pipeline.handle_batch(msgs[i : i + batch])
            await asyncio.sleep(0)  # let the relay run, as in production
        cpu = time.process_time() - cpu0
        for _ in range(200):  # let the relay drain the outbox (bounded)
            if hub.relay.sent >= total // 10:
                break
            await asyncio.sleep(0.01)
        counter.on = False
        offers = hub.relay.sent
        stop.set()
        await task
        grown = db_bytes(Path(tmp)) - size0
    return {"messages": total, "batch": batch, "offers": offers, "bytes": grown, "cpu": cpu}


def db_bytes(folder: Path) -> int:
    """Bytes in use in the hub's SQLite files (pages in use, WAL checkpointed or not)."""
    total = 0
    for path in sorted(folder.glob("*.sqlite3")):
        conn = sqlite3.connect(path)
        try:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            free = conn.execute("PRAGMA freelist_count").fetchone()[0]
            size = conn.execute("PRAGMA page_size").fetchone()[0]
        finally:
            conn.close()
        total += (pages - free) * size
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--demo-mix", action="store_true",
                    help="the demo's six devices (production profile) instead of bench fridges")
    ap.add_argument("--no-trace", action="store_true", help="only the CPU per message, untraced")
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

    if not a.no_trace:
        sqlite3.connect = traced  # type: ignore[assignment]
    result = asyncio.run(run(a.messages, a.batch, counter, mix=a.demo_mix))
    print(f"in-process CPU: {result['cpu'] * 1e6 / result['messages']:.1f} µs per message"
          f"{' (SQL traced)' if not a.no_trace else ''}")
    if a.no_trace:
        return
    offers = max(result["offers"], 1)
    writes = sum(counter.writes.values())
    print(f"{result['messages']} messages in batches of {a.batch}, {result['offers']} offers published")
    print("| statement | count | per offer |")
    print("|---|---|---|")
    for key, n in sorted(counter.writes.items(), key=lambda kv: -kv[1]):
        print(f"| {key} | {n} | {n / offers:.2f} |")
    print(f"| all writes | {writes} | {writes / offers:.2f} |")
    print(f"| transactions (COMMIT) | {counter.commits} | {counter.commits / offers:.2f} |")
    print(f"writes per message: {writes / result['messages']:.3f};"
          f" transactions per message: {counter.commits / result['messages']:.3f}")
    print(f"database growth: {result['bytes']:,} B, {result['bytes'] / offers:,.0f} B per offer,"
          f" {result['bytes'] / result['messages']:,.1f} B per message")


if __name__ == "__main__":
    main()
