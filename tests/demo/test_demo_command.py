"""``hub demo`` as a user runs it: up on loopback, devices flowing, the story's offer on MQTT."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from hub.broker.supervisor import free_port, wait_for_port


def test_demo_comes_up_plays_the_story_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        demo = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "demo", "--port", str(port), "--speed", "600"],
            cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ),
        )
    try:
        wait_for_port(port, demo, timeout=60)
        credentials_file = tmp_path / "var" / "demo" / "credentials.json"
        deadline = time.monotonic() + 30
        while not credentials_file.exists():  # written once provisioning is done
            assert demo.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "no credentials file"
            time.sleep(0.1)
        credentials = json.loads(credentials_file.read_text())
        assert credentials["api"] == f"http://127.0.0.1:{port}"
        assert len(credentials["households"]) == 20
        assert {"fresh-grocer", "river-bistro", "gas-utility"} <= set(credentials["providers"])
        assert httpx.get(f"{credentials['api']}/healthz").json() == {"status": "ok"}
        # The story's grocery request: Ana's pantry low for 30 story minutes, then her pick.
        # The player itself waits for it on fresh-grocer's MQTT feed (the login is pinned to
        # one client id, so the test reads the player's report instead of competing for it).
        deadline = time.monotonic() + 90
        while "grocer-claims" not in log.read_text(errors="replace"):
            assert demo.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        picked = next(line for line in log.read_text(errors="replace").splitlines() if "ana-picks-slot:" in line)
        assert "feed_topic=providers/fresh-grocer/feed/" in picked
        grocer = credentials["providers"]["fresh-grocer"]
        token = httpx.post(f"{credentials['api']}/auth/login",
                           json={"username": grocer["username"], "password": grocer["password"]}).json()["access_token"]
        # Claimed by now: the request is on fresh-grocer's schedule, with what Ana shares.
        feed = httpx.get(f"{credentials['api']}/provider/schedule", headers={"Authorization": f"Bearer {token}"}).json()
        items = {item["name"] for entry in feed["items"] for item in entry.get("items", [])}
        assert {"milk", "eggs"} <= items, feed
        metrics = httpx.get(f"{credentials['api']}/metrics").text
        messages_in = float(next(line.split()[1] for line in metrics.splitlines()
                                 if line.startswith("hub_messages_in_total")))
        assert messages_in > 50, "the simulated households' devices are publishing"
    finally:
        demo.send_signal(signal.SIGINT)
        started = time.monotonic()
        demo.wait(10)
        stopped_in = time.monotonic() - started
    assert demo.returncode == 0, log.read_text()[-3000:]
    assert stopped_in < 5
    left = subprocess.run(["pgrep", "-f", str(tmp_path / "var" / "demo")], capture_output=True, text=True)
    assert left.stdout.strip() == "", "a mosquitto of the demo was left running"
