#!/usr/bin/env python3
"""Messages (and bytes) per household per hour from the demo's device mix.

Runs the demo's own simulator (``hub.simulator.HouseholdSimulator``, all six devices: fridge
plug, Shelly plug, DSMR P1 meter, door contact, weather sensor, pantry fridge) through one
hour at the demo device fleet's period (``hub.demo.DeviceFleet``, one round every 5 s), and
counts what the fleet would publish. No broker, no network: the count is what the demo sends.

    .venv/bin/python bench/bench_household_rate.py [--households 20] [--period 5]
"""

from __future__ import annotations

import argparse
import inspect
from datetime import UTC, datetime, timedelta

from hub.demo import DeviceFleet
from hub.simulator import HouseholdSimulator

DEMO_PERIOD = float(inspect.signature(DeviceFleet.__init__).parameters["period_s"].default)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--households", type=int, default=20)
    ap.add_argument("--period", type=float, default=DEMO_PERIOD, help="seconds between rounds")
    a = ap.parse_args()
    if not 0 < a.households <= 1000 or not 0.1 <= a.period <= 3600:
        ap.error("--households 1..1000, --period 0.1..3600")
    sims = [HouseholdSimulator(f"h{i}", seed=i) for i in range(a.households)]
    start = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    rounds = int(3600 / a.period)
    count = retained = size = 0
    per_topic: dict[str, int] = {}
    for r in range(rounds):
        now = start + timedelta(seconds=r * a.period)
        for sim in sims:
            for topic, payload, retain in sim.messages(now):
                count += 1
                retained += retain
                size += len(f"home/{sim.household}/{topic}") + len(payload)
                parts = topic.split("/")
                kind = "/".join(parts[:2]) if parts[0] == "zigbee2mqtt" else parts[0]
                if kind.startswith("shellyplusplugs-"):
                    kind = "shellyplusplugs-<id>"  # the id is the household's own plug
                per_topic[kind] = per_topic.get(kind, 0) + 1
    n = a.households
    print(f"{n} households, one round every {a.period:g} s for one hour ({rounds} rounds)")
    print(f"messages per household per hour: {count / n:.0f} ({retained / n:.0f} retained announcements)")
    print(f"bytes per household per hour (topic + payload): {size / n:,.0f}")
    print(f"mean message size: {size / count:.0f} B; msg/s per household: {count / n / 3600:.3f}")
    for kind, k in sorted(per_topic.items(), key=lambda kv: -kv[1]):
        print(f"  {kind}: {k / n:.0f} per household per hour")


if __name__ == "__main__":
    main()
