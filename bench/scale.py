#!/usr/bin/env python3
"""``make bench-scale``: the hub on SQLite and on PostgreSQL under the reference load.

Starts Mosquitto (the kit's ``mosquitto.conf``, loopback), a throwaway PostgreSQL from the
Debian package (``tests/pg_server.py``) and ``hub run --bench`` workers, drives
``../shared/bench/loadgen.py``, and prints one JSON object per line (CONTRACTS.md, "Scale"):

    {"store", "workers", "offered_per_s", "delivered_per_s", "cpu_us_per_msg", "p99_ms",
     "lost", "duplicates", "killed"}

``lost`` and ``duplicates`` count offers against the triggers sent: a sink of our own
records every offer (topic and the trigger's ``ts``), so a repeated offer is seen even when
the load generator's count would hide it behind a lost one. ``cpu_us_per_msg`` is the
workers' CPU time over the messages sent.

    python bench/scale.py                         # sqlite and postgresql, 1 worker, 2000 msg/s
    python bench/scale.py --rate 1000 --seconds 5 --stores postgresql
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import KIT, cpu_seconds, free_port, probe_offer, wait_port  # noqa: E402
from tests.pg_server import remove, start_postgres  # noqa: E402


class OfferSink:
    """Counts every offer by (topic, trigger ts): uniques and repeats."""

    def __init__(self, port: int) -> None:
        self.seen: Counter[tuple[str, float]] = Counter()
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
            ts = float(orjson.loads(msg.payload)["ts"])
        except (ValueError, KeyError, TypeError):
            return
        with self._lock:
            self.seen[(msg.topic, ts)] += 1

    def reset(self) -> None:
        with self._lock:
            self.seen.clear()

    def counts(self, since: float) -> tuple[int, int]:
        """Unique offers for triggers published at or after ``since``, and the repeats."""
        with self._lock:
            items = [(k, n) for k, n in self.seen.items() if k[1] >= since]
        return len(items), sum(n - 1 for _k, n in items)

    def close(self) -> None:
        self._c.loop_stop()
        self._c.disconnect()


def start_worker(port: int, workdir: Path, name: str, database_url: str | None) -> subprocess.Popen[bytes]:
    argv = [str(Path(sys.executable).parent / "hub"), "--log-level", "WARNING", "run", "--bench"]
    env = {k: v for k, v in os.environ.items() if k != "HUB_DATABASE_URL"}
    env.update(HUB_MQTT_URL=f"mqtt://127.0.0.1:{port}", HUB_DATA_DIR=str(workdir / name),
               HUB_API_PORT=str(free_port()), HUB_MQTT_CLIENT_ID=f"scale-{name}-{os.getpid()}",
               PYTHONPATH=str(ROOT))
    if database_url:
        env["HUB_DATABASE_URL"] = database_url
    with open(workdir / f"{name}.log", "wb") as log:
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=log)
    probe_offer(port, timeout=60)
    return proc


def run_row(store: str, port: int, workdir: Path, database_url: str | None, a: argparse.Namespace,
            sink: OfferSink) -> dict[str, object]:
    proc = start_worker(port, workdir, f"{store}-1", database_url)
    try:
        sink.reset()
        out = workdir / f"{store}.json"
        c0 = cpu_seconds(proc.pid)
        subprocess.run(
            [sys.executable, str(KIT / "loadgen.py"), "--port", str(port), "--rate", str(a.rate),
             "--seconds", str(a.seconds), "--households", str(a.households), "--qos", str(a.qos),
             "--json", str(out), "--label", f"scale-{store}"],
            check=True, stderr=subprocess.DEVNULL,
        )
        cpu = cpu_seconds(proc.pid) - c0
        res = json.loads(out.read_text())
        unique, duplicates = sink.counts(res["t_meas_start"])
        return {
            "store": store, "workers": 1,
            "offered_per_s": round(res["sent_per_s"], 1),
            "delivered_per_s": round(res["recv_per_s"], 1),
            "cpu_us_per_msg": round(cpu * 1e6 / res["sent"], 1) if res["sent"] else None,
            "p99_ms": round(res["p99_ms"], 1) if res["p99_ms"] is not None else None,
            "lost": max(res["expected"] - unique, 0), "duplicates": duplicates, "killed": 0,
        }
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--households", type=int, default=1000)
    ap.add_argument("--qos", type=int, default=0, help="of the triggers and the sink (as make bench)")
    ap.add_argument("--stores", nargs="+", default=["sqlite", "postgresql"])
    a = ap.parse_args()
    if not (KIT / "loadgen.py").exists():
        print(f"benchmark kit not found at {KIT} (set BENCH_KIT)", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="hub-scale-"))
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text((KIT / "mosquitto.conf").read_text() + f"\nlistener {port} 127.0.0.1\n")
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
