"""RELIABILITY row 32: ``kill -9`` of ``hub demo`` and of ``hub run`` under HTTP and MQTT load.

The demo's simulated households publish over MQTT the whole time while the test creates
gatherings through the API; the process is killed with SIGKILL twice and started again on
the same store (``hub demo --no-fresh``). Every acknowledged write must be there once, the
restart must succeed with the same accounts and logins (nothing provisioned twice), and the
broker must still let the households' devices in (their MQTT messages keep arriving).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

import httpx

from tests.reliability.ops_support import Writer, login, start_demo, wait_until

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
