"""The digital twin: latest values, availability from reports and from silence, persistence."""

from __future__ import annotations

from pathlib import Path

from hub.events import DeviceAvailability, MetricSpec, Reading, Registration
from hub.state.twin import Twin
from tests.stores import open_db


def test_latest_values_and_availability_survive_a_restart(tmp_path: Path) -> None:
    db = open_db(tmp_path / "hub.sqlite3")
    twin = Twin(db)
    events: list[DeviceAvailability] = []
    twin.on_availability(events.append)
    twin.register("h1", [Registration(kind="device", device="plug", model="TS011F",
                                      metrics=(MetricSpec(metric="power", unit="W"),))], 100.0)
    twin.update("h1", [Reading(device="plug", metric="power", value=75, unit="W"),
                       Reading(device="plug", metric="energy", value=415.93, unit="kWh")], 100.0)
    twin.update("h1", [Reading(device="plug", metric="power", value=80, unit="W")], 101.0)
    twin.update("h1", [Reading(device="plug", metric="online", value=False)], 102.0)
    assert [(e.device, e.online, e.reason) for e in events] == [("plug", False, "reported")]
    twin.update("h1", [Reading(device="plug", metric="power", value=5, unit="W")], 103.0)
    assert [(e.online, e.reason) for e in events[1:]] == [(True, "message")]
    assert twin.flush() > 0
    restored = Twin(db).device("h1", "plug")
    assert restored is not None
    assert restored.value("power") == 5
    assert restored.value("energy") == 415.93
    assert restored.model == "TS011F"
    assert restored.online is True


def test_silence_past_the_expiry_marks_a_device_offline_once(tmp_path: Path) -> None:
    twin = Twin(open_db(tmp_path / "hub.sqlite3"))
    events: list[DeviceAvailability] = []
    twin.on_availability(events.append)
    twin.update("h1", [Reading(device="fridge", metric="temperature", value=4.0, unit="°C")], 1000.0)
    twin.update("h1", [Reading(device="meter", metric="power", value=300, unit="W")], 1000.0)

    def expiry(_household: str, device: str) -> float | None:
        return 60.0 if device == "fridge" else None

    assert twin.expire(1059.0, expiry) == []
    changes = twin.expire(1061.0, expiry)
    assert [(c.device, c.online, c.reason) for c in changes] == [("fridge", False, "silence")]
    assert twin.expire(1200.0, expiry) == [], "an offline device is not reported again"
    assert [e.device for e in events] == ["fridge"]
