#!/usr/bin/env python3
"""One Mosquitto bridge: forwarding rate, and what the edge's queue costs while the core is away.

Starts a core and an edge Mosquitto on 127.0.0.1 (plain loopback configurations; the edge
carries the bridge section ``hub broker bridge-config`` writes, for ``--households``
households), then:

1. forwarding: a device client publishes ``--messages`` QoS 1 messages on the edge as fast
   as the edge acknowledges them; a subscriber on the core counts them: messages/s through
   the bridge, and the CPU seconds both brokers spent per message;
2. queueing: the core is stopped (by its pid), ``--queued`` messages are published on the
   edge, the edge's RSS is read before and after (bytes per queued message), the core is
   started again and the time until every queued message arrived is taken (lost must be 0).

    .venv/bin/python bench/bench_bridge.py [--messages 20000] [--queued 50000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from hub.broker.config import render_plain_config
from hub.broker.supervisor import find_mosquitto, free_port, wait_for_port
from hub.identity.bridge import EdgeSpec, render_bridge_section

TICK = os.sysconf("SC_CLK_TCK")


class Broker:
    def __init__(self, folder: Path, name: str, conf: str, port: int) -> None:
        self.conf, self.port, self.log = folder / f"{name}.conf", port, folder / f"{name}.log"
        self.conf.write_text(conf)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([find_mosquitto(), "-c", str(self.conf)], stdout=out,
                                         stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.proc, timeout=30, log_path=self.log)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    def cpu_s(self) -> float:
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK

    def rss_mb(self) -> float:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0


class Counter:
    """A subscriber on the core counting distinct sequence numbers."""

    def __init__(self, port: int) -> None:
        self.seen: set[bytes] = set()
        self.total = 0
        self.cond = threading.Condition()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-hub",
                                  protocol=mqtt.MQTTv311, clean_session=False)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe("home/#", qos=1)
        self.client.reconnect_delay_set(0.1, 1)
        self.client.max_inflight_messages_set(1000)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, c: object, u: object, msg: mqtt.MQTTMessage) -> None:
        with self.cond:
            self.total += 1
            self.seen.add(bytes(msg.payload))
            self.cond.notify_all()

    def wait(self, n: int, timeout: float = 300) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.seen) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True


def publish(port: int, prefix: str, n: int, households: int) -> None:
    dev = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-dev-{prefix}", protocol=mqtt.MQTTv311)
    dev.max_inflight_messages_set(200)
    dev.max_queued_messages_set(0)
    dev.connect("127.0.0.1", port)
    dev.loop_start()
    info = None
    for i in range(n):
        info = dev.publish(f"home/h{i % households}/meter/power", f"{prefix}{i}".encode(), qos=1)
    if info is not None:
        info.wait_for_publish(300)
    dev.disconnect()
    dev.loop_stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--queued", type=int, default=50000)
    ap.add_argument("--households", type=int, default=50)
    a = ap.parse_args()
    if not (0 < a.messages <= 200_000 and 0 < a.queued <= 200_000 and 0 < a.households <= 2000):
        ap.error("--messages and --queued 1..200000, --households 1..2000")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cport, eport = free_port(), free_port()
        # The core persists its sessions, so the counting subscriber's survives the stop.
        core = Broker(folder, "core", render_plain_config(cport, folder / "core-data"), cport)
        spec = EdgeSpec("bench", tuple(f"h{i}" for i in range(a.households)), ("riverside",),
                        "127.0.0.1", cport, "bench-secret", max_queued=max(a.queued * 2, 1000))
        edge_conf = (render_plain_config(eport).replace("max_queued_messages 100000\n", "")
                     + f"max_queued_messages {spec.max_queued}\nqueue_qos0_messages true\n"
                     + render_bridge_section(spec))
        edge = Broker(folder, "edge", edge_conf, eport)
        core.start()
        edge.start()
        try:
            sink = Counter(cport)
            publish(eport, "warm", 1, a.households)
            if not sink.wait(1, 60):
                raise SystemExit("the bridge did not come up within 60 s")
            base = len(sink.seen)
            c0, e0, t0 = core.cpu_s(), edge.cpu_s(), time.monotonic()
            publish(eport, "f", a.messages, a.households)
            ok = sink.wait(base + a.messages)
            took = time.monotonic() - t0
            core_us = (core.cpu_s() - c0) * 1e6 / a.messages
            edge_us = (edge.cpu_s() - e0) * 1e6 / a.messages
            print(f"forwarding: {a.messages} QoS 1 messages through one bridge in {took:.2f} s:"
                  f" {a.messages / took:,.0f} msg/s (paced by the Python publisher); CPU per message:"
                  f" core {core_us:.1f} µs, edge {edge_us:.1f} µs{'' if ok else ' (INCOMPLETE)'}")
            seen_before = len(sink.seen)
            core.stop()
            rss0 = edge.rss_mb()
            t1 = time.monotonic()
            publish(eport, "q", a.queued, a.households)
            accept = time.monotonic() - t1
            rss1 = edge.rss_mb()
            print(f"queueing: core stopped; the edge accepted {a.queued} messages in {accept:.2f} s;"
                  f" edge RSS {rss0:.1f} -> {rss1:.1f} MB:"
                  f" {(rss1 - rss0) * 1024 * 1024 / a.queued:.0f} B per queued message")
            t2 = time.monotonic()
            core.start()
            ok = sink.wait(seen_before + a.queued)
            drained = time.monotonic() - t2
            lost = a.queued - sum(1 for p in sink.seen if p.startswith(b"q"))
            print(f"return: core started, every queued message arrived in {drained:.2f} s"
                  f" ({a.queued / drained:,.0f} msg/s); lost {lost},"
                  f" copies {sink.total - len(sink.seen)}{'' if ok else ' (INCOMPLETE)'}")
            sink.client.disconnect()
            sink.client.loop_stop()
        finally:
            edge.stop()
            core.stop()


if __name__ == "__main__":
    main()
