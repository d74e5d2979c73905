"""Corpus payloads through the running hub: real broker, the hub's pipeline, its twin."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

from devices_helpers import corpus

from hub.config import Settings
from hub.service import Hub
from tests.conftest import Broker
from tests.mqtt_helpers import client, wait_until


async def test_corpus_payloads_through_the_running_pipeline(broker: Broker, tmp_path: Path) -> None:
    household = f"h{uuid.uuid4().hex[:6]}"
    messages = [
        ("zigbee2mqtt/bridge/devices", corpus("zigbee2mqtt/bridge_devices_subset_tuya_install.json")),
        ("zigbee2mqtt/KT_fridge_plug", corpus("zigbee2mqtt/state_tuya_TS011F_fridge_plug.json")),
        ("zigbee2mqtt/BT_door_sensor", corpus("zigbee2mqtt/state_tuya_TS0203_door_contact_open.json")),
        ("tele/pow1/SENSOR", corpus("tasmota/tele_SENSOR_ENERGY_sonoff_pow.json")),
        ("shelly1pmminig3-5432044edbc0/status/switch:0", corpus("shelly/status_switch0_1pmminig3_full.json")),
        ("homeassistant/sensor/sensorBedroomT/config", corpus("homeassistant/discovery_sensor_temperature_doc.json")),
        ("homeassistant/sensor/sensorBedroom/state", b'{"temperature": 21.5}'),
        ("dsmr/raw", corpus("dsmr/raw_telegram_landisgyr350_NL_dsmr42_with_gas.txt")),
        ("test_dsmr/gas", corpus("dsmr/dsmr2mqtt_gas.json")),
        ("homeconnect/refrigerator", corpus("fridge/hcpy_homeconnect_refrigerator_door_open.json")),
        ("fridge-17/telemetry", json.dumps({"items": {"milk": {"qty": 0.4, "unit": "l"}}, "door_open": False,
                                            "temp_c": 4.1, "ts": 1764072000.5}).encode()),
        ("zigbee2mqtt/BT_door_sensor", b'{"contact": NaN}'),
    ]
    settings = Settings(mqtt_url=f"mqtt://127.0.0.1:{broker.port}", mqtt_client_id=f"dev-{household}",
                        data_dir=tmp_path, api_port=0)
    hub = Hub(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(hub.run(stop))
    try:
        await asyncio.wait_for(hub.ready.wait(), 10)
        with client(broker.port) as (gateway, _):
            for topic, payload in messages:
                gateway.publish(f"home/{household}/{topic}", payload, qos=1).wait_for_publish(10)
        await wait_until(lambda: any(r["household"] == household for r in hub.dead_letters.recent(20)))
        await wait_until(lambda: hub.twin.device(household, "fridge-17") is not None)

        def value(device: str, metric: str, channel: str | None = None) -> object:
            twin = hub.twin.device(household, device)
            assert twin is not None, f"{device} never reached the twin"
            return twin.value(metric, channel)

        plug = hub.twin.device(household, "KT_fridge_plug")
        assert plug is not None
        assert plug.model == "TS011F_plug_1"  # z2m definition.model
        assert value("KT_fridge_plug", "power") == 75
        assert value("KT_fridge_plug", "energy") == 415.93
        assert value("BT_door_sensor", "door_open") is True
        assert value("pow1", "power") == 2635
        assert value("shelly1pmminig3-5432044edbc0", "energy", "0") == 152.669987
        assert value("sensorBedroomT", "temperature") == 21.5
        assert value("XMX5LGBBFFB123456789", "energy", "t1") == 756.849
        assert value("33313137", "gas") == 10142.194
        assert value("refrigerator", "door_open", "cooler") is True
        assert value("fridge-17", "stock", "milk") == 0.4
        (rejected,) = [r for r in hub.dead_letters.recent(20) if r["household"] == household]
        assert rejected["topic"] == f"home/{household}/zigbee2mqtt/BT_door_sensor"
        assert "NaN" in rejected["reason"] or "malformed" in rejected["reason"].lower()
    finally:
        stop.set()
        await asyncio.wait_for(task, 6)
