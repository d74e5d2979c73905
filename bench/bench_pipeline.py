#!/usr/bin/env python3
"""CPU cost of the ingest pipeline in-process (no broker): µs per message by batch size.

Feeds benchmark-format fridge messages (10 % triggers) through the real hub components of
``hub run --bench`` (device profile, rule pack, offers sink, outbox, SQLite) and reports the
CPU time per message for batches of 1, 10, 100 and 1000 messages.

    .venv/bin/python bench/bench_pipeline.py [--messages 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from hub.config import Settings
from hub.service import Hub
from hub.transport.base import InboundMessage
from hub.transport.memory import MemoryTransport

PAYLOAD = ('{"device":"fridge-%d","household":"h%d","items":{"milk":{"qty":%.2f,"unit":"l"},'
           '"eggs":{"qty":%d,"unit":"pcs"},"butter":{"qty":0.25,"unit":"kg"}},'
           '"door_open":false,"temp_c":%.1f,"ts":%.6f,"seq":%d}')


def messages(n: int, households: int = 1000) -> list[InboundMessage]:
    out = []
    for i in range(n):
        h = i % households
        milk = 0.2 if i % 10 == 0 else 0.6 + (i % 140) * 0.01
        payload = (PAYLOAD % (h, h, milk, i % 12, 3.5 + (i % 10) * 0.1, time.time(), i)).encode()
        out.append(InboundMessage(f"home/h{h}/fridge-{h}/telemetry", payload, 0, False, 0, 0.0))
    return out


async def measure(batch: int, total: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(bench=True, data_dir=Path(tmp), api_port=0, mqtt_url="mqtt://127.0.0.1:1")
        hub = Hub(settings, transport=MemoryTransport())
        stop = asyncio.Event()
        task = asyncio.create_task(hub.run(stop))
        await hub.ready.wait()
        msgs = messages(total)
        start = time.process_time()
        for i in range(0, total, batch):
            hub.pipeline.handle_batch(msgs[i : i + batch])
            await asyncio.sleep(0)  # let the relay run, as in production
        cpu = time.process_time() - start
        offers = hub.relay.sent
        stop.set()
        await task
    return cpu * 1e6 / total, offers


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=20000)
    a = ap.parse_args()
    print("| batch | µs CPU per message | offers published |")
    print("|---|---|---|")
    for batch in (1, 10, 100, 1000):
        us, offers = asyncio.run(measure(batch, a.messages if batch > 1 else a.messages // 4))
        print(f"| {batch} | {us:.1f} | {offers} |")


if __name__ == "__main__":
    main()
