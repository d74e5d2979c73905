"""Figures for OffersSink.submit on the benchmark path (not a test: prints, never asserts).

    PYTHONPATH=. python tests/offers/bench_offers_sink.py [--offers 4000]

Writes ``offer`` actions like the benchmark rule pack's into a fresh SQLite file (WAL,
synchronous=NORMAL) in batches of 1, 10, 100 and 500, and prints offers per second and CPU
microseconds per offer. Belongs in ``bench/`` once merged.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.clock import SystemClock
from hub.offers.service import OffersService
from hub.storage.database import Database
from hub.storage.outbox import Outbox


@dataclass(frozen=True, slots=True)
class BenchAction:
    kind: str
    household: str
    rule_id: str
    pack: str
    key: str
    title: str = ""
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=4000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "bench.db")
        svc = OffersService(db, Outbox(db), SystemClock())
        base = time.time()
        for batch in (1, 10, 100, 500):
            acts = [BenchAction("offer", f"h{i % 500}", "bench-low", "bench", f"low:{i}",
                                data={"topic": f"offers/grocery/h{i % 500}", "ts": base + i,
                                      "items": {"milk": {"qty": 0.4, "unit": "l"}}})
                    for i in range(args.offers)]
            wall0, cpu0 = time.perf_counter(), time.process_time()
            for j in range(0, len(acts), batch):
                svc.sink.submit(acts[j:j + batch])
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            print(f"batch {batch:4d}: {len(acts) / wall:8.0f} offers/s,"
                  f" {cpu / len(acts) * 1e6:6.1f} us CPU per offer")
            db.execute("DELETE FROM outbox")
            db.execute("DELETE FROM offers")
        svc.close()
        db.close()


if __name__ == "__main__":
    main()
