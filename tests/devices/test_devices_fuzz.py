"""Hostile and random input: the Normalizer gives Normalized or PayloadRejected, nothing else.

The default run draws a few thousand examples in total; ``-m slow`` runs 100k.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from devices_helpers import PROFILES, corpus
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.devices import Normalizer
from hub.errors import PayloadRejected
from hub.events import Normalized, Reading

# One topic per adapter, so every adapter meets every payload shape.
TOPICS = [
    "zigbee2mqtt/plug", "zigbee2mqtt/plug/availability", "zigbee2mqtt/bridge/state",
    "zigbee2mqtt/bridge/devices", "tele/plug/SENSOR", "tele/plug/STATE", "tele/plug/LWT",
    "stat/plug/RESULT", "stat/plug/POWER2", "stat/plug/STATUS8", "tele/plug/ENERGY",
    "x/tele/SENSOR", "shelly1/events/rpc", "shelly1/status/switch:0", "shelly1/status/em:0",
    "shelly1/status/devicepower:0", "shelly1/online", "homeassistant/sensor/a/config",
    "homeassistant/device/d1/config", "homeassistant/binary_sensor/n/o/config", "dsmr/raw",
    "dsmr/json", "dsmr/el", "dsmr/gas", "dsmr/reading/electricity_delivered_1",
    "dsmr/meter-stats/electricity_tariff", "dsmr/meter-stats/dsmr_version",
    "gas2mqtt/c/state", "homeconnect/fridge", "homeconnect/fridge/LWT", "fridge-1/telemetry",
    "bridge/smartthings/dev1/status", "bridge/homeconnect/events", "bridge/grocy/stock",
    "some/unknown/topic",
]
SOURCES = ["smartthings", "homeconnect", "grocy"]

json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20),
    st.sampled_from(["ON", "off", "Open", "Closed", "online", "1", "0", "°F", "Wh", "kW"]),
)
KEYS = st.one_of(st.text(max_size=12), st.sampled_from([
    "power", "energy", "voltage", "temperature", "humidity", "contact", "state", "battery",
    "last_seen", "ENERGY", "Total", "Power", "TIC", "PAPP", "ZbReceived", "POWER", "POWER1",
    "Time", "SerialReceived", "src", "method", "params", "ts", "switch:0", "aenergy", "total",
    "output", "apower", "tC", "rh", "stat_t", "state_topic", "val_tpl", "value_template",
    "device_class", "unit_of_measurement", "dev", "cmps", "p", "~", "gas_consumed", "serial",
    "components", "main", "eventType", "deviceEvent", "items", "qty", "unit", "door_open",
    "temp_c", "product", "amount", "due_products", "missing_products", "haId", "key", "value",
]))
json_values = st.recursive(
    json_leaf,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(KEYS, children, max_size=6)),
    max_leaves=25,
)
HOSTILE = [
    b"", b"null", b"[]", b"{}", b"NaN", b"[Infinity]", b'{"power": -Infinity}', b"1e309",
    b'{"power": 1e309}', b'{"a":' * 100 + b"1" + b"}" * 100, b"[" * 5000 + b"]" * 5000,
    b"\xff\xfe\xfd", b'{"power": "\xed\xa0\x80"}', b'"\\ud800"', b"{" + b" " * 300_000 + b"}",
    b'{"power": 10000000000000000000000000000}', b'{"items": {"' + b"x" * 100 + b'": {"qty": 1}}}',
    b"\x00\x01\x02", b"ON", b"/XMX5\r\n!0000", b"event:STATUS\ndata:{]\n\n",
]


def _check(result: object) -> None:
    assert isinstance(result, Normalized)
    for r in result.readings:
        assert isinstance(r, Reading)
        assert type(r.value) in (int, float, bool, str)
        if type(r.value) is float:
            assert abs(r.value) <= 1e18  # finite and plausible after any unit conversion
        assert r.ts is None or r.ts.endswith("Z")


def _outcome(call: Any) -> Normalized | PayloadRejected:
    """What a normalizer call gave: its result or its rejection (any other error escapes)."""
    try:
        return call()  # type: ignore[no-any-return]
    except PayloadRejected as exc:
        return exc


def _feed(norm: Normalizer, topic: str, payload: bytes) -> None:
    got = _outcome(lambda: norm.normalize(topic, payload, household="h1"))
    if isinstance(got, PayloadRejected):
        assert got.reason
        assert got.topic == topic
    else:
        _check(got)


def _feed_source(norm: Normalizer, source: str, payload: bytes) -> None:
    got = _outcome(lambda: norm.normalize_source(source, payload, household="h1"))
    if isinstance(got, PayloadRejected):
        assert got.reason
    else:
        _check(got)


@pytest.fixture(scope="module")
def norm() -> Normalizer:
    return Normalizer(PROFILES)


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_payloads_on_every_adapter(norm: Normalizer, payload: bytes) -> None:
    for topic in TOPICS:
        _feed(norm, topic, payload)
    for source in SOURCES:
        _feed_source(norm, source, payload)


@pytest.mark.parametrize("payload", [b"NaN", b'{"power": 1e309}', b"\xff", b"[" * 40 + b"]" * 40])
def test_hostile_payloads_are_rejected_with_a_reason(norm: Normalizer, payload: bytes) -> None:
    with pytest.raises(PayloadRejected) as info:
        norm.normalize("zigbee2mqtt/plug", payload)
    assert info.value.reason


def test_future_timestamp_is_rejected(norm: Normalizer) -> None:
    payload = json.dumps({"items": {}, "ts": 4_102_444_800.0}).encode()  # 2100-01-01
    with pytest.raises(PayloadRejected, match="future"):
        norm.normalize("fridge-1/telemetry", payload)


def test_wrong_type_in_profile_is_rejected(norm: Normalizer) -> None:
    with pytest.raises(PayloadRejected, match="temp_c is not a number"):
        norm.normalize("fridge-1/telemetry", b'{"temp_c": "cold"}')
    with pytest.raises(PayloadRejected, match="qty is not a number"):
        norm.normalize("fridge-1/telemetry", b'{"items": {"milk": {"qty": true}}}')


def _seeds() -> list[tuple[str, bytes]]:
    """Real messages, mutated by the byte-level fuzz below."""
    return [
        ("zigbee2mqtt/plug", corpus("zigbee2mqtt/state_tuya_TS011F_fridge_plug.json")),
        ("tele/pow1/SENSOR", corpus("tasmota/tele_SENSOR_ENERGY_sonoff_pow.json")),
        ("s1/events/rpc", corpus("shelly/events_rpc_NotifyStatus_plus2pm_aenergy.json")),
        ("homeassistant/sensor/x/config",
         corpus("homeassistant/discovery_single_component_sensor_abbrev_doc.json")),
        ("dsmr/raw", corpus("dsmr/raw_telegram_landisgyr350_NL_dsmr42_with_gas.txt")),
        ("homeconnect/fridge", corpus("fridge/hcpy_homeconnect_refrigerator_door_open.json")),
        ("fridge-1/telemetry", b'{"items":{"milk":{"qty":0.4,"unit":"l"}},"door_open":false,'
                               b'"temp_c":4.1,"ts":1764072000.5}'),
    ]


SEEDS = _seeds()


def _structured(norm: Normalizer, topic: str, value: Any) -> None:
    _feed(norm, topic, json.dumps(value).encode())


def _fuzz_settings(n: int) -> settings:
    return settings(max_examples=n, deadline=None, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@_fuzz_settings(1500)
@given(topic=st.sampled_from(TOPICS), value=json_values)
def test_fuzz_structured_json(norm: Normalizer, topic: str, value: Any) -> None:
    _structured(norm, topic, value)


@_fuzz_settings(800)
@given(seed=st.sampled_from(SEEDS), data=st.data())
def test_fuzz_mutated_real_payloads(norm: Normalizer, seed: tuple[str, bytes],
                                    data: st.DataObject) -> None:
    topic, payload = seed
    pos = data.draw(st.integers(min_value=0, max_value=len(payload) - 1))
    insert = data.draw(st.binary(max_size=8))
    cut = data.draw(st.integers(min_value=0, max_value=4))
    _feed(norm, topic, payload[:pos] + insert + payload[pos + cut :])


@_fuzz_settings(400)
@given(source=st.sampled_from(SOURCES), value=json_values, raw=st.binary(max_size=64))
def test_fuzz_sources(norm: Normalizer, source: str, value: Any, raw: bytes) -> None:
    _feed_source(norm, source, json.dumps(value).encode())
    _feed_source(norm, source, raw)


@_fuzz_settings(300)
@given(topic=st.text(max_size=40), raw=st.binary(max_size=64))
def test_fuzz_topics_and_bytes(norm: Normalizer, topic: str, raw: bytes) -> None:
    got = _outcome(lambda: norm.normalize(topic, raw, household="h1"))
    if isinstance(got, PayloadRejected):
        assert got.reason
    else:
        _check(got)


@pytest.mark.slow
@_fuzz_settings(60_000)
@given(topic=st.sampled_from(TOPICS), value=json_values)
def test_fuzz_structured_json_slow(norm: Normalizer, topic: str, value: Any) -> None:
    _structured(norm, topic, value)


@pytest.mark.slow
@_fuzz_settings(40_000)
@given(seed=st.sampled_from(SEEDS), data=st.data())
def test_fuzz_mutated_real_payloads_slow(norm: Normalizer, seed: tuple[str, bytes],
                                         data: st.DataObject) -> None:
    topic, payload = seed
    pos = data.draw(st.integers(min_value=0, max_value=len(payload) - 1))
    insert = data.draw(st.binary(max_size=8))
    cut = data.draw(st.integers(min_value=0, max_value=4))
    _feed(norm, topic, payload[:pos] + insert + payload[pos + cut :])


@pytest.mark.parametrize("payload", [b'{"power": 1e306}', b'{"power": -1e16, "energy": 5e20}'])
def test_implausible_magnitudes_are_not_readings(norm: Normalizer, payload: bytes) -> None:
    assert norm.normalize("zigbee2mqtt/plug", payload).readings == ()
    with pytest.raises(PayloadRejected, match="out of range"):
        norm.normalize("fridge-1/telemetry", b'{"temp_c": 1e300}')
    with pytest.raises(PayloadRejected, match="in range"):
        norm.normalize("fridge-1/telemetry", b'{"items": {"milk": {"qty": 1e300}}}')
