"""The demo's simulated households produce real formats the Normalizer reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from devices_helpers import PROFILES

from hub.devices import Normalizer, crc16
from hub.simulator import ALL_KINDS, HouseholdSimulator, dsmr_timestamp

NOW = datetime(2026, 1, 15, 10, 30, 5, tzinfo=UTC)


def test_deterministic_given_seed() -> None:
    a = HouseholdSimulator("h1", seed=7).messages(NOW)
    b = HouseholdSimulator("h1", seed=7).messages(NOW)
    c = HouseholdSimulator("h1", seed=8).messages(NOW)
    assert a == b
    assert a != c


def test_every_message_normalizes(normalizer: Normalizer) -> None:
    sim = HouseholdSimulator("h1", seed=1)
    first = sim.messages(NOW)
    retained = [t for t, _, r in first if r]
    assert "zigbee2mqtt/bridge/devices" in retained
    assert f"{sim.shelly_id}/online" in retained
    later = sim.messages(NOW + timedelta(seconds=10))
    assert not any(r for _, _, r in later)
    readings = {}
    for topic, payload, _ in first + later:
        result = normalizer.normalize(topic, payload, household="h1")
        assert result.readings or result.registrations, topic
        for r in result.readings:
            readings[(r.device, r.metric, r.channel)] = r
    assert readings[("fridge_plug", "power", None)].unit == "W"
    assert readings[(sim.shelly_id, "energy", "0")].unit == "kWh"
    assert readings[("front_door", "door_open", None)].value in (True, False)
    assert -10 < float(readings[("weather", "temperature", None)].value) < 30
    meter = "ISK52M550E-1011"
    assert readings[(meter, "gas", None)].unit == "m³"
    assert readings[(meter, "energy", "t1")].ts == "2026-01-15T10:30:15Z"
    assert readings[("pantry", "stock", "milk")].value == 1.5
    assert normalizer.expiry_for("h1", "pantry") == 120.0


def test_set_stock_reaches_the_reading() -> None:
    norm = Normalizer(PROFILES)
    sim = HouseholdSimulator("h2", seed=3, kinds=["pantry"])
    sim.set_stock("milk", 0.2)
    sim.set_stock("cheese", 0.3, "kg")
    ((topic, payload, retain),) = sim.messages(NOW)
    assert (topic, retain) == ("pantry/telemetry", False)
    got = {(r.metric, r.channel): (r.value, r.unit) for r in
           norm.normalize(topic, payload, household="h2").readings}
    assert got[("stock", "milk")] == (0.2, "l")
    assert got[("stock", "cheese")] == (0.3, "kg")


def test_telegram_crc_is_valid() -> None:
    sim = HouseholdSimulator("h3", seed=5, kinds=["p1_meter"])
    ((_, telegram, _),) = sim.messages(NOW)
    end = telegram.index(b"!")
    assert int(telegram[end + 1 : end + 5], 16) == crc16(telegram[: end + 1])


@pytest.mark.parametrize(("dt", "expected"), [
    (datetime(2026, 1, 15, 10, 30, 5, tzinfo=UTC), "260115113005W"),
    (datetime(2026, 7, 1, 10, 0, 0, tzinfo=UTC), "260701120000S"),
    (datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC), "260329015959W"),
    (datetime(2026, 3, 29, 1, 0, 0, tzinfo=UTC), "260329030000S"),
])
def test_dsmr_timestamp(dt: datetime, expected: str) -> None:
    assert dsmr_timestamp(dt) == expected


def test_unknown_kind_and_naive_time() -> None:
    with pytest.raises(ValueError, match="unknown device kinds"):
        HouseholdSimulator("h1", seed=1, kinds=["toaster"])
    with pytest.raises(ValueError, match="aware"):
        HouseholdSimulator("h1", seed=1).messages(datetime(2026, 1, 1))
    assert set(ALL_KINDS) >= {"pantry", "p1_meter"}
