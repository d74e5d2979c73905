#!/usr/bin/env python3
"""Cost as the work grows: µs CPU per message and RSS by households registered and rules loaded.

Each point runs in a fresh process (so that its RSS is its own): the real components of
``hub run --bench`` (device profile, rule pack, twin, offers, outbox, SQLite) behind the
in-memory transport, with every household's fridge registered first (one message each, no
trigger, its writes settled), then ``--messages`` benchmark-format messages (10 % triggers)
from the kit's 1,000 publishing households, in batches of 500 (the least CPU of 3 passes);
the twin's and the history's writes they cause are flushed inside the measured time. The rule sweep loads the
benchmark's milk rule plus N - 1 rules on other items of the same metric (``stock``), as a
community's packs would: the engine's (metric, channel) index must keep a reading from
meeting the rules that cannot fire on it.

    python bench/bench_sweeps.py                   # both sweeps, a table
    python bench/bench_sweeps.py --one 100000 10   # one point, JSON (households, rules)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hub.config import REPO_ROOT, Settings
from hub.service import Hub
from hub.transport.base import InboundMessage
from hub.transport.memory import MemoryTransport

PAYLOAD = ('{"device":"fridge-%d","household":"h%d","items":{"milk":{"qty":%.2f,"unit":"l"},'
           '"eggs":{"qty":%d,"unit":"pcs"},"butter":{"qty":0.25,"unit":"kg"}},'
           '"door_open":false,"temp_c":%.1f,"ts":%.6f,"seq":%d}')
BATCH = 500
HOUSEHOLDS = (1000, 10000, 100000)
RULES = (10, 100, 1000)
ACTIVE = 1000
REPEAT = 3


def message(i: int, h: int, milk: float) -> InboundMessage:
    payload = (PAYLOAD % (h, h, milk, i % 12, 3.5 + (i % 10) * 0.1, time.time(), i)).encode()
    return InboundMessage(f"home/h{h}/fridge-{h}/telemetry", payload, 0, False, 0, time.time())


def rule_pack(folder: Path, rules: int) -> None:
    """The benchmark pack (rules/bench) plus ``rules - 1`` rules on other items."""
    text = (REPO_ROOT / "rules" / "bench" / "bench.yaml").read_text()
    extra = []
    for k in range(rules - 1):
        extra.append(
            f"  - id: item-{k}-offer\n    dedup: false\n    triggers:\n"
            f"      - {{metric: stock, channel: item{k}, below: 0.5, latch: false}}\n"
            f"    actions:\n      - kind: offer\n        key: item{k}\n"
            f"        data: {{topic: \"offers/grocery/{{{{ household }}}}\", item: item{k}}}\n"
        )
    (folder / "bench").mkdir(parents=True)
    (folder / "bench" / "bench.yaml").write_text(text.rstrip("\n") + "\n" + "".join(extra))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def settle(hub: Hub) -> None:
    """Write the twin's changes and the history's buffer now (their periodic jobs would)."""
    hub.twin.flush()
    await asyncio.to_thread(hub.history.flush)
    for _ in range(1000):  # the offers' publishes acknowledged (at most 10 s)
        if not (hub.relay.in_flight or hub.outbox.unsent_count()):
            break
        await asyncio.sleep(0.01)


async def one(households: int, rules: int, total: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        rules_dir = Path(tmp) / "rules"
        rule_pack(rules_dir, rules)
        settings = Settings(bench=True, data_dir=Path(tmp) / "data", api_port=0, mqtt_url="mqtt://127.0.0.1:1",
                            rules_dir=rules_dir)
        hub = Hub(settings, transport=MemoryTransport())
        stop = asyncio.Event()
        task = asyncio.create_task(hub.run(stop))
        await hub.ready.wait()
        warm = [message(h, h, 1.5) for h in range(households)]  # every fridge registered, nothing fires
        for i in range(0, households, BATCH):
            hub.pipeline.handle_batch(warm[i : i + BATCH])
            await asyncio.sleep(0)
        del warm
        await settle(hub)  # the registrations' own writes (twin rows, first history points) done
        # The load is the kit's (loadgen.py's 1,000 households); the registered ones are the
        # state it meets: the twin, the rules' and the normalizer's per-household maps.
        msgs = [message(i, i % ACTIVE, 0.2 if i % 10 == 0 else 0.6 + (i % 140) * 0.01) for i in range(total)]
        runs = []
        for _ in range(REPEAT):  # the least of a few: the machine may be shared
            start = time.process_time()
            for i in range(0, total, BATCH):
                hub.pipeline.handle_batch(msgs[i : i + BATCH])
                await asyncio.sleep(0)  # let the relay run, as in production
            await settle(hub)  # what these messages caused to be written belongs to their cost
            runs.append(time.process_time() - start)
        cpu = min(runs)
        devices = len(hub.twin)
        rss = rss_mb()
        stop.set()
        await task
    return {"households": households, "rules": rules, "us_per_msg": cpu * 1e6 / total, "rss_mb": rss,
            "devices": devices}


def sweep(total: int) -> list[dict[str, float]]:
    points = [(h, 10) for h in HOUSEHOLDS] + [(1000, r) for r in RULES if r != 10]
    rows = []
    for households, rules in points:
        out = subprocess.run([sys.executable, __file__, "--one", str(households), str(rules),
                              "--messages", str(total)], check=True, capture_output=True, text=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"sweep: {households} households, {rules} rules: {rows[-1]['us_per_msg']:.1f} µs/msg, "
              f"RSS {rows[-1]['rss_mb']:.0f} MB", file=sys.stderr)
    return rows


def table(rows: list[dict[str, float]]) -> str:
    """The sweep table, with each sweep's growth (largest over smallest µs/msg)."""
    lines = ["| households | rules | µs/msg (in-process) | RSS MB |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['households']:,.0f} | {r['rules']:,.0f} | {r['us_per_msg']:.1f} | {r['rss_mb']:.0f} |")
    by_h = [r["us_per_msg"] for r in rows if r["rules"] == 10]
    by_r = [r["us_per_msg"] for r in rows if r["households"] == 1000]
    lines.append("")
    lines.append(f"- growth across households {HOUSEHOLDS[0]:,}→{HOUSEHOLDS[-1]:,}: "
                 f"{max(by_h) / min(by_h):.2f} x (largest / smallest µs/msg)")
    lines.append(f"- growth across rules {RULES[0]:,}→{RULES[-1]:,}: {max(by_r) / min(by_r):.2f} x")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--one", type=int, nargs=2, metavar=("HOUSEHOLDS", "RULES"))
    ap.add_argument("--messages", type=int, default=20000)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(asyncio.run(one(a.one[0], a.one[1], a.messages))))
        return
    print(table(sweep(a.messages)))


if __name__ == "__main__":
    main()
