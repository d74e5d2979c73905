"""Telemetry history write cost: what the pipeline pays, and what SQLite flushes cost.

Prints figures; passes or fails nothing. The load mimics the benchmark fridges: five
readings per message (three pantry stocks, door, temperature), written per batch of
messages as the ingest pipeline does.

    PYTHONPATH=. python bench/bench_telemetry.py [--readings 200000] [--households 100]
"""

from __future__ import annotations

import argparse
import logging
import socket
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.events import Reading
from hub.storage.database import Database
from hub.telemetry import InfluxHistory, SQLiteHistory

T0 = 1_764_072_000.0


def message(i: int, households: int) -> tuple[str, list[Reading]]:
    n = i % households
    device = f"fridge-{n}"
    return f"h{n}", [
        Reading(device=device, metric="stock", value=0.4 + (i % 7) / 10, unit="l", channel="milk"),
        Reading(device=device, metric="stock", value=3 + i % 5, unit="pcs", channel="eggs"),
        Reading(device=device, metric="stock", value=0.25, unit="kg", channel="butter"),
        Reading(device=device, metric="door_open", value=i % 11 == 0),
        Reading(device=device, metric="temperature", value=4.1 + (i % 9) / 10, unit="°C"),
    ]


def batches(
    total_readings: int, per_batch: int, households: int
) -> list[tuple[float, list[tuple[str, list[Reading]]]]]:
    """Batches of messages (per_batch messages each), one message per household per second."""
    out = []
    messages = total_readings // 5
    for start in range(0, messages, per_batch):
        batch = [message(i, households) for i in range(start, min(messages, start + per_batch))]
        out.append((T0 + start / households, batch))
    return out


def bench_sqlite(path: Path, readings: int, households: int, flush_every: int) -> None:
    db = Database(path)
    store = SQLiteHistory(db, flush_interval_s=None, max_buffer=readings + 1)
    write_s = flush_s = 0.0
    flush_times = []
    since_flush = 0
    for received_at, batch in batches(readings, 200, households):
        t = time.perf_counter()
        for household, items in batch:
            store.write(household, items, received_at)
        write_s += time.perf_counter() - t
        since_flush += 5 * len(batch)
        if since_flush >= flush_every:
            t = time.perf_counter()
            store.flush()
            flush_times.append(time.perf_counter() - t)
            since_flush = 0
    t = time.perf_counter()
    store.flush()
    flush_s = sum(flush_times) + time.perf_counter() - t
    n = store.stats()["written"]
    store.close()
    db.close()
    print(
        f"sqlite  flush every {flush_every:>6} readings:"
        f" write() {write_s / n * 1e6:5.2f} µs/reading, flush {flush_s / n * 1e6:5.2f} µs/reading;"
        f" one flush p50 {statistics.median(flush_times) * 1e3:.1f} ms,"
        f" max {max(flush_times) * 1e3:.1f} ms ({n} readings)"
    )


def bench_sqlite_thread(path: Path, readings: int, households: int, rate: int) -> None:
    """Defaults as the hub runs them: the flusher thread flushes while the pipeline writes,
    fed at ``rate`` readings/s in batches of 200 messages (the benchmark's 10k msg/s is
    50k readings/s)."""
    db = Database(path)
    store = SQLiteHistory(db)
    work = batches(readings, 200, households)
    calls = []
    start = time.perf_counter()
    fed_readings = 0
    for received_at, batch in work:
        due = start + fed_readings / rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)  # pacing the load, not waiting for readiness
        for household, items in batch:
            t = time.perf_counter()
            store.write(household, items, received_at)
            calls.append(time.perf_counter() - t)
        fed_readings += 5 * len(batch)
    fed = time.perf_counter() - start
    store.close()
    total = time.perf_counter() - start
    stats = store.stats()
    db.close()
    print(
        f"sqlite  defaults, flusher thread, fed {rate:,} readings/s:"
        f" {stats['written'] / total:,.0f} readings/s stored;"
        f" pipeline write() {sum(calls) / (5 * len(calls)) * 1e6:.2f} µs/reading,"
        f" {_spread(calls)} per call; fed in {fed:.2f} s, all stored in {total:.2f} s,"
        f" {stats['flushes']} flushes, {stats['dropped']} dropped"
    )


def bench_unbatched(path: Path, count: int, households: int) -> None:
    db = Database(path)
    store = SQLiteHistory(db, flush_interval_s=None)
    t = time.perf_counter()
    written = 0
    for i in range(count // 5):
        household, items = message(i, households)
        store.write(household, items, T0 + i)
        store.flush()
        written += len(items)
    took = time.perf_counter() - t
    store.close()
    db.close()
    print(
        f"sqlite  flush every message (no batching): {took / written * 1e6:5.2f} µs/reading"
        f" ({written} readings)"
    )


def bench_compact(path: Path) -> None:
    db = Database(path)
    store = SQLiteHistory(db, flush_interval_s=None, raw_days=1)
    row = db.query_one("SELECT MAX(ts) FROM telemetry_raw")
    assert row is not None
    now = datetime.fromtimestamp(row[0], UTC) + timedelta(days=1)
    t = time.perf_counter()
    removed = store.compact(now)
    took = time.perf_counter() - t
    store.close()
    db.close()
    print(
        f"sqlite  compact: {took * 1e3:.0f} ms for {removed['raw']} raw rows"
        f" in chunks of {store.compact_chunk}"
    )


def _spread(calls: list[float]) -> str:
    ordered = sorted(calls)
    p50 = ordered[len(ordered) // 2] * 1e6
    p99 = ordered[int(len(ordered) * 0.99)] * 1e6
    return f"p50 {p50:.1f} µs, p99 {p99:.1f} µs, max {ordered[-1] * 1e3:.2f} ms"


def bench_influx_down(readings: int, households: int) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    writer = InfluxHistory(f"http://127.0.0.1:{port}", bucket="hub", api="v1", max_buffer=50_000)
    calls = []
    for received_at, batch in batches(readings, 200, households):
        for household, items in batch:
            t = time.perf_counter()
            writer.write(household, items, received_at)
            calls.append(time.perf_counter() - t)
    stats = writer.stats()
    writer.close()
    print(
        f"influx  InfluxDB down: write() {sum(calls) / (5 * len(calls)) * 1e6:.2f} µs/reading,"
        f" {_spread(calls)} per call; buffered {stats['buffered']}, dropped {stats['dropped']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=200_000)
    parser.add_argument("--households", type=int, default=100)
    parser.add_argument("--rate", type=int, default=50_000, help="readings/s, flusher-thread run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)  # the writers' retry warnings are expected here
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for flush_every in (1000, 10_000):
            bench_sqlite(root / f"h{flush_every}.db", args.readings, args.households, flush_every)
        bench_compact(root / "h1000.db")
        bench_sqlite_thread(root / "thread.db", args.readings, args.households, args.rate)
        small = min(args.readings, 10_000)
        bench_unbatched(root / "single.db", small, args.households)
        bench_sqlite(root / "small.db", small, args.households, 1000)
    bench_influx_down(args.readings, args.households)


if __name__ == "__main__":
    main()
