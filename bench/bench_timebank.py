"""Figures for the time bank (not a test: prints, never asserts).

    PYTHONPATH=. python bench/bench_timebank.py [--transfers 2000]

Records and confirms ``--transfers`` transfers among the story's 20 households on a fresh
SQLite file (WAL, synchronous=NORMAL), then verifies the whole ledger as ``hub ledger
verify`` does, and prints one JSON object: confirmed transfers per second, CPU
microseconds per record+confirm, and ledger entries verified per second.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from hub.clock import SystemClock
from hub.ledger import TimeBank
from hub.ledger.verify import verify_store
from hub.offers.consent import AllowAll
from hub.offers.context import Context
from hub.offers.seed import HOUSEHOLDS, seed_story
from hub.offers.uow import UnitOfWork
from hub.storage.database import Database
from hub.storage.outbox import Outbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(16)
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "hub.sqlite3")
        clock = SystemClock()
        seed_story(db, clock)
        tb = TimeBank(Context(uow=UnitOfWork(db, Outbox(db), clock), consent=AllowAll()))
        people = [h[0] for h in HOUSEHOLDS]
        wall, cpu = time.perf_counter(), time.process_time()
        done = 0
        for _ in range(args.transfers):
            payer, helper = rng.sample(people, 2)
            try:
                t = tb.record(payer, helper, str(rng.randint(25, 300) / 100), "", "bench")
                tb.confirm(helper, t["id"], "bench")
                done += 1
            except Exception:
                continue
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        v0 = time.perf_counter()
        report = verify_store(db)
        verify_s = time.perf_counter() - v0
        print(json.dumps({
            "transfers": done, "confirmed_per_s": round(done / wall, 1),
            "cpu_us_per_transfer": round(cpu / max(done, 1) * 1e6, 1),
            "entries_verified": report.ledger.count,
            "verified_per_s": round(report.ledger.count / verify_s, 1), "ok": report.ok}))
        db.close()


if __name__ == "__main__":
    main()
