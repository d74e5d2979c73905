#!/usr/bin/env python3
"""Where the hub's CPU goes per message, from a raw py-spy capture (``bench/run.py --profile``).

Each sample's stack is put in the first stage whose marker it contains (most specific
first), and the stage's share of the active samples is turned into µs per message with the
run's measured CPU µs/msg:

    python bench/flame_breakdown.py docs/perf/hub-10000.txt --us-per-msg 25.0
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

# (stage, markers): a stack belongs to the first stage any of whose markers it contains.
STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("receive: MQTT read and parse", ("_read_ready", "data_received", "paho/mqtt/client.py:loop_read",
                                      "_packet_read", "_handle_publish", "_on_message (hub/transport")),
    ("relay: publish offers", ("OutboxRelay._dispatch", "Client.publish", "MqttTransport.publish")),
    ("publish acks: mark sent", ("_drain_acks", "OutboxRelay._on_acked", "OutboxRelay._mark", "_on_publish")),
    ("normalize (device profile)", ("Normalizer.normalize",)),
    ("twin", ("Twin.update", "Twin.register")),
    ("history sampling", ("_sample_history",)),
    ("rules: evaluate", ("RuleEngine.on_readings", "on_readings (hub/rules")),
    ("rules, offers, outbox: commit", ("RuleEngine.batch", "Database.transaction", "_flush (hub/rules",
                                       "contextlib.py:144")),
    ("pipeline loop itself", ("Pipeline._process", "Pipeline.handle_batch")),
    ("periodic jobs (twin flush, expiry)", ("Hub._repeat",)),
    ("history writer thread", ("BufferedStore",)),
    ("paho network threads (other)", ("paho/mqtt",)),
]
IDLE = ("select (selectors.py", "Condition.wait", "Event.wait", "time.sleep", "_worker (concurrent")


def breakdown(path: Path) -> tuple[collections.Counter[str], int]:
    stages: collections.Counter[str] = collections.Counter()
    active = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        leaf = stack.rsplit(";", 1)[-1]
        if any(mark in leaf for mark in IDLE):
            continue  # waiting, not working
        active += n
        for stage, markers in STAGES:
            if any(mark in stack for mark in markers):
                stages[stage] += n
                break
        else:
            stages["other (event loop, API, GC)"] += n
    return stages, active


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("raw", type=Path)
    ap.add_argument("--us-per-msg", type=float, required=True, help="the run's measured CPU µs per message")
    a = ap.parse_args()
    stages, active = breakdown(a.raw)
    print(f"| stage ({a.raw.name}) | share of active samples | µs/msg |")
    print("|---|---|---|")
    for stage, n in stages.most_common():
        print(f"| {stage} | {100 * n / active:.0f} % | {a.us_per_msg * n / active:.1f} |")


if __name__ == "__main__":
    main()
