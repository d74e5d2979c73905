"""Real partitioned workers for the scale-out tests: ``hub run --bench`` processes on one
Mosquitto and one PostgreSQL, a collector of the offers, and the households they share."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from hub.broker.supervisor import free_port, wait_for_port
from hub.config import REPO_ROOT

TIMER_PACK = """\
# A durable timer for the scale-out test: a fridge warmer than 30 °C for FOR_S seconds.
pack: timer
rules:
  - id: warm-fridge
    triggers:
      - {metric: temperature, above: 30, clear_below: 10, for: FOR_Ss}
    actions:
      - kind: offer
        key: warm
        data:
          topic: "offers/timer/{{ household }}"
          ts: "{{ reading.ts }}"
          household: "{{ household }}"
"""


def rules_dir(tmp: Path, for_s: int) -> Path:
    """A rules folder whose bench/ pack is the benchmark's, plus the timer rule."""
    folder = tmp / "rules" / "bench"
    folder.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "rules" / "bench" / "bench.yaml", folder / "bench.yaml")
    (folder / "timer.yaml").write_text(TIMER_PACK.replace("FOR_S", str(for_s)))
    return tmp / "rules"


def seed_households(db: Any, households: list[str]) -> None:
    """Provision the households (the shares subscribe to the households the store knows)."""
    with db.transaction() as conn:
        conn.execute("INSERT INTO communities (id, name, created_at) VALUES ('scale', 'Scale', 0)"
                     " ON CONFLICT (id) DO NOTHING")
        conn.executemany("INSERT INTO households (id, community, name, created_at) VALUES (?, 'scale', ?, 0)"
                         " ON CONFLICT (id) DO NOTHING", [(h, h) for h in households])


@dataclass
class Worker:
    """One ``hub run --bench`` worker."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def readyz(self) -> dict[str, Any]:
        try:
            return dict(httpx.get(f"{self.api}/readyz", timeout=10).json())
        except (httpx.HTTPError, ValueError):
            return {}

    def shares(self) -> set[int]:
        cluster = self.readyz().get("cluster") or {}
        return set(cluster.get("shares", []))

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return int(self.proc.returncode)


def start_worker(name: str, tmp: Path, env: dict[str, str]) -> Worker:
    """Start a worker; return once its API answers."""
    port = free_port()
    log = tmp / f"{name}.log"
    full = {**os.environ, **env, "HUB_API_PORT": str(port), "HUB_WORKER_ID": name,
            "HUB_DATA_DIR": str(tmp / name)}
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "hub.cli", "--log-level", "INFO", "run", "--bench"],
                                env=full, stdout=out, stderr=subprocess.STDOUT)
    wait_for_port(port, proc, timeout=60, log_path=log)
    return Worker(name, proc, port, log)


def run_hub(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a ``hub`` command to its end."""
    return subprocess.run([sys.executable, "-m", "hub.cli", "--log-level", "WARNING", *args],
                          env=dict(os.environ, **env), capture_output=True, text=True, timeout=timeout)


def trigger(household: str, ts: float, *, milk: float = 0.2, temp: float = 4.0) -> bytes:
    """A bench fridge message; milk under 0.5 is a trigger (one offer carrying ``ts``)."""
    return json.dumps({"items": {"milk": {"qty": milk, "unit": "l"}}, "door_open": False,
                       "temp_c": temp, "ts": ts}).encode()


@dataclass
class Offers:
    """Every offer seen on the broker: by (topic, trigger ts), the distinct offer ids and copies."""

    port: int
    ids: dict[tuple[str, float], set[str]] = field(default_factory=lambda: defaultdict(set))
    copies: int = 0

    def __post_init__(self) -> None:
        self._cond = threading.Condition()
        self._c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"scaleout-offers-{os.getpid()}")
        self._c.on_message = self._on_message
        subscribed = threading.Event()
        self._c.on_subscribe = lambda *_a: subscribed.set()
        self._c.on_connect = lambda c, *_a: c.subscribe("offers/#", qos=1)
        self._c.connect("127.0.0.1", self.port)
        self._c.loop_start()
        assert subscribed.wait(10), "the offer collector could not subscribe"

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        body = json.loads(msg.payload)
        key = (msg.topic, float(body["ts"]))
        with self._cond:
            if body["id"] in self.ids[key]:
                self.copies += 1  # the same offer again (a relay handover resends): consumers drop it by id
            self.ids[key].add(body["id"])
            self._cond.notify_all()

    def count(self, topic_prefix: str = "offers/") -> int:
        with self._cond:
            return sum(1 for (topic, _ts) in self.ids if topic.startswith(topic_prefix))

    def wait_for(self, predicate: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def close(self) -> None:
        self._c.loop_stop()
        self._c.disconnect()
