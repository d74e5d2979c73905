"""Declarative YAML device profiles: validation, compilation, the bench fridge, expiry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from devices_helpers import PROFILES, table

from hub.devices import Normalizer, load_profiles, split_household
from hub.errors import ConfigError, PayloadRejected

BENCH = (b'{"device":"fridge-17","household":"h17","items":{"milk":{"qty":0.4,"unit":"l"},'
         b'"eggs":{"qty":3,"unit":"pcs"},"butter":{"qty":0.25,"unit":"kg"}},'
         b'"door_open":false,"temp_c":4.1,"ts":1764072000.123456,"seq":42}')


def test_bench_fridge_profile(normalizer: Normalizer) -> None:
    household, topic = split_household("home/h17/fridge-17/telemetry")
    assert (household, topic) == ("h17", "fridge-17/telemetry")
    got = table(normalizer.normalize(topic, BENCH, household=household))
    ts = "2025-11-25T12:00:00.123456Z"
    assert got == {
        ("fridge-17", "stock", "milk"): (0.4, "l", ts),
        ("fridge-17", "stock", "eggs"): (3, "pcs", ts),
        ("fridge-17", "stock", "butter"): (0.25, "kg", ts),
        ("fridge-17", "door_open", None): (False, None, ts),
        ("fridge-17", "temperature", None): (4.1, "°C", ts),
    }
    assert normalizer.expiry_for("h17", "fridge-17") == 120.0
    assert normalizer.expiry_for("h18", "fridge-17") is None
    assert normalizer.expiry_for("h17", "KT_fridge_plug") is None


def test_device_comes_from_topic_not_payload(normalizer: Normalizer) -> None:
    payload = BENCH.replace(b'"device":"fridge-17"', b'"device":"fridge-99"')
    assert {r.device for r in normalizer.normalize("fridge-17/telemetry", payload).readings} == {
        "fridge-17"}


@pytest.mark.parametrize(("topic", "household", "rest"), [
    ("home/h1/zigbee2mqtt/plug", "h1", "zigbee2mqtt/plug"),
    ("home/a_b-9/tele/x/SENSOR", "a_b-9", "tele/x/SENSOR"),
    ("zigbee2mqtt/plug", None, "zigbee2mqtt/plug"),
    ("homeassistant/sensor/x/config", None, "homeassistant/sensor/x/config"),
])
def test_split_household(topic: str, household: str | None, rest: str) -> None:
    assert split_household(topic) == (household, rest)


@pytest.mark.parametrize("topic", ["home/H1/x", "home//x", "home/h1/", "home/" + "a" * 65 + "/x",
                                   "home/h 1/x"])
def test_split_household_rejects(topic: str) -> None:
    with pytest.raises(PayloadRejected):
        split_household(topic)


def _write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_custom_profile_conversions(tmp_path: Path) -> None:
    folder = _write(tmp_path, """
name: us_fridge
topics: ["acme/{device}/state", "acme/{device}/legacy"]
expiry: 600
ts: {path: meta.time, format: iso}
readings:
  - {path: sensors.temp_f, metric: temperature, from_unit: "°F"}
  - {path: meter.wh, metric: energy, from_unit: Wh}
  - {path: meter.kw, metric: power, from_unit: kW}
  - {path: door.contact, metric: door_open, type: inverted_bool}
  - {path: zones.*.t, metric: temperature, channel: "*", unit: "°C"}
  - {path: label, metric: label, type: string}
""")
    norm = Normalizer(folder)
    payload = json.dumps({
        "sensors": {"temp_f": 39.2}, "meter": {"wh": 1500, "kw": 0.075},
        "door": {"contact": "Closed"}, "zones": {"freezer": {"t": -18}},
        "label": "kitchen", "meta": {"time": "2025-01-01T10:00:00+01:00"},
    }).encode()
    got = table(norm.normalize("acme/f1/legacy", payload, household="h1"))
    ts = "2025-01-01T09:00:00Z"
    assert got == {
        ("f1", "temperature", None): (4.0, "°C", ts),  # 39.2 °F
        ("f1", "energy", None): (1.5, "kWh", ts),  # 1500 Wh
        ("f1", "power", None): (75.0, "W", ts),  # 0.075 kW
        ("f1", "door_open", None): (False, None, ts),  # "Closed" is never inverted
        ("f1", "temperature", "freezer"): (-18, "°C", ts),
        ("f1", "label", None): ("kitchen", None, ts),
    }
    # contact true means closed: inverted to door_open false; false -> open
    for contact, door_open in ((True, False), (False, True), ("Open", True)):
        (r,) = norm.normalize("acme/f1/state", json.dumps({"door": {"contact": contact}})
                              .encode(), household="h1").readings
        assert (r.metric, r.value) == ("door_open", door_open)
    assert norm.expiry_for("h1", "f1") == 600.0


@pytest.mark.parametrize(("text", "message"), [
    ("name: x\ntopics: ['{device}']\nreadings: [{path: a, metric: b}]", "literal segment"),
    ("name: x\ntopics: ['a/b']\nreadings: [{path: a, metric: b}]", "{device}"),
    ("name: x\ntopics: ['a/{device}/#']\nreadings: [{path: a, metric: b}]", "no + or #"),
    ("name: x\ntopics: ['a/{device}']\nreadings: [{path: a, metric: Bad}]", "snake_case"),
    ("name: x\ntopics: ['a/{device}']\nreadings: [{path: a, metric: b, from_unit: furlong}]",
     "unknown unit"),
    ("name: x\ntopics: ['a/{device}']\nreadings: [{path: a, metric: b, channel: '*'}]",
     "needs a '*'"),
    ("name: x\ntopics: ['a/{device}']\nreadings: [{path: a, metric: b, colour: red}]",
     "Extra inputs"),
    ("name: x\ntopics: ['a/{device}']\nreadings: []", "at least 1"),
    ("name: x\ntopics: ['a/{device}']\nexpiry: -5\nreadings: [{path: a, metric: b}]",
     "greater than 0"),
    ("[unclosed", "cannot read profile"),
])
def test_invalid_profiles_name_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    _write(tmp_path, text, "broken.yaml")
    with pytest.raises(ConfigError) as info:
        load_profiles(tmp_path)
    assert "broken.yaml" in str(info.value)
    assert message in str(info.value)


def test_duplicate_profile_names(tmp_path: Path) -> None:
    body = "name: same\ntopics: ['a/{device}']\nreadings: [{path: a, metric: b}]"
    _write(tmp_path, body, "one.yaml")
    _write(tmp_path, body, "two.yml")
    with pytest.raises(ConfigError, match="used twice"):
        Normalizer(tmp_path)


def test_shipped_profiles_load() -> None:
    names = {p.name for p in load_profiles(PROFILES)}
    assert "bench_fridge" in names
