"""``hub normalize`` as a real subprocess (CONTRACTS.md, "Command line")."""

from __future__ import annotations

import json

import pytest
from devices_helpers import CORPUS, run_cli

CASES = [
    ("zigbee2mqtt/state_tuya_TS011F_fridge_plug.json", "home/h17/zigbee2mqtt/KT_fridge_plug",
     {"device": "KT_fridge_plug", "metric": "power", "value": 75, "unit": "W", "channel": None,
      "ts": "2024-05-09T09:22:12Z"}),
    ("tasmota/tele_SENSOR_ENERGY_sonoff_pow.json", "tele/pow1/SENSOR",
     {"device": "pow1", "metric": "energy", "value": 6.294, "unit": "kWh", "channel": None,
      "ts": None}),
    ("shelly/status_switch0_1pmminig3_full.json",
     "home/h1/shelly1pmminig3-5432044edbc0/status/switch:0",
     {"device": "shelly1pmminig3-5432044edbc0", "metric": "energy", "value": 152.669987,
      "unit": "kWh", "channel": "0", "ts": None}),
    ("dsmr/raw_telegram_landisgyr350_NL_dsmr42_with_gas.txt", "home/h2/dsmr/raw",
     {"device": "XMX5LGBBFFB123456789", "metric": "gas", "value": 1197.484, "unit": "m³",
      "channel": None, "ts": "2016-02-10T19:00:00Z"}),
    ("fridge/hcpy_homeconnect_refrigerator_door_open.json", "homeconnect/refrigerator",
     {"device": "refrigerator", "metric": "door_open", "value": True, "unit": None,
      "channel": "cooler", "ts": None}),
]


@pytest.mark.parametrize(("path", "topic", "expected"), CASES, ids=[c[0] for c in CASES])
def test_topic_from_file(path: str, topic: str, expected: dict[str, object]) -> None:
    proc = run_cli("--topic", topic, str(CORPUS / path))
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert expected in lines
    assert all(set(line) == {"device", "metric", "value", "unit", "channel", "ts"}
               for line in lines)


def test_topic_from_stdin() -> None:
    proc = run_cli("--topic", "home/h1/tele/tasmota_XXXXXX/LWT",
                   stdin=(CORPUS / "tasmota/tele_LWT_online.txt").read_bytes())
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"device": "tasmota_XXXXXX", "metric": "online",
                                       "value": True, "unit": None, "channel": None, "ts": None}


def test_registrations_are_printed() -> None:
    proc = run_cli("--topic", "zigbee2mqtt/bridge/devices",
                   str(CORPUS / "zigbee2mqtt/bridge_devices_subset_tuya_install.json"))
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    plug = next(line for line in lines if line["device"] == "KT_fridge_plug")
    assert plug["kind"] == "device"
    assert plug["model"] == "TS011F_plug_1"
    assert {"metric": "power", "unit": "W", "channel": None} in plug["metrics"]
    proc = run_cli("--topic", "homeassistant/sensor/sensorBedroomT/config",
                   str(CORPUS / "homeassistant/discovery_sensor_temperature_doc.json"))
    (line,) = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    assert line["kind"] == "discovery"
    assert line["metrics"] == [
        {"metric": "temperature", "unit": "°C", "channel": None}]


@pytest.mark.parametrize(("source", "path", "expected"), [
    ("smartthings", "fridge/smartthings_refrigerator_status_da_ref_normal_01011.json",
     {"device": "aafdee8c-4ede-2ed7-9d29-d596b84d65aa", "metric": "temperature", "value": -18,
      "unit": "°C", "channel": "freezer", "ts": "2025-02-02T13:55:47.067Z"}),
    ("homeconnect", "fridge/homeconnect_sse_STATUS_doorstate_open_washer.txt",
     {"device": "SIEMENS-WM14T6H9NL-AB1234567890", "metric": "door_open", "value": True,
      "unit": None, "channel": None, "ts": "2023-02-20T12:57:25Z"}),
    ("grocy", "fridge/grocy_product_detail_milk_fridge.json",
     {"device": "grocy", "metric": "stock", "value": 2.0, "unit": "Bottle", "channel": "Milk",
      "ts": None}),
])
def test_source(source: str, path: str, expected: dict[str, object]) -> None:
    proc = run_cli("--source", source, str(CORPUS / path))
    assert proc.returncode == 0, proc.stderr
    assert expected in [json.loads(x) for x in proc.stdout.decode().splitlines()]


def test_understood_without_readings_exits_0() -> None:
    proc = run_cli("--topic", "cmnd/plug/POWER", stdin=b"TOGGLE")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b"")


@pytest.mark.parametrize(("topic", "payload", "reason"), [
    ("weather/station/x", b"{}", "unknown topic"),
    ("zigbee2mqtt/plug", b'{"power": NaN}', "malformed JSON"),
    ("zigbee2mqtt/plug", b'{"power": 1e309}', "malformed JSON"),
    ("zigbee2mqtt/plug", b'{"a":' * 40 + b"1" + b"}" * 40, "nested deeper"),
    ("zigbee2mqtt/plug/availability", b"\xff\xfe", "UTF-8"),
    ("home/H1!/zigbee2mqtt/plug", b"{}", "household id"),
    ("dsmr/raw", (CORPUS / "dsmr/raw_telegram_landisgyr350_NL_dsmr42_with_gas.txt")
     .read_bytes().replace(b"756.849", b"756.848"), "CRC mismatch"),
])
def test_rejections_exit_2_with_one_line(topic: str, payload: bytes, reason: str) -> None:
    proc = run_cli("--topic", topic, stdin=payload)
    assert proc.returncode == 2
    assert proc.stdout == b""
    err = proc.stderr.decode()
    assert err.count("\n") == 1
    assert reason in err


def test_oversized_payload_exit_2() -> None:
    proc = run_cli("--topic", "zigbee2mqtt/plug", stdin=b"{" + b" " * (300 * 1024) + b"}")
    assert proc.returncode == 2
    assert b"limit" in proc.stderr


def test_missing_file_exit_2(tmp_path: object) -> None:
    proc = run_cli("--topic", "zigbee2mqtt/plug", "/nonexistent/payload.json")
    assert proc.returncode == 2
    assert proc.stderr.decode().count("\n") == 1
