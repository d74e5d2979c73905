"""Home Assistant's MQTT statestream: a household's HA entities become readings.

The real samples (tests/fixtures/corpus/homeassistant/SOURCES.md) are HA's documented
payloads and a ``mosquitto_sub -v`` capture posted in home-assistant/core#11225. The unit
mapping is driven with messages this test writes in statestream's documented encoding
(state bare, attributes JSON-encoded), as no public capture with units was found.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import orjson
import pytest
from devices_helpers import corpus, run_cli, table

from hub.config import Settings
from hub.devices import Normalizer
from hub.errors import PayloadRejected
from hub.events import MetricSpec
from hub.service import Hub
from tests.conftest import Broker
from tests.mqtt_helpers import client, wait_until

DOC_STATE = "homeassistant/statestream_doc_light_master_bedroom_dimmer_state_on.txt"
DOC_UPDATED = "homeassistant/statestream_doc_light_master_bedroom_dimmer_last_updated.txt"
ISSUE_11225 = "homeassistant/statestream_mosquitto_sub_issue11225_state_attribute_collision.txt"


def capture(path: str) -> list[tuple[str, bytes]]:
    """``mosquitto_sub -v`` lines: (topic, payload)."""
    lines = corpus(path).decode().splitlines()
    return [(t, p.encode()) for t, p in (line.split(" ", 1) for line in lines)]


def entity(n: Normalizer, entity_id: str, state: bytes, attributes: dict[str, object],
           household: str = "h1") -> list[object]:
    """Publish one entity as statestream does: the state, then each attribute JSON-encoded."""
    domain, object_id = entity_id.split(".")
    base = f"statestream/{domain}/{object_id}"
    out = [n.normalize(f"{base}/state", state, household=household)]
    out += [n.normalize(f"{base}/{k}", orjson.dumps(v), household=household)
            for k, v in attributes.items()]
    return out


def readings(results: list[object]) -> dict[tuple[str, str, str | None], tuple[object, ...]]:
    got: dict[tuple[str, str, str | None], tuple[object, ...]] = {}
    for r in results:
        got.update(table(r))  # type: ignore[arg-type]
    return got


def test_documented_light_state_and_timestamp(normalizer: Normalizer) -> None:
    got = normalizer.normalize("statestream/light/master_bedroom_dimmer/state",
                               corpus(DOC_STATE), household="h1")
    assert table(got) == {("light.master_bedroom_dimmer", "switch", None): (True, None, None)}
    stamp = normalizer.normalize("statestream/light/master_bedroom_dimmer/last_updated",
                                 corpus(DOC_UPDATED), household="h1")
    assert (stamp.readings, stamp.registrations) == ((), ())


def test_documented_homeassistant_base_is_refused_with_the_way_out(normalizer: Normalizer
                                                                   ) -> None:
    # Under homeassistant/ a state topic is discovery's: statestream is not guessed there.
    with pytest.raises(PayloadRejected, match="base topic statestream"):
        normalizer.normalize("homeassistant/light/master_bedroom_dimmer/state",
                             corpus(DOC_STATE), household="h1")


def test_issue_11225_capture_state_and_state_attribute(normalizer: Normalizer) -> None:
    (t1, p1), (t2, p2), (t3, p3), (t4, p4) = capture(ISSUE_11225)
    assert t1 == "statestream/blah/sensor/device_name/state"
    # First state of an entity whose attributes never came: held for them.
    assert normalizer.normalize(t1, p1, household="h1").readings == ()
    for topic, payload in ((t2, p2), (t4, p4)):
        with pytest.raises(PayloadRejected, match="attribute named state"):
            normalizer.normalize(topic, payload, household="h1")
    # The next state, still without attributes: read with the metric named after it.
    assert table(normalizer.normalize(t3, p3, household="h1")) == {
        ("sensor.device_name", "device_name", None): (10, None, None)}


def test_units_map_to_the_vocabulary(normalizer: Normalizer) -> None:
    got = readings(
        entity(normalizer, "sensor.kitchen_temperature", b"71.6",
               {"state_class": "measurement", "unit_of_measurement": "°F",
                "device_class": "temperature", "friendly_name": "Kitchen temperature"})
        + entity(normalizer, "sensor.heat_pump_power", b"1.25",
                 {"unit_of_measurement": "kW", "device_class": "power"})
        + entity(normalizer, "sensor.meter_energy", b"415930",
                 {"unit_of_measurement": "Wh", "device_class": "energy"})
        + entity(normalizer, "sensor.bathroom_humidity", b"63",
                 {"unit_of_measurement": "%", "device_class": "humidity"})
        + entity(normalizer, "sensor.phone_battery", b"80",
                 {"unit_of_measurement": "%", "device_class": "battery"})
        + entity(normalizer, "sensor.gas_meter", b"1234.5",
                 {"unit_of_measurement": "ft³", "device_class": "gas"})
        + entity(normalizer, "sensor.power", b"300",
                 {"unit_of_measurement": "VA", "friendly_name": "Apparent power"})
        + entity(normalizer, "binary_sensor.front_door", b"on", {"device_class": "door"})
        + entity(normalizer, "binary_sensor.sink_leak", b"off", {"device_class": "moisture"})
        + entity(normalizer, "switch.coffee_maker", b"off", {"friendly_name": "Coffee"}))
    assert got == {
        ("sensor.kitchen_temperature", "temperature", None): (22.0, "°C", None),
        ("sensor.heat_pump_power", "power", None): (1250.0, "W", None),
        ("sensor.meter_energy", "energy", None): (415.93, "kWh", None),
        ("sensor.bathroom_humidity", "humidity", None): (63, "%", None),
        ("sensor.phone_battery", "battery", None): (80, "%", None),
        # ft³ is no unit of the vocabulary: kept as given, under the entity's own name.
        ("sensor.gas_meter", "gas_meter", None): (1234.5, "ft³", None),
        ("sensor.power", "ha_power", None): (300, "VA", None),
        ("binary_sensor.front_door", "door_open", None): (True, None, None),
        ("binary_sensor.sink_leak", "water_leak", None): (False, None, None),
        ("switch.coffee_maker", "switch", None): (False, None, None),
    }
    # Later states are read at once, with what the attributes said.
    later = normalizer.normalize("statestream/sensor/kitchen_temperature/state", b"50",
                                 household="h1")
    assert table(later) == {("sensor.kitchen_temperature", "temperature", None):
                            (10.0, "°C", None)}


def test_attributes_register_the_entity_with_its_name(normalizer: Normalizer) -> None:
    results = entity(normalizer, "sensor.kitchen_temperature", b"21.5",
                     {"unit_of_measurement": "°C", "device_class": "temperature",
                      "friendly_name": "Kitchen temperature"})
    reg = results[-1].registrations[0]  # type: ignore[attr-defined]
    assert (reg.kind, reg.device, reg.name, reg.manufacturer, reg.model) == (
        "device", "sensor.kitchen_temperature", "Kitchen temperature", "Home Assistant",
        "sensor")
    assert reg.metrics == (MetricSpec(metric="temperature", unit="°C"),)


def test_unavailable_unknown_and_quiet_domains(normalizer: Normalizer) -> None:
    entity(normalizer, "sensor.outdoor", b"4.5", {"unit_of_measurement": "°C"})
    n = normalizer
    assert table(n.normalize("statestream/sensor/outdoor/state", b"unavailable",
                             household="h1")) == {("sensor.outdoor", "online", None):
                                                  (False, None, None)}
    assert n.normalize("statestream/sensor/outdoor/state", b"unknown", household="h1") \
        .readings == ()
    for topic, payload in (("statestream/sun/sun/state", b"above_horizon"),
                           ("statestream/person/anna/state", b"home"),
                           ("statestream/light/desk/brightness", b"255")):
        got = n.normalize(topic, payload, household="h1")
        assert (got.readings, got.registrations) == ((), ())


@pytest.mark.parametrize(("topic", "payload", "reason"), [
    ("statestream/fake/entity/state", b"on", "unknown Home Assistant domain 'fake'"),
    ("statestream/sensor/Kitchen-Temp/state", b"1", "not a Home Assistant object id"),
    ("statestream/binary_sensor/door/state", b"ajar", "neither on nor off"),
    ("statestream/sensor/x/state", b"\xff\xfe", "not valid UTF-8"),
    ("statestream/sensor/x", b"1", "must end in <domain>/<object_id>"),
    ("statestream/sensor/x/unit_of_measurement", b"[1]", "must be a JSON string"),
])
def test_rejections_say_why(topic: str, payload: bytes, reason: str) -> None:
    with pytest.raises(PayloadRejected, match=reason):
        Normalizer().normalize(topic, payload, household="h1")


def test_number_metric_with_text_state_is_rejected(normalizer: Normalizer) -> None:
    entity(normalizer, "sensor.attic", b"20", {"unit_of_measurement": "°C"})
    with pytest.raises(PayloadRejected, match="temperature state 'warm' is not a number"):
        normalizer.normalize("statestream/sensor/attic/state", b"warm", household="h1")


def test_households_are_kept_apart(normalizer: Normalizer) -> None:
    entity(normalizer, "sensor.attic", b"20", {"unit_of_measurement": "°C"}, household="h1")
    # h2 never said what sensor.attic measures: its first state waits for the attributes.
    assert normalizer.normalize("statestream/sensor/attic/state", b"20",
                                household="h2").readings == ()


def test_cli_reads_statestream_and_refuses_with_reason(tmp_path: Path) -> None:
    out = run_cli("--topic", "home/h1/statestream/light/master_bedroom_dimmer/state",
                  str(Path(__file__).resolve().parents[1] / "fixtures" / "corpus" / DOC_STATE))
    assert out.returncode == 0, out.stderr
    assert orjson.loads(out.stdout) == {"device": "light.master_bedroom_dimmer",
                                        "metric": "switch", "value": True, "unit": None,
                                        "channel": None, "ts": None}
    unit = run_cli("--topic", "home/h1/statestream/sensor/attic/unit_of_measurement",
                   stdin='"°F"'.encode())
    assert unit.returncode == 0, unit.stderr
    reg = orjson.loads(unit.stdout)
    assert (reg["kind"], reg["device"], reg["metrics"]) == (
        "device", "sensor.attic", [{"metric": "temperature", "unit": "°C", "channel": None}])
    refused = run_cli("--topic", "home/h1/statestream/sensor/attic/state", stdin=b'"warm"')
    assert refused.returncode == 2
    assert b"attribute named state" in refused.stderr


async def test_statestream_through_the_running_hub(broker: Broker, tmp_path: Path) -> None:
    """A household's HA publishes its statestream, retained, to the real broker."""
    household = f"h{uuid.uuid4().hex[:6]}"
    topic = f"home/{household}/statestream/sensor/kitchen_temperature"
    messages = [
        (f"{topic}/state", b"71.6"),
        (f"{topic}/unit_of_measurement", '"°F"'.encode()),
        (f"{topic}/device_class", b'"temperature"'),
        (f"{topic}/friendly_name", b'"Kitchen temperature"'),
        (f"home/{household}/statestream/light/master_bedroom_dimmer/state", corpus(DOC_STATE)),
        *((f"home/{household}/{t}", p) for t, p in capture(ISSUE_11225)[:2]),
    ]
    settings = Settings(mqtt_url=f"mqtt://127.0.0.1:{broker.port}",
                        mqtt_client_id=f"dev-{household}", data_dir=tmp_path, api_port=0)
    hub = Hub(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(hub.run(stop))
    try:
        await asyncio.wait_for(hub.ready.wait(), 10)
        with client(broker.port) as (ha, _):
            for t, payload in messages:
                ha.publish(t, payload, qos=1, retain=True).wait_for_publish(10)
        await wait_until(lambda: any(r["household"] == household
                                     for r in hub.dead_letters.recent(20)))
        await wait_until(lambda: hub.twin.device(household, "light.master_bedroom_dimmer")
                         is not None)
        kitchen = hub.twin.device(household, "sensor.kitchen_temperature")
        assert kitchen is not None
        assert kitchen.name == "Kitchen temperature"
        assert kitchen.value("temperature") == 22.0
        light = hub.twin.device(household, "light.master_bedroom_dimmer")
        assert light is not None
        assert light.value("switch") is True
        (dead,) = [r for r in hub.dead_letters.recent(20) if r["household"] == household]
        assert dead["topic"].endswith("statestream/blah/sensor/device_name/state")
        assert "attribute named state" in dead["reason"]
    finally:
        stop.set()
        await asyncio.wait_for(task, 6)
        with client(broker.port) as (ha, _):  # clear what this test retained
            for t, _payload in messages:
                ha.publish(t, b"", qos=1, retain=True).wait_for_publish(10)
