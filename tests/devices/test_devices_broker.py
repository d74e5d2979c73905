"""Corpus payloads over a real Mosquitto: published under home/<household>/, read back with
paho, normalized, values asserted."""

from __future__ import annotations

import json
import queue
import threading
import uuid
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from devices_helpers import PROFILES, Broker, corpus
from paho.mqtt.enums import CallbackAPIVersion

from hub.devices import Normalizer, split_household
from hub.errors import PayloadRejected
from hub.simulator import HouseholdSimulator

TIMEOUT = 10.0


def _client(broker: Broker) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}")
    connected = threading.Event()
    client.on_connect = lambda *_args: connected.set()
    client.connect(broker.host, broker.port)
    client.loop_start()
    assert connected.wait(TIMEOUT), "no CONNACK from mosquitto"
    return client


def _roundtrip(broker: Broker, prefix: str, messages: list[tuple[str, bytes]]
               ) -> list[tuple[str, bytes]]:
    """Publish ``messages`` under ``prefix`` and return them as a subscriber receives them."""
    received: queue.Queue[tuple[str, bytes]] = queue.Queue()
    sub = _client(broker)
    subscribed = threading.Event()
    sub.on_subscribe = lambda *_args: subscribed.set()
    sub.on_message = lambda _c, _u, msg: received.put((msg.topic, msg.payload))
    sub.subscribe(f"{prefix}#", qos=1)
    assert subscribed.wait(TIMEOUT)
    pub = _client(broker)
    try:
        for topic, payload in messages:
            pub.publish(prefix + topic, payload, qos=1).wait_for_publish(TIMEOUT)
        return [received.get(timeout=TIMEOUT) for _ in messages]
    finally:
        for c in (pub, sub):
            c.loop_stop()
            c.disconnect()


def test_corpus_through_mosquitto(broker: Broker) -> None:
    household = f"h{uuid.uuid4().hex[:6]}"
    messages = [
        ("zigbee2mqtt/bridge/devices",
         corpus("zigbee2mqtt/bridge_devices_subset_tuya_install.json")),
        ("zigbee2mqtt/KT_fridge_plug", corpus("zigbee2mqtt/state_tuya_TS011F_fridge_plug.json")),
        ("zigbee2mqtt/BT_door_sensor",
         corpus("zigbee2mqtt/state_tuya_TS0203_door_contact_open.json")),
        ("zigbee2mqtt/KT_fridge_plug/availability", b"OFFLINE"),
        ("tele/pow1/SENSOR", corpus("tasmota/tele_SENSOR_ENERGY_sonoff_pow.json")),
        ("tele/tasmota_XXXXXX/LWT", corpus("tasmota/tele_LWT_online.txt")),
        ("shelly1pmminig3-5432044edbc0/status/switch:0",
         corpus("shelly/status_switch0_1pmminig3_full.json")),
        ("homeassistant/sensor/sensorBedroomT/config",
         corpus("homeassistant/discovery_sensor_temperature_doc.json")),
        ("homeassistant/sensor/sensorBedroom/state", b'{"temperature": 21.5}'),
        ("dsmr/raw", corpus("dsmr/raw_telegram_landisgyr350_NL_dsmr42_with_gas.txt")),
        ("test_dsmr/gas", corpus("dsmr/dsmr2mqtt_gas.json")),
        ("homeconnect/refrigerator", corpus("fridge/hcpy_homeconnect_refrigerator_door_open.json")),
        ("fridge-17/telemetry", json.dumps({"items": {"milk": {"qty": 0.4, "unit": "l"}},
                                            "door_open": False, "temp_c": 4.1,
                                            "ts": 1764072000.5}).encode()),
        ("zigbee2mqtt/KT_fridge_plug", b'{"power": NaN}'),
    ]
    arrived = _roundtrip(broker, f"home/{household}/", messages)
    norm = Normalizer(PROFILES)
    readings = {}
    regs = set()
    rejected = []
    for topic, payload in arrived:
        hh, vendor_topic = split_household(topic)
        assert hh == household
        try:
            result = norm.normalize(vendor_topic, payload, household=hh)
        except PayloadRejected as exc:
            rejected.append((vendor_topic, exc.reason))
            continue
        regs.update(r.device for r in result.registrations)
        for r in result.readings:
            readings[(r.device, r.metric, r.channel)] = (r.value, r.unit)
    assert [t for t, _ in arrived] == [f"home/{household}/{t}" for t, _ in messages]
    assert "KT_fridge_plug" in regs
    assert readings[("KT_fridge_plug", "power", None)] == (75, "W")
    assert readings[("KT_fridge_plug", "energy", None)] == (415.93, "kWh")
    assert readings[("KT_fridge_plug", "online", None)] == (False, None)
    assert readings[("BT_door_sensor", "door_open", None)] == (True, None)
    assert readings[("pow1", "power", None)] == (2635, "W")
    assert readings[("tasmota_XXXXXX", "online", None)] == (True, None)
    assert readings[("shelly1pmminig3-5432044edbc0", "energy", "0")] == (152.669987, "kWh")
    assert readings[("sensorBedroomT", "temperature", None)] == (21.5, "°C")
    assert readings[("XMX5LGBBFFB123456789", "energy", "t1")] == (756.849, "kWh")
    assert readings[("33313137", "gas", None)] == (10142.194, "m³")
    assert readings[("refrigerator", "door_open", "cooler")] == (True, None)
    assert readings[("fridge-17", "stock", "milk")] == (0.4, "l")
    assert [t for t, _ in rejected] == ["zigbee2mqtt/KT_fridge_plug"]
    assert rejected[0][1].startswith("malformed JSON")


def test_simulated_household_through_mosquitto(broker: Broker) -> None:
    household = f"s{uuid.uuid4().hex[:6]}"
    sim = HouseholdSimulator(household, seed=11)
    messages = [(t, p) for t, p, _ in sim.messages(datetime(2026, 5, 1, 12, tzinfo=UTC))]
    arrived = _roundtrip(broker, f"home/{household}/", messages)
    norm = Normalizer(PROFILES)
    metrics = set()
    for topic, payload in arrived:
        hh, vendor_topic = split_household(topic)
        for r in norm.normalize(vendor_topic, payload, household=hh).readings:
            metrics.add((r.device, r.metric))
    assert {("fridge_plug", "power"), ("front_door", "door_open"), ("weather", "humidity"),
            ("pantry", "stock"), (sim.shelly_id, "online"), ("ISK52M550E-1011", "gas"),
            ("zigbee2mqtt/bridge", "online")} <= metrics
