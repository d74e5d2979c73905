"""Formats people have (issue 17): z2m 1.x legacy bridge, ESPHome, Tasmota discovery, Shelly
RPC notifications and OpenMQTTGateway/Theengs BLE, from real samples, in process and through
``hub normalize``."""

from __future__ import annotations

import queue
import threading
import uuid

import orjson
import paho.mqtt.client as mqtt
import pytest
from devices_helpers import CORPUS, Broker, corpus, run_cli, table
from paho.mqtt.enums import CallbackAPIVersion

from hub.devices import Normalizer, split_household
from hub.errors import PayloadRejected

TIMEOUT = 10.0

OMG_TOPIC = "home/OpenMQTTGateway/BTtoMQTT/A4C138CF0156"


def test_openmqttgateway_theengs_thermometer() -> None:
    result = Normalizer().normalize(OMG_TOPIC, corpus(
        "openmqttgateway/BTtoMQTT_LYWSD03MMC_PVVX_theengs.json"), household="h1")
    assert table(result) == {
        ("A4C138CF0156", "temperature", None): (21.12, "°C", None),  # tempf 70.016 not doubled
        ("A4C138CF0156", "humidity", None): (50.53, "%", None),
        ("A4C138CF0156", "battery", None): (100, "%", None),
        ("A4C138CF0156", "battery_voltage", None): (3.143, "V", None),
    }


def test_openmqttgateway_door_sensor_and_fahrenheit_only() -> None:
    n = Normalizer()
    result = n.normalize("home/gw/BTtoMQTT/0CEC8012A1B2", corpus(
        "openmqttgateway/BTtoMQTT_BeeWi_BSDOO_door_open_theengs.json"), household="h1")
    assert table(result) == {
        ("0CEC8012A1B2", "door_open", None): (True, None, None),
        ("0CEC8012A1B2", "battery", None): (100, "%", None),
    }
    # A sensor that reports °F only is converted.
    only_f = n.normalize("home/gw/BTtoMQTT/X", b'{"tempf": 70.016}', household="h1")
    assert table(only_f) == {("X", "temperature", None): (21.12, "°C", None)}
    with pytest.raises(PayloadRejected, match="JSON"):
        n.normalize("home/gw/BTtoMQTT/X", b"[1, 2]", household="h1")


def test_esphome_sequence_node_birth_discovery_and_state() -> None:
    n = Normalizer()
    out = [n.normalize(m["topic"], m["payload"].encode(), household="h1")
           for m in orjson.loads(corpus("esphome/sequence_garagedoor1_esphome_2026_8.json"))]
    node = out[0].registrations[0]
    assert (node.kind, node.device, node.name, node.model) == ("device", "garagedoor1",
                                                               "GarageDoor1", "esp32")
    assert node.extra["mac"] == "20500de464ec"
    assert table(out[1]) == {("garagedoor1", "online", None): (True, None, None)}
    temp_config = out[2].registrations[0]
    assert (temp_config.kind, temp_config.device) == ("discovery", "20500de464ec")
    assert table(out[3]) == {("20500de464ec", "temperature", None): (23.8, "°C", None)}
    assert table(out[5]) == {("20500de464ec", "humidity", None): (39.1, "%", None)}


def test_esphome_state_without_discovery_is_rejected_with_reason() -> None:
    with pytest.raises(PayloadRejected, match="no discovery config declares"):
        Normalizer().normalize("garagedoor1/sensor/garage_temperature/state", b"23.8")
    with pytest.raises(PayloadRejected, match="unknown topic"):
        Normalizer().normalize("garagedoor1/status", b"hello")


def test_tasmota_discovery_config_then_sensors() -> None:
    n = Normalizer()
    config = n.normalize("tasmota/discovery/xxxxxxxxxxxx/config",
                         corpus("tasmota/discovery_config_huzzah_ifan_9_3_0.json"),
                         household="h1")
    (reg,) = config.registrations
    assert (reg.device, reg.name, reg.model, reg.manufacturer) == ("huzzah_1", "Huzzah 1",
                                                                  "Huzzah", "Tasmota")
    assert [(m.metric, m.channel) for m in reg.metrics] == [("switch", None), ("online", None)]
    assert reg.extra == {"mac": "xxxxxxxxxxxx", "sw": "9.3.0", "hn": "tasmota-huzzah",
                         "ip": "x.x.x.x"}
    sensors = n.normalize("tasmota/discovery/xxxxxxxxxxxx/sensors",
                          corpus("tasmota/discovery_sensors_time_only_9_3_0.json"),
                          household="h1")
    (sreg,) = sensors.registrations
    assert (sreg.device, sreg.metrics) == ("huzzah_1", ())  # the config's topic, no sensors
    energy = n.normalize("tasmota/discovery/xxxxxxxxxxxx/sensors",
                         b'{"sn": ' + corpus("tasmota/tele_SENSOR_ENERGY_sonoff_pow.json")
                         + b', "ver": 1}', household="h1")
    assert {(m.metric, m.unit) for m in energy.registrations[0].metrics} == {
        ("energy", "kWh"), ("power", "W"), ("voltage", "V"), ("current", "A")}
    with pytest.raises(PayloadRejected, match='"t"'):
        n.normalize("tasmota/discovery/AA/config", b'{"dn": "x"}', household="h1")
    with pytest.raises(PayloadRejected, match="expected tasmota/discovery"):
        n.normalize("tasmota/other", b"{}", household="h1")


def test_z2m_legacy_bridge_log() -> None:
    n = Normalizer()
    paired = n.normalize("zigbee2mqtt/bridge/log", corpus(
        "zigbee2mqtt/bridge_log_legacy_pairing_interview_successful.json"))
    (reg,) = paired.registrations
    assert (reg.kind, reg.device, reg.model, reg.manufacturer) == ("device", "bulb",
                                                                  "LED1545G12", "IKEA")
    unsupported = n.normalize("zigbee2mqtt/bridge/log", corpus(
        "zigbee2mqtt/bridge_log_legacy_pairing_unsupported.json"))
    assert (unsupported.registrations, unsupported.readings) == ((), ())
    removed = n.normalize("zigbee2mqtt/bridge/log", corpus(
        "zigbee2mqtt/bridge_log_legacy_device_removed_left_network.json"))
    assert (removed.registrations, removed.readings) == ((), ())
    with pytest.raises(PayloadRejected, match="bridge/log must be"):
        n.normalize("zigbee2mqtt/bridge/log", b'["devices"]')


def test_z2m_legacy_device_lists_list_and_object_keyed() -> None:
    # The legacy list's entry shape, taken from the pairing sample's meta plus an IEEE
    # address; both the list and the object keyed by address give the same registration.
    meta = orjson.loads(corpus(
        "zigbee2mqtt/bridge_log_legacy_pairing_interview_successful.json"))["meta"]
    entry = {"ieeeAddr": "0x000b57fffec6a5b2", "type": "Router", **meta}
    coordinator = {"ieeeAddr": "0x00124b00120144ae", "type": "Coordinator"}
    n = Normalizer()
    as_list = n.normalize("zigbee2mqtt/bridge/config/devices",
                          orjson.dumps([coordinator, entry]))
    keyed = n.normalize("zigbee2mqtt/bridge/config/devices", orjson.dumps(
        {"0x000b57fffec6a5b2": {k: v for k, v in entry.items() if k != "ieeeAddr"}}))
    via_log = n.normalize("zigbee2mqtt/bridge/log", orjson.dumps(
        {"type": "devices", "message": [coordinator, entry]}))
    for result in (as_list, keyed, via_log):
        (reg,) = result.registrations
        assert (reg.device, reg.model, reg.extra["ieee_address"]) == (
            "bulb", "LED1545G12", "0x000b57fffec6a5b2")
    with pytest.raises(PayloadRejected, match="array or object"):
        n.normalize("zigbee2mqtt/bridge/config/devices", b'"nope"')


def test_z2m_bridge_info_keyed_device_list_real_1_37() -> None:
    """z2m 1.x keys a device list by IEEE address only in bridge/info's config.devices."""
    info = corpus("zigbee2mqtt/bridge_info_1_37_0_config_devices_keyed.json")
    keyed = orjson.loads(info)["config"]["devices"]
    assert len(keyed) == 97
    assert keyed["0x00124b002260a0b2"] == {"friendly_name": "BT_water_counter"}
    n = Normalizer()
    understood = n.normalize("zigbee2mqtt/bridge/info", info, household="h1")
    assert (understood.readings, understood.registrations) == ((), ())
    # bridge/devices is always an array in z2m: the keyed shape there is refused, with why.
    with pytest.raises(PayloadRejected, match="bridge/devices must be a JSON array"):
        n.normalize("zigbee2mqtt/bridge/devices", orjson.dumps(keyed), household="h1")
    with pytest.raises(PayloadRejected, match="keyed by IEEE address"):
        n.normalize("zigbee2mqtt/bridge/info", b'{"config": {"devices": []}}')
    with pytest.raises(PayloadRejected, match="malformed JSON"):
        n.normalize("zigbee2mqtt/bridge/info", b"{")


def test_z2m_cli_bridge_info_is_understood() -> None:
    out = run_cli("--topic", "home/h1/zigbee2mqtt/bridge/info",
                  str(CORPUS / "zigbee2mqtt/bridge_info_1_37_0_config_devices_keyed.json"))
    assert (out.returncode, out.stdout) == (0, b"")


def test_z2m_legacy_entry_with_1_6_vendor_key() -> None:
    # z2m 1.6 named the vendor manufName: one entry of a bridge/log "devices" message as a
    # user posted it in yllibed/Zigbee2MqttAssistant#58 (z2m 1.6.0, 2019); the post is cut
    # off after a few entries, so the whole message is not in the corpus.
    entry = {"ieeeAddr": "0x00158d000205b9e1", "type": "EndDevice", "model": "WXKG11LM",
             "friendly_name": "BedroomButton", "nwkAddr": 25653, "manufId": 4151,
             "manufName": "LUMI", "powerSource": "Battery", "modelId": "lumi.sensor_switch.aq2"}
    (reg,) = Normalizer().normalize("zigbee2mqtt/bridge/log", orjson.dumps(
        {"type": "devices", "message": [entry]})).registrations
    assert (reg.device, reg.model, reg.manufacturer) == ("BedroomButton", "WXKG11LM", "LUMI")


def test_shelly_notify_full_status_and_events() -> None:
    n = Normalizer()
    full = n.normalize("shellyplus1-08b61fd141e8/events/rpc",
                       corpus("shelly/events_rpc_NotifyFullStatus_plus1.json"))
    ts = "2025-01-11T14:00:18.380Z"
    assert table(full) == {
        ("shellyplus1-08b61fd141e8", "switch", "0"): (True, None, ts),
        ("shellyplus1-08b61fd141e8", "device_temperature", "0"): (48.4, "°C", ts),
    }
    for name in ("events_rpc_NotifyEvent_input_config_changed_1minig3.json",
                 "events_rpc_NotifyEvent_sys_btn_down_pro3.json"):
        event = n.normalize("dev/events/rpc", corpus(f"shelly/{name}"))
        assert (event.readings, event.registrations) == ((), ())


@pytest.mark.parametrize(("topic", "path", "expected"), [
    (f"home/h1/{OMG_TOPIC}", "openmqttgateway/BTtoMQTT_LYWSD03MMC_PVVX_theengs.json",
     {"device": "A4C138CF0156", "metric": "temperature", "value": 21.12, "unit": "°C",
      "channel": None, "ts": None}),
    ("home/h1/tasmota/discovery/xxxxxxxxxxxx/config",
     "tasmota/discovery_config_huzzah_ifan_9_3_0.json",
     {"kind": "device", "device": "huzzah_1"}),
    ("home/h1/zigbee2mqtt/bridge/log",
     "zigbee2mqtt/bridge_log_legacy_pairing_interview_successful.json",
     {"kind": "device", "device": "bulb", "model": "LED1545G12"}),
    ("home/h1/shellyplus1-08b61fd141e8/events/rpc", "shelly/events_rpc_NotifyFullStatus_plus1.json",
     {"device": "shellyplus1-08b61fd141e8", "metric": "switch", "value": True}),
])
def test_cli_reads_each_family(topic: str, path: str, expected: dict[str, object]) -> None:
    out = run_cli("--topic", topic, str(CORPUS / path))
    assert out.returncode == 0, out.stderr
    first = orjson.loads(out.stdout.splitlines()[0])
    assert {k: first[k] for k in expected} == expected


def test_cli_rejects_undeclared_esphome_state_with_reason() -> None:
    out = run_cli("--topic", "home/h1/garagedoor1/sensor/garage_temperature/state", stdin=b"23.8")
    assert out.returncode != 0
    assert b"no discovery config declares" in out.stderr


def _connected(broker: Broker) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"f-{uuid.uuid4().hex[:8]}")
    ready = threading.Event()
    client.on_connect = lambda *_args: ready.set()
    client.connect(broker.host, broker.port)
    client.loop_start()
    assert ready.wait(TIMEOUT), "no CONNACK from mosquitto"
    return client


def test_new_families_through_mosquitto(broker: Broker) -> None:
    household = f"h{uuid.uuid4().hex[:6]}"
    prefix = f"home/{household}/"
    esphome = [(m["topic"], m["payload"].encode()) for m in
               orjson.loads(corpus("esphome/sequence_garagedoor1_esphome_2026_8.json"))]
    messages = [
        ("home/OpenMQTTGateway/BTtoMQTT/A4C138CF0156",
         corpus("openmqttgateway/BTtoMQTT_LYWSD03MMC_PVVX_theengs.json")),
        ("tasmota/discovery/xxxxxxxxxxxx/config",
         corpus("tasmota/discovery_config_huzzah_ifan_9_3_0.json")),
        ("zigbee2mqtt/bridge/log",
         corpus("zigbee2mqtt/bridge_log_legacy_pairing_interview_successful.json")),
        ("shellyplus1-08b61fd141e8/events/rpc",
         corpus("shelly/events_rpc_NotifyFullStatus_plus1.json")),
        *esphome,
        ("someapp/sensor/thing/state", b"1"),  # valid, but nothing declares it
    ]
    received: queue.Queue[tuple[str, bytes]] = queue.Queue()
    sub = _connected(broker)
    subscribed = threading.Event()
    sub.on_subscribe = lambda *_args: subscribed.set()
    sub.on_message = lambda _c, _u, msg: received.put((msg.topic, msg.payload))
    sub.subscribe(f"{prefix}#", qos=1)
    assert subscribed.wait(TIMEOUT)
    pub = _connected(broker)
    try:
        for topic, payload in messages:
            pub.publish(prefix + topic, payload, qos=1).wait_for_publish(TIMEOUT)
        arrived = [received.get(timeout=TIMEOUT) for _ in messages]
    finally:
        for c in (pub, sub):
            c.loop_stop()
            c.disconnect()
    norm = Normalizer()
    readings, regs, rejected = {}, set(), []
    for topic, payload in arrived:
        hh, vendor_topic = split_household(topic)
        assert hh == household
        try:
            result = norm.normalize(vendor_topic, payload, household=hh)
        except PayloadRejected as exc:
            rejected.append((vendor_topic, exc.reason))
            continue
        regs.update(r.device for r in result.registrations)
        readings.update({(r.device, r.metric, r.channel): (r.value, r.unit)
                         for r in result.readings})
    assert regs == {"huzzah_1", "bulb", "garagedoor1", "20500de464ec"}
    assert readings[("A4C138CF0156", "temperature", None)] == (21.12, "°C")
    assert readings[("shellyplus1-08b61fd141e8", "switch", "0")] == (True, None)
    assert readings[("garagedoor1", "online", None)] == (True, None)
    assert readings[("20500de464ec", "temperature", None)] == (23.8, "°C")
    assert readings[("20500de464ec", "humidity", None)] == (39.1, "%")
    assert [(t, r.split(":")[0]) for t, r in rejected] == [
        ("someapp/sensor/thing/state", "ESPHome state topic that no discovery config declares")]
