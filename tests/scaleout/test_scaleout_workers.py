"""Partitioned hub workers (issue 14): three real ``hub run`` processes on one Mosquitto and one
PostgreSQL share the households; one is killed with SIGKILL in the middle of the traffic.

On SQLite the hub is one worker: there the test proves the refusals (HUB_SHARES without
PostgreSQL; a second worker on the same SQLite store), each one clear line and exit 2.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from hub.cluster import share_of
from tests import stores
from tests.conftest import Broker
from tests.reliability.ops_support import wait_until
from tests.scaleout.support import Offers, rules_dir, run_hub, seed_households, start_worker, trigger

SHARES = 8
HOUSEHOLDS = [f"so{n:03d}" for n in range(48)]
TIMER_HOUSEHOLD = "so-timer"  # its fridge gets no other message: nothing clears the timer
PER_BATCH = 144  # triggers before the kill and as many after: three per household each time
TIMER_FOR_S = 15  # the timer comes due after the kill, so a survivor must fire it


def _publisher(port: int) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"scaleout-pub-{os.getpid()}")
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def _publish(c: mqtt.Client, household: str, payload: bytes) -> None:
    info = c.publish(f"home/{household}/fridge-1/telemetry", payload, qos=1)
    info.wait_for_publish(30)
    assert info.is_published()


def test_three_workers_share_the_households_and_survive_a_sigkill(broker: Broker, tmp_path: Path) -> None:
    if not stores.on_postgresql():
        _sqlite_is_one_worker(broker, tmp_path)
        return
    url = os.environ["HUB_DATABASE_URL"]
    db = stores.open_location(url)
    seed_households(db, [*HOUSEHOLDS, TIMER_HOUSEHOLD])
    prefix = f"so{os.getpid()}"
    env = {"HUB_MQTT_URL": f"mqtt://127.0.0.1:{broker.port}", "HUB_SHARES": str(SHARES),
           "HUB_MQTT_CLIENT_ID": prefix, "HUB_RULES_DIR": str(rules_dir(tmp_path, TIMER_FOR_S))}
    offers = Offers(broker.port)
    pub = _publisher(broker.port)
    workers = [start_worker(f"w{n}", tmp_path, env) for n in (1, 2, 3)]
    try:
        def balanced() -> bool:
            held = [w.shares() for w in workers]
            return (sorted(k for h in held for k in h) == list(range(SHARES))
                    and all(held) and all(w.readyz().get("ready") for w in workers))

        wait_until(balanced, 90, "the 8 shares spread over the 3 workers", workers[0].proc, workers[0].log)
        status = run_hub(["status", "--json"], env)
        assert status.returncode == 0, status.stderr

        # The durable timer: a warm fridge in a household of the worker about to be killed.
        victim_household = TIMER_HOUSEHOLD
        victim = next(w for w in workers if share_of(victim_household, SHARES) in w.shares())
        survivors = [w for w in workers if w is not victim]
        timer_ts = round(time.time(), 6)
        _publish(pub, victim_household, trigger(victim_household, timer_ts, milk=2.0, temp=40.0))
        wait_until(lambda: db.query_one("SELECT due_at FROM rules_state WHERE rule = 'timer/warm-fridge'"
                                        " AND household = ?", (victim_household,)) is not None,
                   60, "the timer's row (committed by the victim)", victim.proc, victim.log)

        # Triggers for every household; the victim dies while they are being handled.
        sent: set[tuple[str, float]] = set()
        base = time.time()
        for n in range(PER_BATCH):
            h = HOUSEHOLDS[n % len(HOUSEHOLDS)]
            ts = round(base + n / 1000, 6)
            sent.add((f"offers/grocery/{h}", ts))
            _publish(pub, h, trigger(h, ts))
        assert offers.wait_for(lambda: offers.count("offers/grocery/") >= PER_BATCH // 3, 60), "no offers"
        victim.kill9()
        killed_at, killed_wall = time.monotonic(), time.time()
        for n in range(PER_BATCH, 2 * PER_BATCH):
            h = HOUSEHOLDS[n % len(HOUSEHOLDS)]
            ts = round(base + n / 1000, 6)
            sent.add((f"offers/grocery/{h}", ts))
            _publish(pub, h, trigger(h, ts))

        wait_until(lambda: sorted(k for w in survivors for k in w.shares()) == list(range(SHARES)),
                   30, "the victim's shares on the survivors", survivors[0].proc, survivors[0].log)
        moved_in = time.monotonic() - killed_at
        assert moved_in < 10, f"the shares took {moved_in:.1f} s to move"

        timer_topic = f"offers/timer/{victim_household}"
        assert offers.wait_for(lambda: offers.count("offers/grocery/") >= len(sent)
                               and offers.count(timer_topic) >= 1, 120), (
            f"{len(sent) - offers.count('offers/grocery/')} offers missing; timer offers: {offers.count(timer_topic)}")
        # Everything committed is published: no resend of an old offer can still come.
        wait_until(lambda: db.query_one("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")[0] == 0,
                   60, "the outbox to drain", survivors[0].proc)

        seen = dict(offers.ids)
        grocery = {k: v for k, v in seen.items() if k[0].startswith("offers/grocery/")}
        assert set(grocery) == sent  # 0 lost, and no offer for a trigger never sent
        assert [k for k, ids in grocery.items() if len(ids) != 1] == []  # 0 doubled
        timer = {k: v for k, v in seen.items() if k[0] == timer_topic}
        assert list(timer) == [(timer_topic, timer_ts)]
        assert len(timer[(timer_topic, timer_ts)]) == 1
        row = db.query_one("SELECT due_at, fired FROM rules_state WHERE rule = 'timer/warm-fridge'"
                           " AND household = ?", (victim_household,))
        assert row is not None
        assert row["fired"] == 1
        # It came due after the kill: a survivor fired it, once.
        assert row["due_at"] > killed_wall, "the timer came due before the kill: raise TIMER_FOR_S"
        assert db.query_one("SELECT COUNT(*) FROM offers WHERE household = ?", (victim_household,))[0] == 1
        # The store holds one offer per trigger too (the offers' ids dedupe a replayed message).
        assert db.query_one("SELECT COUNT(*) FROM offers WHERE household <> ?", (victim_household,))[0] == len(sent)

        status = run_hub(["status", "--json"], env)
        assert status.returncode == 0, status.stderr
        view = json.loads(status.stdout)
        assert {w["id"] for w in view["workers"]} == {w.name for w in survivors}
        assert sorted(k for ks in view["held"].values() for k in ks) == list(range(SHARES))
        assert set(view["held"]) == {w.name for w in survivors}
        # The API answers the same on every worker.
        bodies = [w.readyz() for w in survivors]
        assert all(b["ready"] and b["checks"]["shares"] for b in bodies)
        print(f"scale-out: shares moved in {moved_in:.1f} s; {len(sent)} triggers, {len(grocery)} offers,"
              f" 0 lost, 0 doubled, {offers.copies} resent copies; timer fired once")
    finally:
        pub.loop_stop()
        pub.disconnect()
        offers.close()
        codes = [w.stop() for w in workers if w.proc.poll() is None]
        db.close()
    assert codes == [0, 0], [w.log.read_text(errors="replace")[-2000:] for w in workers]


def _sqlite_is_one_worker(broker: Broker, tmp_path: Path) -> None:
    env = {"HUB_MQTT_URL": f"mqtt://127.0.0.1:{broker.port}", "HUB_DATA_DIR": str(tmp_path / "one"),
           "HUB_MQTT_CLIENT_ID": f"so-sqlite-{os.getpid()}"}
    refused = run_hub(["run", "--bench"], {**env, "HUB_SHARES": str(SHARES)})
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "hub: HUB_SHARES needs PostgreSQL (HUB_DATABASE_URL=postgresql://...): on SQLite the hub runs as one worker"]
    first = start_worker("one", tmp_path, env)  # its data directory: tmp_path / "one"
    try:
        wait_until(lambda: first.readyz().get("ready") is True, 60, "the first worker", first.proc, first.log)
        second = run_hub(["run", "--bench"], {**env, "HUB_DATA_DIR": str(tmp_path / "one"),
                                              "HUB_MQTT_CLIENT_ID": f"so-sqlite2-{os.getpid()}"})
        assert second.returncode == 2
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert "SQLite serves one worker" in lines[0]
        assert first.readyz().get("ready") is True  # the first one runs on, untouched
    finally:
        code = first.stop()
    assert code == 0
