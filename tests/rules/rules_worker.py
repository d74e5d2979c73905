"""A hub stand-in for the kill -9 tests: a rules engine on a real SQLite file, system time.

    python rules_worker.py DB PACK wait     # feed a low reading, print WAITING <due>, idle
    python rules_worker.py DB PACK fire     # same, then run timers; print FIRED, idle
    python rules_worker.py DB PACK resume   # start, run timers until none is pending; DONE

Actions go to ``rules_action_log`` through DatabaseSink, in the engine's transaction.
"""

from __future__ import annotations

import sys
import threading
import time

from hub.clock import SystemClock
from hub.events import Reading
from hub.rules.actions import DatabaseSink
from hub.rules.engine import RuleEngine
from tests.stores import open_location


def main(db_path: str, pack: str, mode: str) -> int:
    db = open_location(db_path)
    clock = SystemClock()
    engine = RuleEngine(db, clock, DatabaseSink(db))
    result = engine.reload([pack])
    if not result.ok:
        print("ERROR", [str(e) for e in result.errors], flush=True)
        return 2
    if mode in {"wait", "fire"}:
        engine.on_readings(
            "h-ana", [Reading(device="fridge-1", metric="stock", channel="milk", value=0.1)]
        )
        due = engine.next_due()
        assert due is not None
        print("WAITING", due.timestamp(), flush=True)
        if mode == "wait":
            threading.Event().wait()  # idle until killed
    while True:
        due = engine.next_due()
        if due is None:
            break
        time.sleep(max(0.0, due.timestamp() - clock.timestamp()))
        engine.tick(clock.now())
    print("FIRED" if mode == "fire" else "DONE", flush=True)
    if mode == "fire":
        threading.Event().wait()  # idle until killed
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
