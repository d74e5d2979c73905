"""RELIABILITY rows 10 and 11: kill -9 of the hub during QoS 1 traffic, with duplicates.

A real ``hub run --bench`` process (the production path: device profile, rule pack, offers
sink, outbox, SQLite) ingests 5,000 QoS 1 fridge messages, 30 % of them sent twice, while
the test kills it with SIGKILL at random moments 20 times and starts it again on the same
data. Every trigger must end up with exactly one offer (0 lost, 0 duplicate offers);
copies of the same offer message (same id, at-least-once delivery) are counted apart.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson

from hub.broker.supervisor import free_port, wait_for_port
from tests.conftest import Broker
from tests.mqtt_helpers import client

MESSAGES = 5000
KILLS = 20
PAYLOAD = ('{"device":"fridge-%d","household":"h%d","items":{"milk":{"qty":%.2f,"unit":"l"},'
           '"eggs":{"qty":3,"unit":"pcs"}},"door_open":false,"temp_c":4.0,"ts":%.6f,"seq":%d}')


def start_hub(broker: Broker, data: Path, client_id: str, log: Path) -> subprocess.Popen[bytes]:
    port = free_port()
    env = dict(os.environ, HUB_MQTT_URL=f"mqtt://127.0.0.1:{broker.port}", HUB_DATA_DIR=str(data),
               HUB_API_PORT=str(port), HUB_MQTT_CLIENT_ID=client_id, HUB_MQTT_CONNECT_WAIT_S="10")
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "hub.cli", "--log-level", "WARNING", "run", "--bench"],
                                env=env, stdout=subprocess.DEVNULL, stderr=out)
    wait_for_port(port, proc, timeout=30)  # the API answers once the hub is connected and running
    return proc


def test_kill_9_during_qos1_traffic_loses_and_doubles_no_offer(broker: Broker, tmp_path: Path) -> None:
    rng = random.Random(7)
    client_id = f"kill-hub-{os.getpid()}"
    log = tmp_path / "hub.log"
    triggers: set[float] = set()
    plan = []
    for seq in range(MESSAGES):
        h = seq % 50
        trigger = seq % 10 == 0
        ts = 1_000_000_000 + seq / 1000  # unique per message, so each trigger is identifiable
        if trigger:
            triggers.add(round(ts, 6))
        payload = (PAYLOAD % (h, h, 0.2 if trigger else 1.5, ts, seq)).encode()
        plan.append((f"home/h{h}/fridge-{h}/telemetry", payload))
        if rng.random() < 0.3:
            plan.append((f"home/h{h}/fridge-{h}/telemetry", payload))  # row 11: a duplicate

    with client(broker.port, client_id=f"{client_id}-sink", subscribe=[("offers/grocery/#", 1)]) as (_, sink):
        hub = start_hub(broker, tmp_path / "data", client_id, log)
        done = threading.Event()

        def publish_all() -> None:
            with client(broker.port, client_id=f"{client_id}-devices") as (devices, _):
                for i, (topic, payload) in enumerate(plan):
                    info = devices.publish(topic, payload, qos=1)
                    if i % 200 == 0:
                        info.wait_for_publish(10)
                info.wait_for_publish(30)
            done.set()

        publisher = threading.Thread(target=publish_all, name="kill-test-publisher")
        publisher.start()
        kills = 0
        try:
            while kills < KILLS:
                time.sleep(rng.uniform(0.05, 0.4))  # a random point in the traffic, not a readiness wait
                os.kill(hub.pid, signal.SIGKILL)
                hub.wait(10)
                kills += 1
                hub = start_hub(broker, tmp_path / "data", client_id, log)
            publisher.join(120)
            assert done.is_set(), "the publisher did not finish"

            def complete(messages: list[tuple[str, bytes, bool]]) -> bool:
                return {round(orjson.loads(p)["ts"], 6) for _, p, _ in messages} >= triggers

            assert sink.wait_for(complete, timeout=120), "offers missing after the kills"
        finally:
            hub.send_signal(signal.SIGTERM)
            hub.wait(10)

    offers: dict[float, set[str]] = {}
    copies = 0
    for _, payload, _ in sink.messages:
        body = orjson.loads(payload)
        ids = offers.setdefault(round(body["ts"], 6), set())
        copies += body["id"] in ids
        ids.add(body["id"])
    lost = len(triggers - offers.keys())
    duplicate_offers = sum(len(ids) - 1 for ids in offers.values())
    print(f"RELIABILITY rows 10-11: {kills} kills, {len(plan)} messages ({len(plan) - MESSAGES} duplicated), "
          f"{len(triggers)} triggers: {lost} lost, {duplicate_offers} duplicate offers, "
          f"{copies} redelivered copies of the same offer (dropped by id)")
    assert kills == KILLS
    assert lost == 0
    assert duplicate_offers == 0
