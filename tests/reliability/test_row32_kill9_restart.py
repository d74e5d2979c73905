"""RELIABILITY row 32: ``kill -9`` of ``hub demo`` and of ``hub run`` under HTTP and MQTT load.

The demo's simulated households publish over MQTT the whole time while the test creates
gatherings through the API; the process is killed with SIGKILL twice and started again on
the same store (``hub demo --no-fresh``). Every acknowledged write must be there once, the
restart must succeed with the same accounts and logins (nothing provisioned twice), and the
broker must still let the households' devices in (their MQTT messages keep arriving).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import Counter
from pathlib import Path

import httpx

from tests.conftest import Broker
from tests.mqtt_helpers import client
from tests.reliability.ops_support import Writer, login, make_household, start_demo, start_hub_run, wait_until

KILLS = 2


def messages_in(api: str) -> float:
    metrics = httpx.get(f"{api}/metrics", timeout=30).text
    return float(next(line.split()[1] for line in metrics.splitlines() if line.startswith("hub_messages_in_total")))


def test_row32_kill9_of_hub_demo_under_load_then_no_fresh_resumes(tmp_path: Path) -> None:
    demo = start_demo(tmp_path)
    first = demo.credentials()
    acked: dict[str, float] = {}
    try:
        for kill in range(KILLS):
            ben = demo.credentials()["households"]["h-ben"]
            writer = Writer(demo.api, login(demo.api, ben["username"], ben["password"]), rate=50).start()
            target = 50 * (kill + 1)
            wait_until(lambda w=writer, t=target: w.count() >= t or bool(w.refused), 120, "writes", demo.proc)
            assert writer.refused == {}, writer.bodies
            wait_until(lambda d=demo: messages_in(d.api) > 0, 120, "MQTT messages from the devices", demo.proc)
            demo.kill9()  # in the middle of the writes and of the devices' traffic
            writer.stop()
            acked.update(writer.acked)
            demo = start_demo(tmp_path, fresh=False, port=demo.port)
            again = demo.credentials()
            # Same accounts and the same secrets: nothing was provisioned a second time.
            assert again["admin"] == first["admin"]
            assert again["households"] == first["households"]
            assert again["providers"] == first["providers"]
            assert login(demo.api, ben["username"], ben["password"])
            # The broker kept its logins: the devices' messages arrive after the restart.
            wait_until(lambda d=demo: messages_in(d.api) > 0, 120, "MQTT messages after the restart", demo.proc)
        assert demo.proc.poll() is None
    finally:
        code = demo.stop()
    assert code == 0, demo.log.read_text(errors="replace")[-3000:]
    log = demo.log.read_text(errors="replace")
    assert "AccountExists" not in log
    assert log.count("Resumed the demo on its existing store") == KILLS

    with sqlite3.connect(demo.data_dir / "hub.sqlite3") as db:
        rows = db.execute("SELECT id, title FROM gatherings WHERE host = 'h-ben' AND title LIKE 'write %'").fetchall()
        accounts = db.execute("SELECT username FROM accounts GROUP BY username HAVING count(*) > 1").fetchall()
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    ids = {r[0] for r in rows}
    titles = Counter(r[1] for r in rows)
    lost = set(acked) - ids
    doubled = [t for t, n in titles.items() if n > 1]
    print(f"RELIABILITY row 32 (demo): {KILLS} kills, {len(acked)} acknowledged writes, {len(lost)} lost, "
          f"{len(doubled)} duplicated, 0 failed restarts")
    assert len(acked) >= 50 * KILLS
    assert lost == set()
    assert doubled == []
    assert accounts == []


def test_row32_kill9_of_hub_run_under_http_and_mqtt_load_then_restart(broker: Broker, tmp_path: Path) -> None:
    data, log = tmp_path / "data", tmp_path / "hub.log"
    client_id = f"row32-{os.getpid()}"
    hub = start_hub_run(broker.port, data, log, client_id=client_id)
    username = make_household(hub.api, "h-kill", "h-kill-password")
    acked: dict[str, float] = {}
    published = threading.Event()
    stop_mqtt = threading.Event()

    def mqtt_load() -> None:  # a device reporting the whole time, through every kill
        with client(broker.port, client_id=f"{client_id}-device") as (device, _):
            n = 0
            while not stop_mqtt.is_set():
                n += 1
                device.publish("home/h-kill/meter-1/telemetry", b'{"power_w": %d}' % n, qos=1)
                published.set()
                stop_mqtt.wait(0.02)

    load = threading.Thread(target=mqtt_load, name="row32-mqtt")
    load.start()
    try:
        for kill in range(KILLS):
            writer = Writer(hub.api, login(hub.api, username, "h-kill-password"), rate=50).start()
            wait_until(lambda w=writer: w.count() >= 50 or bool(w.refused), 120, "writes", hub.proc)
            assert published.is_set()
            hub.kill9()
            writer.stop()
            assert writer.refused == {}, writer.bodies
            acked.update(writer.acked)
            hub = start_hub_run(broker.port, data, log, client_id=client_id)
            assert login(hub.api, username, "h-kill-password"), f"restart {kill + 1}: the login is gone"
        wait_until(lambda: messages_in(hub.api) > 0, 120, "MQTT messages after the last restart", hub.proc)
    finally:
        stop_mqtt.set()
        load.join(30)
        code = hub.stop()
    assert code == 0, log.read_text(errors="replace")[-3000:]
    with sqlite3.connect(data / "hub.sqlite3") as db:
        rows = db.execute("SELECT id, title FROM gatherings WHERE host = 'h-kill'").fetchall()
        admins = db.execute("SELECT count(*) FROM accounts WHERE role = 'admin'").fetchone()[0]
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    ids = {r[0] for r in rows}
    doubled = [t for t, n in Counter(r[1] for r in rows).items() if n > 1]
    lost = set(acked) - ids
    print(f"RELIABILITY row 32 (hub run): {KILLS} kills, {len(acked)} acknowledged writes, {len(lost)} lost, "
          f"{len(doubled)} duplicated, 0 failed restarts")
    assert len(acked) >= 50 * KILLS
    assert lost == set()
    assert doubled == []
    assert admins == 1  # the first admin is created once, not at every start
