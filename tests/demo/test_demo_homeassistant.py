"""``hub demo`` and Home Assistant, as CONTRACTS.md says: every household's HA, logged in with
that household's gateway login (client id = username), sees its own discovery configs and
no one else's, stays connected, and a button press answers a suggestion end to end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

from hub.broker.supervisor import free_port, wait_for_port
from tests.mqtt_helpers import Collector, client


def _configs(seen: Collector, household: str) -> dict[str, dict]:
    return {t: json.loads(p) for t, p, _ in seen.messages
            if t.startswith(f"home/{household}/homeassistant/") and t.endswith("/config") and p}


def _last(seen: Collector, topic: str) -> bytes | None:
    found = [p for t, p, _ in seen.messages if t == topic]
    return found[-1] if found else None


def _wait(predicate, what: str, demo: subprocess.Popen[bytes], log: Path, within: float = 90) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not predicate():
        assert demo.poll() is None, log.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_every_demo_household_gets_its_entities_and_a_press_answers(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        demo = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "demo", "--port", str(port), "--speed", "600"],
            cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ),
        )
    try:
        wait_for_port(port, demo, timeout=60)
        path = tmp_path / "var" / "demo" / "credentials.json"
        _wait(path.exists, "credentials.json", demo, log, within=30)
        creds = json.loads(path.read_text())
        broker = int(creds["mqtt"]["port"])
        households = creds["households"]
        assert len(households) == 20
        with ExitStack() as stack:
            seen: dict[str, Collector] = {}
            dropped: dict[str, list[object]] = {}
            clients = {}
            for h, entry in sorted(households.items()):
                login = entry["mqtt"]
                other = "h-ben" if h != "h-ben" else "h-ana"
                c, collector = stack.enter_context(client(
                    broker, client_id=login["username"], username=login["username"],
                    password=login["password"],
                    subscribe=[(f"home/{h}/homeassistant/#", 1), (f"home/{h}/hub/homeassistant/#", 1),
                               (f"home/{other}/homeassistant/#", 1)]))
                dropped[h] = []
                c.on_disconnect = lambda *args, h=h: dropped[h].append(args[3])
                seen[h], clients[h] = collector, c
            for h, collector in seen.items():
                sensor = f"home/{h}/homeassistant/sensor/hub_{h}_suggestions/config"
                _wait(lambda c=collector, s=sensor, h=h: s in _configs(c, h), f"{h}'s configs", demo, log)
                config = _configs(collector, h)[sensor]
                assert config["device"]["identifiers"] == [f"community-hub-{h}"]
                # Named by the household's display name, not its id.
                assert config["device"]["name"].startswith("Community hub: ")
                assert h not in config["device"]["name"]
                assert config["availability_topic"] == f"home/{h}/hub/homeassistant/availability"
                assert {f"sensor/hub_{h}_notices", f"sensor/hub_{h}_timebank_balance",
                        f"sensor/hub_{h}_bookings"} <= {t.split("/homeassistant/")[1].rsplit("/", 1)[0]
                                                        for t in _configs(collector, h)}
            # The story proposes its gathering to neighbours. Accepting a gathering means
            # creating it (title, time, guests), so HA gets a decline button and no accept
            # one; accept end to end is tests/homes/test_homeassistant_broker.py.
            def gathering_button() -> tuple[str, str, dict] | None:
                for h, collector in seen.items():
                    if h == "h-ana":
                        continue  # the story answers Ana's itself
                    for topic, config in _configs(collector, h).items():
                        if f"/button/hub_{h}_decline_" in topic and _last(collector, topic):
                            return h, topic, config
                return None

            _wait(lambda: gathering_button() is not None, "a gathering's button", demo, log)
            found = gathering_button()
            assert found is not None
            h, topic, button = found
            suggestion = json.loads(button["payload_press"])["suggestion"]
            assert topic.replace("_decline_", "_accept_") not in _configs(seen[h], h)
            clients[h].publish(button["command_topic"], button["payload_press"], qos=1).wait_for_publish(10)
            token = httpx.post(f"{creds['api']}/auth/login", json={
                "username": households[h]["username"], "password": households[h]["password"]}).json()["access_token"]

            def answered() -> dict:
                r = httpx.get(f"{creds['api']}/suggestions/{suggestion}",
                              headers={"Authorization": f"Bearer {token}"})
                return dict(r.json())

            _wait(lambda: answered()["state"] == "declined", f"{suggestion} declined", demo, log, within=30)
            assert answered()["kind"] == "gathering"
            # The answered suggestion's button goes away: an empty retained config.
            _wait(lambda: _last(seen[h], topic) == b"", "the button's removal", demo, log, within=30)
            for name, collector in seen.items():
                strangers = [t for t, _, _ in collector.messages
                             if t.startswith("home/") and not t.startswith(f"home/{name}/")]
                assert strangers == [], f"{name} saw {strangers[:3]}"
            # Nobody threw anybody off: the simulated devices have logins of their own.
            assert {name: d for name, d in dropped.items() if d} == {}
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(15)
    assert demo.returncode == 0, log.read_text(errors="replace")[-3000:]
