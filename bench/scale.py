#!/usr/bin/env python3
"""``make bench-scale``: the hub on SQLite and on PostgreSQL under the reference load.

Starts Mosquitto (the kit's ``mosquitto.conf``, loopback), a throwaway PostgreSQL from the
Debian package (``tests/pg_server.py``) and ``hub run --bench`` workers, drives
``../shared/bench/loadgen.py``, and prints one JSON object per line (CONTRACTS.md, "Scale"):

    {"store", "workers", "offered_per_s", "delivered_per_s", "cpu_us_per_msg", "p99_ms",
     "lost", "duplicates", "killed"}

``lost`` and ``duplicates`` count offers against the triggers sent: a sink of our own
records every offer (topic and the trigger's ``ts``) with its id, so a second offer for one
trigger is seen even when the load generator's count would hide it behind a lost one. The
same offer received twice (same id: a relay that took over resends what its predecessor
had not marked sent; consumers drop it by id, CONTRACTS.md) is not a duplicate: its count
goes to stderr as ``copies``. ``cpu_us_per_msg`` is all workers' CPU time over the messages
sent.

Rows: SQLite and PostgreSQL with one worker (as ``make bench``: QoS of ``--qos``); then the
partitioned workers on PostgreSQL (``HUB_SHARES``, the households seeded into the store,
every trigger at QoS 1 from ``bench/scale_load.py``, as loadgen's publisher stalls at QoS 1):
``--workers`` (default 1 and 2), and ``--kill`` workers (default 3) of which one is
SIGKILLed a third into the run. After the load ends, the sink waits (up to ``--settle`` s)
for offers still on their way through a handover.

    python bench/scale.py                         # all rows, 2000 msg/s, 10 s each
    python bench/scale.py --rate 1000 --seconds 5 --stores postgresql --workers 2 --kill 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import KIT, cpu_seconds, free_port, probe_offer, wait_port  # noqa: E402
from bench.scale_load import drive  # noqa: E402
from tests.pg_server import remove, start_postgres  # noqa: E402


class OfferSink:
    """Records every offer by (topic, trigger ts): the distinct offer ids, and copies of one."""

    def __init__(self, port: int) -> None:
        self.seen: dict[tuple[str, float], set[str]] = defaultdict(set)
        self.first: dict[tuple[str, float], float] = {}  # when the trigger's first offer arrived
        self.copies = 0
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"scale-sink-{os.getpid()}")
        self._c.on_message = self._on_message
        self._c.on_subscribe = lambda *_a: self._ready.set()
        self._c.on_connect = lambda c, *_a: c.subscribe("offers/grocery/#", qos=1)
        self._c.connect("127.0.0.1", port)
        self._c.loop_start()
        if not self._ready.wait(10):
            raise RuntimeError("the offer sink could not subscribe")

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        try:
            body = orjson.loads(msg.payload)
            ts, oid = float(body["ts"]), str(body.get("id", ""))
        except (ValueError, KeyError, TypeError):
            return
        with self._lock:
            ids = self.seen[(msg.topic, ts)]
            self.first.setdefault((msg.topic, ts), time.time())
            if oid in ids:
                self.copies += 1
            ids.add(oid)

    def reset(self) -> None:
        with self._lock:
            self.seen.clear()
            self.first.clear()
            self.copies = 0

    def counts(self, since: float) -> tuple[int, int]:
        """Triggers published at or after ``since`` that got an offer, and the extra offers."""
        with self._lock:
            items = [(k, len(ids)) for k, ids in self.seen.items() if k[1] >= since]
        return len(items), sum(n - 1 for _k, n in items)

    def latency(self, since: float, until: float) -> tuple[float | None, float]:
        """p99 of trigger-to-offer in ms, and offers a second, of the triggers in [since, until)."""
        with self._lock:
            lat = sorted((at - k[1]) * 1000 for k, at in self.first.items() if since <= k[1] < until)
        if not lat:
            return None, 0.0
        return lat[min(len(lat) - 1, int(len(lat) * 0.99))], len(lat) / (until - since)

    def close(self) -> None:
        self._c.loop_stop()
        self._c.disconnect()


@dataclass
class Worker:
    proc: subprocess.Popen[bytes]
    api_port: int

    def shares(self) -> set[int] | None:
        """The shares /readyz says this worker holds; None while it is not ready."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.api_port}/readyz", timeout=5) as r:
                body = json.loads(r.read())
        except (OSError, ValueError):
            return None
        return set(body.get("cluster", {}).get("shares", [])) if body.get("ready") else None


def start_worker(port: int, workdir: Path, name: str, database_url: str | None,
                 shares: int = 0) -> Worker:
    argv = [str(Path(sys.executable).parent / "hub"), "--log-level", "WARNING", "run", "--bench"]
    env = {k: v for k, v in os.environ.items() if k not in ("HUB_DATABASE_URL", "HUB_SHARES")}
    api_port = free_port()
    env.update(HUB_MQTT_URL=f"mqtt://127.0.0.1:{port}", HUB_DATA_DIR=str(workdir / name),
               HUB_API_PORT=str(api_port), PYTHONPATH=str(ROOT),
               HUB_MQTT_CLIENT_ID=f"scale-{database_url.rsplit('/', 1)[-1] if shares and database_url else name}"
                                  f"-{os.getpid()}")
    if database_url:
        env["HUB_DATABASE_URL"] = database_url
    if shares:
        env.update(HUB_SHARES=str(shares), HUB_WORKER_ID=name)
    with open(workdir / f"{name}.log", "wb") as log:
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=log)
    return Worker(proc, api_port)


def seed_households(database_url: str, households: int) -> None:
    """The partitioned workers subscribe to the households the store knows: h0 ... h<n-1>."""
    from hub.storage.postgres import PostgresDatabase

    db = PostgresDatabase(database_url, pool_size=2)
    try:
        with db.transaction() as conn:
            conn.execute("INSERT INTO communities (id, name, created_at) VALUES ('bench', 'Bench', 0)"
                         " ON CONFLICT (id) DO NOTHING")
            conn.executemany("INSERT INTO households (id, community, name, created_at) VALUES (?, 'bench', ?, 0)"
                             " ON CONFLICT (id) DO NOTHING", [(f"h{n}", f"h{n}") for n in range(households)])
    finally:
        db.close()


def wait_balanced(workers: list[Worker], shares: int, timeout: float = 90) -> None:
    """Until every share is held, each by one ready worker, and every worker has some."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        held = [w.shares() for w in workers]
        if all(held) and sorted(k for h in held for k in h or ()) == list(range(shares)):
            return
        if any(w.proc.poll() is not None for w in workers):
            raise RuntimeError("a worker exited at start (see its log)")
        time.sleep(0.2)  # polling the workers' /readyz
    raise RuntimeError("the shares did not spread over the workers")


def run_row(store: str, port: int, workdir: Path, database_url: str | None, a: argparse.Namespace,
            sink: OfferSink, *, workers: int = 1, kill: bool = False) -> dict[str, object]:
    partitioned = workers > 1 or kill or (store == "postgresql" and a.partitioned_single)
    label = f"{store}-{workers}{'-kill' if kill else ''}{'-p' if partitioned else ''}"
    qos = 1 if partitioned else a.qos
    if partitioned:
        assert database_url
        seed_households(database_url, a.households)
    procs = [start_worker(port, workdir, f"{label}-w{n}", database_url, a.shares if partitioned else 0)
             for n in range(1, workers + 1)]
    try:
        if partitioned:
            wait_balanced(procs, a.shares)
        probe_offer(port, timeout=60)
        sink.reset()
        out = workdir / f"{label}.json"
        c0 = sum(cpu_seconds(w.proc.pid) for w in procs)
        killed_cpu = 0.0

        def kill_one() -> None:
            nonlocal killed_cpu
            victim = procs[-1]
            killed_cpu = cpu_seconds(victim.proc.pid)
            victim.proc.send_signal(signal.SIGKILL)
            victim.proc.wait(30)

        if partitioned:
            # QoS 1 (a handover must lose nothing), from a publisher that reads its PUBACKs.
            res = drive(port, rate=a.rate, seconds=a.seconds, households=a.households,
                        at=(a.seconds / 3, kill_one) if kill else None)
            # Offers still on their way (through a handover) are not lost: wait for them a while.
            deadline = time.monotonic() + a.settle
            while sink.counts(res["t_meas_start"])[0] < res["expected"] and time.monotonic() < deadline:
                time.sleep(0.2)  # polling the sink's count
            res["p99_ms"], res["recv_per_s"] = sink.latency(res["t_meas_start"], res["t_meas_start"] + a.seconds)
        else:
            subprocess.run(
                [sys.executable, str(KIT / "loadgen.py"), "--port", str(port), "--rate", str(a.rate),
                 "--seconds", str(a.seconds), "--households", str(a.households), "--qos", str(qos),
                 "--json", str(out), "--label", f"scale-{label}"],
                check=True, stderr=subprocess.DEVNULL,
            )
            res = json.loads(out.read_text())
        cpu = sum(cpu_seconds(w.proc.pid) for w in procs if w.proc.poll() is None) + killed_cpu - c0
        unique, duplicates = sink.counts(res["t_meas_start"])
        print(f"[scale-{label}] qos {qos}, {res['expected']} triggers, {unique} offered, {sink.copies} copies"
              " (the same offer id again)", file=sys.stderr)
        return {
            "store": store, "workers": workers,
            "offered_per_s": round(res["sent_per_s"], 1),
            "delivered_per_s": round(res["recv_per_s"], 1),
            "cpu_us_per_msg": round(cpu * 1e6 / res["sent"], 1) if res["sent"] else None,
            "p99_ms": round(res["p99_ms"], 1) if res["p99_ms"] is not None else None,
            "lost": max(res["expected"] - unique, 0), "duplicates": duplicates, "killed": int(kill),
        }
    finally:
        for w in procs:
            if w.proc.poll() is None:
                w.proc.terminate()
        for w in procs:
            w.proc.wait(30)
        if partitioned and database_url:
            forget_sessions(port, f"scale-{database_url.rsplit('/', 1)[-1]}-{os.getpid()}", a.shares)


def forget_sessions(port: int, prefix: str, shares: int) -> None:
    """End the shares' persistent sessions: the next row's load must not queue into them."""
    for k in range(shares):
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{prefix}-share-{k}", protocol=mqtt.MQTTv5)
        c.connect("127.0.0.1", port, clean_start=True)  # session expiry 0: gone at disconnect
        c.loop_start()
        c.disconnect()
        c.loop_stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--households", type=int, default=1000)
    ap.add_argument("--qos", type=int, default=0, help="of the triggers and the sink (as make bench)")
    ap.add_argument("--stores", nargs="+", default=["sqlite", "postgresql"])
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 2],
                    help="partitioned PostgreSQL rows with this many workers (1: HUB_SHARES with one worker)")
    ap.add_argument("--kill", type=int, default=3, help="workers of the SIGKILL row (0: no such row)")
    ap.add_argument("--shares", type=int, default=16, help="HUB_SHARES of the partitioned rows")
    ap.add_argument("--settle", type=float, default=30.0, help="seconds to wait for offers after the load")
    a = ap.parse_args()
    a.partitioned_single = False
    if not (KIT / "loadgen.py").exists():
        print(f"benchmark kit not found at {KIT} (set BENCH_KIT)", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="hub-scale-"))
    port = free_port()
    conf = workdir / "mosquitto.conf"
    # The partitioned rows need the hub's own broker limits (mosquitto/mosquitto.conf): a share's
    # session queues its QoS 1 messages while it moves, and the hub keeps many in flight.
    # (QoS 0 rows do not use either.)
    conf.write_text((KIT / "mosquitto.conf").read_text() + f"\nlistener {port} 127.0.0.1\n"
                    "max_queued_messages 1000000\nmax_inflight_messages 1000\n")
    broker = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(conf)],
                              stderr=subprocess.DEVNULL)
    pg = start_postgres() if "postgresql" in a.stores else None
    try:
        wait_port(port)
        sink = OfferSink(port)
        try:
            for store in a.stores:
                url = pg.new_database(template=None) if store == "postgresql" and pg else None
                print(json.dumps(run_row(store, port, workdir, url, a, sink)), flush=True)
            if pg is not None:
                for n in a.workers:
                    a.partitioned_single = n == 1
                    row = run_row("postgresql", port, workdir, pg.new_database(template=None), a, sink, workers=n)
                    print(json.dumps(row), flush=True)
                if a.kill:
                    row = run_row("postgresql", port, workdir, pg.new_database(template=None), a, sink,
                                  workers=a.kill, kill=True)
                    print(json.dumps(row), flush=True)
        finally:
            sink.close()
    finally:
        if pg:
            pg.stop()
            remove(pg)
        broker.terminate()
        broker.wait(10)
        if not os.environ.get("SCALE_KEEP"):
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"kept {workdir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
