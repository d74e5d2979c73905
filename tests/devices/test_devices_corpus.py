"""Every corpus file through the Normalizer, with the values it must give."""

from __future__ import annotations

import json

import pytest
from devices_helpers import CORPUS, corpus, table

from hub.devices import Normalizer
from hub.errors import PayloadRejected
from hub.events import MetricSpec

TS_PLUG = "2024-05-09T09:22:12Z"  # last_seen 12:22:12+03:00

# (file, topic, the complete table of readings it must give)
SINGLE_MESSAGES = [
    ("zigbee2mqtt/bridge_state_json.json", "zigbee2mqtt/bridge/state",
     {("zigbee2mqtt/bridge", "online", None): (True, None, None)}),
    ("zigbee2mqtt/state_tuya_TS011F_fridge_plug.json", "zigbee2mqtt/KT_fridge_plug", {
        ("KT_fridge_plug", "power", None): (75, "W", TS_PLUG),
        ("KT_fridge_plug", "energy", None): (415.93, "kWh", TS_PLUG),
        ("KT_fridge_plug", "current", None): (0.36, "A", TS_PLUG),
        ("KT_fridge_plug", "voltage", None): (234, "V", TS_PLUG),
        ("KT_fridge_plug", "switch", None): (True, None, TS_PLUG),
    }),
    ("zigbee2mqtt/state_aqara_MCCGQ11LM_door_contact.json", "zigbee2mqtt/hl_door_sensor_garage", {
        ("hl_door_sensor_garage", "door_open", None): (True, None, "2024-05-09T09:15:36Z"),
        ("hl_door_sensor_garage", "battery", None): (90, "%", "2024-05-09T09:15:36Z"),
        ("hl_door_sensor_garage", "battery_voltage", None): (2.985, "V", "2024-05-09T09:15:36Z"),
    }),
    ("zigbee2mqtt/state_aqara_weather_WSDCGQ11LM.json",
     "zigbee2mqtt/Bedroom temperature, humidity and pressure sensor", {
        ("Bedroom temperature, humidity and pressure sensor", "temperature", None):
            (20.74, "°C", None),
        ("Bedroom temperature, humidity and pressure sensor", "humidity", None):
            (44.43, "%", None),
        ("Bedroom temperature, humidity and pressure sensor", "pressure", None):
            (957.4, "hPa", None),
        ("Bedroom temperature, humidity and pressure sensor", "battery", None): (100, "%", None),
        ("Bedroom temperature, humidity and pressure sensor", "battery_voltage", None):
            (3.025, "V", None),
    }),
    ("zigbee2mqtt/state_doc_ikea_bulb_LED1545G12.json", "zigbee2mqtt/0x000b57fffec6a5b2",
     {("0x000b57fffec6a5b2", "switch", None): (True, None, None)}),
    ("zigbee2mqtt/state_ptvo_water_pulse_counter.json", "zigbee2mqtt/BT_water_counter", {
        ("BT_water_counter", "battery", None): (100, "%", "2024-05-09T08:53:20Z"),
        ("BT_water_counter", "battery_voltage", None): (3.0, "V", "2024-05-09T08:53:20Z"),
        ("BT_water_counter", "switch", "l6"): (False, None, "2024-05-09T08:53:20Z"),
    }),
    ("zigbee2mqtt/state_tuya_TS0203_door_contact_open.json", "zigbee2mqtt/BT_door_sensor", {
        ("BT_door_sensor", "door_open", None): (True, None, "2024-05-09T09:11:53Z"),
        ("BT_door_sensor", "battery", None): (87, "%", "2024-05-09T09:11:53Z"),
        ("BT_door_sensor", "battery_voltage", None): (2.9, "V", "2024-05-09T09:11:53Z"),
    }),
    ("zigbee2mqtt/state_tuya_TS0207_water_leak.json", "zigbee2mqtt/KT_dishwasher_waterleak", {
        ("KT_dishwasher_waterleak", "water_leak", None): (False, None, "2024-05-09T07:50:45Z"),
        ("KT_dishwasher_waterleak", "battery", None): (81, "%", "2024-05-09T07:50:45Z"),
        ("KT_dishwasher_waterleak", "battery_voltage", None):
            (2.9, "V", "2024-05-09T07:50:45Z"),
    }),
    ("tasmota/stat_POWER_ON.txt", "stat/tasmota_switch/POWER",
     {("tasmota_switch", "switch", None): (True, None, None)}),
    ("tasmota/stat_RESULT_POWER_OFF.json", "stat/tasmota_switch/RESULT",
     {("tasmota_switch", "switch", None): (False, None, None)}),
    ("tasmota/stat_RESULT_rule_POWER1_string1.json", "stat/wemos-4/RESULT",
     {("wemos-4", "switch", "1"): (True, None, None)}),
    ("tasmota/tele_LWT_online.txt", "tele/tasmota_XXXXXX/LWT",
     {("tasmota_XXXXXX", "online", None): (True, None, None)}),
    ("tasmota/tele_SENSOR_ENERGY_sonoff_pow.json", "tele/pow1/SENSOR", {
        # "Time" has no zone: no ts rather than a guessed one.
        ("pow1", "energy", None): (6.294, "kWh", None),
        ("pow1", "power", None): (2635, "W", None),
        ("pow1", "voltage", None): (227, "V", None),
        ("pow1", "current", None): (11.661, "A", None),
    }),
    ("tasmota/tele_SENSOR_teleinfo_changed_only.json",
     "emoncms/ch2i/factory/denky_D6C0C0/tele/SENSOR",
     {("denky_D6C0C0", "apparent_power", None): (160, "VA", None)}),
    ("tasmota/tele_STATE_deepsleep_demo.json", "tele/demo-sensor/STATE",
     {("demo-sensor", "switch", None): (True, None, "2021-06-27T13:03:44Z")}),
    ("shelly/events_rpc_NotifyStatus_plus2pm_aenergy.json", "shellyplus2pm-Einfahrt/events/rpc",
     {("shellyplus2pm-3ce90e2f7c34", "energy", "0"):
         (0.123585, "kWh", "2023-11-03T08:26:00.130Z")}),
    ("shelly/online_true_plus2pm.txt", "shellyplus2pm-Einfahrt/online",
     {("shellyplus2pm-Einfahrt", "online", None): (True, None, None)}),
    ("shelly/status_humidity0_ht_gen3.json", "shellyhtg3-84fce63ad204/status/humidity:0",
     {("shellyhtg3-84fce63ad204", "humidity", None): (57.0, "%", None)}),
    ("shelly/status_temperature0_ht_gen3.json", "shellyhtg3-84fce63ad204/status/temperature:0",
     {("shellyhtg3-84fce63ad204", "temperature", None): (20.1, "°C", None)}),
    ("shelly/status_sys_ht_gen3_sleep.json", "shellyhtg3-84fce63ad204/status/sys", {}),
    ("shelly/status_switch0_1pmminig3_full.json", "shelly1pmminig3-5432044edbc0/status/switch:0", {
        ("shelly1pmminig3-5432044edbc0", "switch", "0"): (True, None, None),
        ("shelly1pmminig3-5432044edbc0", "power", "0"): (11.5, "W", None),
        ("shelly1pmminig3-5432044edbc0", "voltage", "0"): (240.3, "V", None),
        ("shelly1pmminig3-5432044edbc0", "current", "0"): (0.073, "A", None),
        # aenergy.total is in Wh: 152669.987 Wh = 152.669987 kWh
        ("shelly1pmminig3-5432044edbc0", "energy", "0"): (152.669987, "kWh", None),
        ("shelly1pmminig3-5432044edbc0", "energy_export", "0"): (0.0, "kWh", None),
        ("shelly1pmminig3-5432044edbc0", "device_temperature", "0"): (55.0, "°C", None),
    }),
    ("dsmr/dsmr2mqtt_gas.json", "test_dsmr/gas",
     # gas_consumed is litres although dsmr2mqtt calls it m³
     {("33313137", "gas", None): (10142.194, "m³", "2024-02-21T19:03:02Z")}),
    ("dsmr/dsmr_reader_meter_stats_dsmr_version.txt", "dsmr/meter-stats/dsmr_version",
     {("dsmr", "dsmr_version", None): ("4.2", None, None)}),
    ("dsmr/dsmr_reader_meter_stats_electricity_tariff.txt", "dsmr/meter-stats/electricity_tariff",
     {("dsmr", "tariff", None): (1, None, None)}),
    ("dsmr/gas2mqtt_gas_counter_state.json", "gas2mqtt/gas_counter/state",
     {("gas_counter", "gas", None): (0.42, "m³", None)}),
    ("dsmr/tasmota_p1_SerialReceived_gas_line.json", "tele/wemos-9/RESULT",
     # 200913100000S = 2020-09-13 10:00 CEST = 08:00Z
     {("wemos-9", "gas", None): (4139.079, "m³", "2020-09-13T08:00:00Z")}),
    ("fridge/hcpy_homeconnect_refrigerator_door_open.json", "homeconnect/refrigerator", {
        ("refrigerator", "door_open", None): (False, None, None),
        ("refrigerator", "door_open", "cooler"): (True, None, None),
        ("refrigerator", "temperature_setpoint", None): (4, "°C", None),
    }),
]


@pytest.mark.parametrize(("path", "topic", "expected"), SINGLE_MESSAGES,
                         ids=[m[0] for m in SINGLE_MESSAGES])
def test_single_message(normalizer: Normalizer, path: str, topic: str,
                        expected: dict[tuple[str, str, str | None], tuple[object, ...]]) -> None:
    result = normalizer.normalize(topic, corpus(path), household="h1")
    assert table(result) == expected
    for r in result.readings:  # bools stay bools, numbers stay numbers
        assert type(r.value) is type(expected[(r.device, r.metric, r.channel)][0])


def test_dsmr42_raw_telegram(normalizer: Normalizer) -> None:
    got = table(normalizer.normalize(
        "dsmr/raw", corpus("dsmr/raw_telegram_landisgyr350_NL_dsmr42_with_gas.txt")))
    meter = "XMX5LGBBFFB123456789"
    ts = "2016-02-10T19:30:34Z"  # 160210203034W = 20:30:34 CET
    assert got[(meter, "energy", "t1")] == (756.849, "kWh", ts)
    assert got[(meter, "energy", "t2")] == (714.405, "kWh", ts)
    assert got[(meter, "energy_export", "t1")] == (0.0, "kWh", ts)
    assert got[(meter, "power", None)] == (111.0, "W", ts)  # 00.111 kW
    assert got[(meter, "power", "l3")] == (789.0, "W", ts)
    assert got[(meter, "power_export", "l2")] == (444.0, "W", ts)
    assert got[(meter, "current", "l2")] == (222, "A", ts)
    assert got[(meter, "tariff", None)] == (2, None, ts)
    assert got[(meter, "gas", None)] == (1197.484, "m³", "2016-02-10T19:00:00Z")
    assert len(got) == 17


def test_dsmr_reader_record(normalizer: Normalizer) -> None:
    got = table(normalizer.normalize("dsmr/json",
                                     corpus("dsmr/dsmr_reader_reading_record_api.json")))
    ts = "2017-04-29T03:59:25Z"
    assert got[("dsmr", "energy", "t1")] == (1871.589, "kWh", ts)
    assert got[("dsmr", "energy", "t2")] == (1756.704, "kWh", ts)
    assert got[("dsmr", "power", None)] == (78.0, "W", ts)  # "0.078" kW as a string
    assert got[("dsmr", "power", "l2")] == (54.0, "W", ts)
    assert got[("dsmr", "gas", None)] == (1971.929, "m³", "2017-04-29T03:00:00Z")
    assert len(got) == 13


def test_z2m_sequence_and_availability(normalizer: Normalizer) -> None:
    frames = json.loads(corpus("zigbee2mqtt/sequence_fridge_plug_and_mains_meter.json"))
    powers = []
    for frame in frames:
        got = table(normalizer.normalize("zigbee2mqtt/" + frame["topic"],
                                         json.dumps(frame["payload"]).encode()))
        device = frame["topic"]
        powers.append((device, got[(device, "power", None)][0]))
    mains, fridge = "HL_electric_power_input", "KT_fridge_plug"
    assert powers == [(mains, 245), (fridge, 75), (mains, 245), (mains, 245), (fridge, 75),
                      (mains, 237.6), (mains, 237.6), (mains, 237.6), (fridge, 75),
                      (mains, 237.6), (mains, 244.5), (mains, 244.5)]
    frames = json.loads(corpus("zigbee2mqtt/availability_json_online_offline.json"))
    states = []
    for frame in frames:
        result = normalizer.normalize("zigbee2mqtt/" + frame["topic"],
                                      json.dumps(frame["payload"]).encode())
        (r,) = result.readings
        states.append((r.device, r.metric, r.value))
    assert states == [("KT_illuminance", "online", True), ("BT_first_lamp", "online", False),
                      ("BT_second_lamp", "online", False), ("BR_led_strip", "online", False)]


@pytest.mark.parametrize("word", [b"online", b"ONLINE", b"Online", b"offline", b"OFFLINE"])
def test_z2m_legacy_bare_availability(normalizer: Normalizer, word: bytes) -> None:
    (r,) = normalizer.normalize("zigbee2mqtt/lamp/availability", word).readings
    assert (r.device, r.metric, r.value) == ("lamp", "online", word.lower() == b"online")


def test_z2m_bridge_devices_registers_units(normalizer: Normalizer) -> None:
    result = normalizer.normalize("zigbee2mqtt/bridge/devices",
                                  corpus("zigbee2mqtt/bridge_devices_subset_tuya_install.json"),
                                  household="h1")
    regs = {r.device: r for r in result.registrations}
    assert set(regs) == {"KT_fridge_plug", "KT_waterleak", "BT_door_sensor",
                         "HL_electric_power_input", "BT_water_counter"}
    plug = regs["KT_fridge_plug"]
    assert (plug.kind, plug.model, plug.manufacturer) == ("device", "TS011F_plug_1", "TuYa")
    assert set(plug.metrics) >= {MetricSpec(metric="power", unit="W"),
                                 MetricSpec(metric="energy", unit="kWh"),
                                 MetricSpec(metric="voltage", unit="V"),
                                 MetricSpec(metric="current", unit="A")}
    assert MetricSpec(metric="door_open") in regs["BT_door_sensor"].metrics
    assert MetricSpec(metric="water_leak") in regs["KT_waterleak"].metrics
    assert MetricSpec(metric="switch", channel="l6") in regs["BT_water_counter"].metrics
    # The declared mV unit makes a later state's voltage the battery's, not mains.
    got = table(normalizer.normalize("zigbee2mqtt/KT_waterleak", b'{"voltage": 3005}',
                                     household="h1"))
    assert got == {("KT_waterleak", "battery_voltage", None): (3.005, "V", None)}


def test_z2m_bogus_zero_climate_is_not_a_reading(normalizer: Normalizer) -> None:
    payload = b'{"temperature": 0, "humidity": 0, "pressure": null, "battery": 80}'
    got = table(normalizer.normalize("zigbee2mqtt/weather", payload))
    assert got == {("weather", "battery", None): (80, "%", None)}
    real = table(normalizer.normalize("zigbee2mqtt/weather", b'{"temperature": 0, "humidity": 55}'))
    assert real[("weather", "temperature", None)] == (0, "°C", None)


def test_z2m_commands_are_understood_without_readings(normalizer: Normalizer) -> None:
    for topic in ("zigbee2mqtt/lamp/set", "zigbee2mqtt/lamp/get", "zigbee2mqtt/bridge/info"):
        result = normalizer.normalize(topic, b'{"state": "ON"}')
        assert result.readings == ()
        assert result.registrations == ()


def test_shelly_custom_prefix_maps_to_src(normalizer: Normalizer) -> None:
    normalizer.normalize("shellyplus2pm-Einfahrt/events/rpc",
                         corpus("shelly/events_rpc_NotifyStatus_plus2pm_aenergy.json"),
                         household="h1")
    (r,) = normalizer.normalize("shellyplus2pm-Einfahrt/online", b"false", household="h1").readings
    assert (r.device, r.metric, r.value) == ("shellyplus2pm-3ce90e2f7c34", "online", False)
    # another household's same prefix is not affected
    (r,) = normalizer.normalize("shellyplus2pm-Einfahrt/online", b"true", household="h2").readings
    assert r.device == "shellyplus2pm-Einfahrt"


def test_homeassistant_binary_sensor_discovery_then_state(normalizer: Normalizer) -> None:
    result = normalizer.normalize("homeassistant/binary_sensor/garden/config",
                                  corpus("homeassistant/discovery_binary_sensor_motion_doc.json"),
                                  household="h1")
    (reg,) = result.registrations
    assert (reg.kind, reg.device, reg.name) == ("discovery", "garden", "garden")
    assert reg.metrics == (MetricSpec(metric="motion"),)
    got = table(normalizer.normalize("homeassistant/binary_sensor/garden/state",
                                     corpus("homeassistant/state_binary_sensor_garden_ON.txt"),
                                     household="h1"))
    assert got == {("garden", "motion", None): (True, None, None)}
    with pytest.raises(PayloadRejected, match="no discovery config"):
        normalizer.normalize("homeassistant/binary_sensor/garden/state", b"ON", household="h2")
    # an empty retained config removes the entity
    assert normalizer.normalize("homeassistant/binary_sensor/garden/config", b"",
                                household="h1").registrations == ()
    with pytest.raises(PayloadRejected):
        normalizer.normalize("homeassistant/binary_sensor/garden/state", b"ON", household="h1")


def test_homeassistant_temperature_template(normalizer: Normalizer) -> None:
    (reg,) = normalizer.normalize(
        "homeassistant/sensor/sensorBedroomT/config",
        corpus("homeassistant/discovery_sensor_temperature_doc.json")).registrations
    assert reg.metrics == (MetricSpec(metric="temperature", unit="°C"),)
    got = table(normalizer.normalize("homeassistant/sensor/sensorBedroom/state",
                                     b'{"temperature": 23.2, "humidity": 43.7}'))
    assert got == {("sensorBedroomT", "temperature", None): (23.2, "°C", None)}


def test_homeassistant_abbreviated_device(normalizer: Normalizer) -> None:
    (reg,) = normalizer.normalize(
        "homeassistant/sensor/temp01ae_t/config",
        corpus("homeassistant/discovery_single_component_sensor_abbrev_doc.json"),
    ).registrations
    assert (reg.device, reg.manufacturer, reg.model, reg.name) == (
        "ea334450945afc", "Bla electronics", "xya", "Kitchen")
    got = table(normalizer.normalize("sensorBedroom/state", b'{"temperature": 19.5}'))
    assert got == {("ea334450945afc", "temperature", None): (19.5, "°C", None)}


def test_homeassistant_device_based_cmps(normalizer: Normalizer) -> None:
    (reg,) = normalizer.normalize(
        "homeassistant/device/0AFFD2/config",
        corpus("homeassistant/discovery_device_based_doc.json")).registrations
    assert reg.device == "0AFFD2"
    assert reg.extra["state_topics"] == ["foobar/sensor/sensor1"]
    got = table(normalizer.normalize("foobar/sensor/sensor1", b"12.5"))
    assert got == {("0AFFD2", "bla2", None): (12.5, None, None)}
    # the device trigger's topic is known and carries no readings
    assert normalizer.normalize("foobar/triggers/button1", b"short_press").readings == ()


def test_homeassistant_tasmota_abbrev_and_availability(normalizer: Normalizer) -> None:
    (reg,) = normalizer.normalize(
        "homeassistant/sensor/26E679_ENERGY_TotalStartTime/config",
        corpus("homeassistant/discovery_tasmota_ENERGY_TotalStartTime_abbrev_issue93086.json"),
    ).registrations
    # unit_of_meas is a single space: no unit, a generic metric named after the field
    assert reg.device == "26E679"
    assert reg.metrics == (MetricSpec(metric="total_start_time", unit=None),)
    # Tasmota's own adapter still reads its SENSOR topic natively ...
    got = table(normalizer.normalize("Pracka_Zasuvka/tele/SENSOR",
                                     corpus("tasmota/tele_SENSOR_ENERGY_sonoff_pow.json")))
    assert got[("Pracka_Zasuvka", "power", None)] == (2635, "W", None)
    # ... and the declared availability topic with its custom payloads
    (r,) = normalizer.normalize("Pracka_Zasuvka/tele/LWT", b"Offline").readings
    assert (r.metric, r.value) == ("online", False)


def test_smartthings_status(normalizer: Normalizer) -> None:
    result = normalizer.normalize_source(
        "smartthings", corpus("fridge/smartthings_refrigerator_status_da_ref_normal_01011.json"))
    got = table(result)
    dev = "aafdee8c-4ede-2ed7-9d29-d596b84d65aa"
    assert got[(dev, "temperature", "cooler")] == (4, "°C", "2025-02-02T13:55:47.062Z")
    assert got[(dev, "temperature", "freezer")] == (-18, "°C", "2025-02-02T13:55:47.067Z")
    assert got[(dev, "door_open", "cooler")] == (False, None, "2025-02-10T09:18:48.798Z")
    assert got[(dev, "door_open", "freezer")] == (False, None, "2025-02-10T08:45:49.322Z")
    assert got[(dev, "door_open", None)] == (False, None, "2025-02-10T09:18:48.798Z")
    assert got[(dev, "switch", "icemaker")] == (True, None, "2025-02-10T07:25:45.714Z")
    assert got[(dev, "energy", None)] == (12.123, "kWh", "2025-02-10T11:32:26.061Z")  # 12123 Wh
    assert got[(dev, "power", None)] == (3, "W", "2025-02-10T11:32:26.061Z")
    assert len(got) == 10
    # with the device id the bridge knows from the URL
    again = normalizer.normalize_source(
        "smartthings", corpus("fridge/smartthings_refrigerator_status_da_ref_normal_01011.json"),
        device="fridge-1")
    assert {r.device for r in again.readings} == {"fridge-1"}


def test_smartthings_fahrenheit_and_event(normalizer: Normalizer) -> None:
    status = {"components": {"freezer": {"temperatureMeasurement": {"temperature": {
        "value": 0, "unit": "F", "timestamp": "2025-02-02T13:55:47.067Z"}}}}}
    got = table(normalizer.normalize_source("smartthings", json.dumps(status).encode(),
                                            device="f"))
    assert got == {("f", "temperature", "freezer"): (-17.78, "°C", "2025-02-02T13:55:47.067Z")}
    got = table(normalizer.normalize_source(
        "smartthings", corpus("fridge/smartthings_device_event_subscription.json")))
    assert got == {("440063de-a200-40b5-8a6b-f3399eaa0370", "switch", None):
                   (True, None, "2025-02-13T21:01:36.560Z")}  # eventTime in ms


def test_homeconnect_sse(normalizer: Normalizer) -> None:
    got = table(normalizer.normalize_source(
        "homeconnect", corpus("fridge/homeconnect_sse_STATUS_doorstate_open_washer.txt")))
    assert got == {("SIEMENS-WM14T6H9NL-AB1234567890", "door_open", None):
                   (True, None, "2023-02-20T12:57:25Z")}
    got = table(normalizer.normalize_source(
        "homeconnect", corpus("fridge/homeconnect_sse_EVENT_program_finished.txt")))
    assert got == {("SIEMENS-WM14T6H9NL-AB1234567890", "program_finished", None):
                   (True, None, "2022-01-12T15:25:23Z")}
    frames = (b"event:KEEP-ALIVE\ndata:\n\nevent:STATUS\ndata:{\"haId\":\"F1\",\"items\":[{"
              b"\"key\":\"Refrigeration.Common.Status.Door.Freezer\",\"value\":"
              b"\"Refrigeration.Common.EnumType.Door.States.Closed\",\"timestamp\":1700000000}]}"
              b"\n\nevent:DISCONNECTED\ndata:{\"haId\":\"F1\"}\n\n")
    got = table(normalizer.normalize_source("homeconnect", frames))
    assert got == {("F1", "door_open", "freezer"): (False, None, "2023-11-14T22:13:20Z"),
                   ("F1", "online", None): (False, None, None)}


def test_grocy_documents(normalizer: Normalizer) -> None:
    got = table(normalizer.normalize_source(
        "grocy", corpus("fridge/grocy_product_detail_milk_fridge.json"), household="h1"))
    assert got == {("grocy", "stock", "Milk"): (2.0, "Bottle", None)}
    # the unit id learned from the product detail names the overview's Milk unit
    got = table(normalizer.normalize_source(
        "grocy", corpus("fridge/grocy_stock_overview.json"), household="h1"))
    assert len(got) == 20
    assert got[("grocy", "stock", "Milk")] == (2.0, "Bottle", None)
    assert got[("grocy", "stock", "Crisps")] == (25.0, None, None)
    assert got[("grocy", "stock", "Flour")] == (2000.0, None, None)
    got = table(normalizer.normalize_source(
        "grocy", corpus("fridge/grocy_shopping_list.json"), household="h1"))
    assert got[("grocy", "shopping_list", "Some good snacks")] == (1.0, None, None)
    assert len(got) == 7


def test_grocy_volatile_flags(normalizer: Normalizer) -> None:
    units = [{"id": "3", "name": "Pack", "name_plural": "Packs"}]
    normalizer.normalize_source("grocy", json.dumps(units).encode(), household="h1")
    overview = json.loads(corpus("fridge/grocy_stock_overview.json"))
    volatile = {
        "due_products": [overview[0]],
        "overdue_products": [],
        "expired_products": [overview[2]],
        "missing_products": [{"id": "22", "name": "Sugar", "amount_missing": "3",
                              "is_partly_in_stock": "1"}],
    }
    got = table(normalizer.normalize_source("grocy", json.dumps(volatile).encode(),
                                            household="h1"))
    assert got == {
        ("grocy", "stock", "Chocolate"): (5.0, "Pack", None),
        ("grocy", "stock_due", "Chocolate"): (True, None, None),
        ("grocy", "stock", "Crisps"): (25.0, "Pack", None),
        ("grocy", "stock_expired", "Crisps"): (True, None, None),
        ("grocy", "stock_missing", "Sugar"): (3.0, None, None),
    }


def test_every_corpus_file_is_covered() -> None:
    """No corpus file copied here escapes the tests above."""
    covered = {m[0] for m in SINGLE_MESSAGES} | {
        "dsmr/raw_telegram_landisgyr350_NL_dsmr42_with_gas.txt",
        "dsmr/dsmr_reader_reading_record_api.json",
        "zigbee2mqtt/sequence_fridge_plug_and_mains_meter.json",
        "zigbee2mqtt/availability_json_online_offline.json",
        "zigbee2mqtt/bridge_devices_subset_tuya_install.json",
        "homeassistant/discovery_binary_sensor_motion_doc.json",
        "homeassistant/state_binary_sensor_garden_ON.txt",
        "homeassistant/discovery_sensor_temperature_doc.json",
        "homeassistant/discovery_single_component_sensor_abbrev_doc.json",
        "homeassistant/discovery_device_based_doc.json",
        "homeassistant/discovery_tasmota_ENERGY_TotalStartTime_abbrev_issue93086.json",
        "fridge/smartthings_refrigerator_status_da_ref_normal_01011.json",
        "fridge/smartthings_device_event_subscription.json",
        "fridge/homeconnect_sse_STATUS_doorstate_open_washer.txt",
        "fridge/homeconnect_sse_EVENT_program_finished.txt",
        "fridge/grocy_product_detail_milk_fridge.json",
        "fridge/grocy_stock_overview.json",
        "fridge/grocy_shopping_list.json",
        # test_devices_formats.py
        "openmqttgateway/BTtoMQTT_LYWSD03MMC_PVVX_theengs.json",
        "openmqttgateway/BTtoMQTT_BeeWi_BSDOO_door_open_theengs.json",
        "esphome/sequence_garagedoor1_esphome_2026_8.json",
        "tasmota/discovery_config_huzzah_ifan_9_3_0.json",
        "tasmota/discovery_sensors_time_only_9_3_0.json",
        "zigbee2mqtt/bridge_log_legacy_pairing_interview_successful.json",
        "zigbee2mqtt/bridge_log_legacy_pairing_unsupported.json",
        "zigbee2mqtt/bridge_log_legacy_device_removed_left_network.json",
        "shelly/events_rpc_NotifyFullStatus_plus1.json",
        "shelly/events_rpc_NotifyEvent_input_config_changed_1minig3.json",
        "shelly/events_rpc_NotifyEvent_sys_btn_down_pro3.json",
        "zigbee2mqtt/bridge_info_1_37_0_config_devices_keyed.json",
        # test_devices_statestream.py
        "homeassistant/statestream_doc_light_master_bedroom_dimmer_state_on.txt",
        "homeassistant/statestream_doc_light_master_bedroom_dimmer_last_updated.txt",
        "homeassistant/statestream_mosquitto_sub_issue11225_state_attribute_collision.txt",
    }
    present = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.is_file()
               and p.name != "SOURCES.md" and p.parent.name in
               ("zigbee2mqtt", "tasmota", "shelly", "homeassistant", "dsmr", "fridge",
                                   "esphome", "openmqttgateway")}
    assert present == covered


def test_homeassistant_tilde_and_availability_list(normalizer: Normalizer) -> None:
    config = {"~": "kitchen/fridge", "stat_t": "~/state", "dev_cla": "temperature",
              "unit_of_meas": "°F", "val_tpl": "{{ value_json['t'] | float | round(1) }}",
              "avty": [{"t": "~/avail", "pl_avail": "up", "pl_not_avail": "down"}],
              "dev": {"ids": ["fr1"], "mf": "Acme"}, "name": "Fridge"}
    (reg,) = normalizer.normalize("homeassistant/sensor/node/fr1_t/config",
                                  json.dumps(config).encode()).registrations
    assert reg.extra["state_topics"] == ["kitchen/fridge/state"]
    got = table(normalizer.normalize("kitchen/fridge/state", b'{"t": 39.2}'))
    assert got == {("fr1", "temperature", None): (4.0, "°C", None)}  # °F converted
    (r,) = normalizer.normalize("kitchen/fridge/avail", b"down").readings
    assert (r.device, r.metric, r.value) == ("fr1", "online", False)


def test_homeassistant_entities_sharing_availability(normalizer: Normalizer) -> None:
    for field in ("Power", "Total"):
        config = {"name": f"plug {field}", "stat_t": "plug/tele/SENSOR", "avty_t": "plug/avail",
                  "pl_avail": "Online", "pl_not_avail": "Offline", "dev": {"ids": ["P1"]},
                  "val_tpl": f"{{{{ value_json.ENERGY.{field} }}}}"}
        normalizer.normalize(f"homeassistant/sensor/P1_{field}/config", json.dumps(config).encode())
    (r,) = normalizer.normalize("plug/avail", b"Offline").readings  # one reading, not two
    assert (r.device, r.value) == ("P1", False)
    normalizer.normalize("homeassistant/sensor/P1_Power/config", b"")  # one entity removed
    (r,) = normalizer.normalize("plug/avail", b"Online").readings  # the other still declares it
    assert (r.device, r.value) == ("P1", True)


def test_z2m_old_illuminance_pair(normalizer: Normalizer) -> None:
    payload = b'{"illuminance": 16987, "illuminance_lux": 50}'
    got = table(normalizer.normalize("zigbee2mqtt/lux", payload))
    assert got == {("lux", "illuminance", None): (50, "lx", None)}
