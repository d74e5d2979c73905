"""Home Assistant MQTT statestream: a household's own HA entities as readings.

HA's ``mqtt_statestream`` integration publishes each state change of an entity
``<domain>.<object_id>`` to ``<base_topic>/<domain>/<object_id>/state`` as bare text
(``on``, ``21.5``, ``unavailable``), and with ``publish_attributes: true`` every attribute,
JSON-encoded, to ``<base_topic>/<domain>/<object_id>/<attribute>`` (``"°C"``,
``"temperature"``, ``255``); ``publish_timestamps: true`` adds ``last_changed`` and
``last_updated``. All retained, the state first, then the attributes.

The hub reads the base topic ``statestream`` (any depth below it: the link wizard's snippet
sets ``home/<household>/statestream``). Under ``homeassistant/`` a state topic belongs to
discovery (``_homeassistant``), so statestream is not guessed there.

Readings (device = the entity id, e.g. ``sensor.kitchen_temperature``):

- ``sensor``: a number; metric and unit from the ``device_class`` and
  ``unit_of_measurement`` attributes (CONTRACTS.md vocabulary, °F -> °C, kW -> W, Wh -> kWh
  ...); without them, or in a unit the vocabulary cannot take, a metric named after the
  object id (``ha_`` before it when that is a vocabulary name), in the unit given. A
  non-numeric state of such a generic sensor is kept as text.
- ``binary_sensor``: ``on``/``off``; metric from ``device_class`` (door -> ``door_open``,
  moisture -> ``water_leak``, ...), else named after the object id.
- ``switch``, ``light``, ``input_boolean``, ``fan``, ``siren``: ``on``/``off`` -> ``switch``.
- ``unavailable`` -> ``online`` false; ``unknown`` -> nothing.

A sensor or binary_sensor state that arrives before any of the entity's attributes is held
(the latest one) and read when its unit, device class or name arrives, so that it gets the
right metric; if the next state comes and still no attribute did (``publish_attributes``
off), that one is read with the generic metric. ``friendly_name``, ``unit_of_measurement``
and ``device_class`` each give a ``device`` registration naming the entity and its metric.
Other HA domains (``person``, ``sun``, ``climate``...) and other attributes are understood and
carry nothing the hub reads. Rejected with the reason: an unknown domain, an entity id that
is not HA's ``[a-z0-9_]``, a number-metric state that is not a number, a binary state other
than on/off, a JSON-quoted state (an attribute named ``state`` shares the state topic:
home-assistant/core#11225), payloads that are not UTF-8 text.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from hub.errors import PayloadRejected
from hub.events import EMPTY, MetricSpec, Normalized, Reading, Registration

from ._context import MAX_ENTRIES, Household, StreamEntity
from ._convert import UNIT_CONVERSIONS, clean_str, to_num
from ._homeassistant import BINARY_CLASSES, CANONICAL_UNIT, SENSOR_CLASSES, UNIT_METRIC
from ._payload import text
from ._reading import reading

BASE = "statestream"
SWITCHES = frozenset({"switch", "light", "input_boolean", "fan", "siren"})
DESCRIBED = frozenset({"sensor", "binary_sensor"})
"""Domains whose metric depends on the entity's attributes."""
QUIET = frozenset({
    "alarm_control_panel", "automation", "button", "calendar", "camera", "climate",
    "conversation", "counter", "cover", "date", "datetime", "device_tracker", "event",
    "group", "humidifier", "image", "input_button", "input_datetime", "input_number",
    "input_select", "input_text", "lawn_mower", "lock", "media_player", "notify", "number",
    "person", "remote", "scene", "schedule", "script", "select", "stt", "sun", "tag", "text",
    "time", "timer", "todo", "tts", "update", "vacuum", "valve", "wake_word", "water_heater",
    "weather", "zone",
})
"""HA domains understood here that carry nothing the hub reads."""
DOMAINS = SWITCHES | DESCRIBED | QUIET
TIMESTAMPS = frozenset({"last_changed", "last_updated", "last_reported"})
_DESCRIBING = ("unit_of_measurement", "device_class", "friendly_name")
_ID = re.compile(r"^[a-z0-9_]{1,255}$")
_BINARY = {"on": True, "off": False}
VOCABULARY = frozenset(CANONICAL_UNIT) | {"power_export", "energy_export", "door_open",
                                          "water_leak", "switch", "online", "stock", "motion"}
"""CONTRACTS.md metrics: a generic metric never takes one of these names."""


def _generic(object_id: str) -> str:
    return f"ha_{object_id}" if object_id in VOCABULARY else object_id


def handle(h: Household, parts: list[str], topic: str, payload: bytes) -> Normalized:
    """``statestream/[...]/<domain>/<object_id>/<state|attribute>``."""
    if len(parts) < 4:
        raise PayloadRejected("statestream topic must end in <domain>/<object_id>/<state or"
                              " attribute>", topic=topic)
    domain, object_id, leaf = parts[-3], parts[-2], parts[-1]
    if domain not in DOMAINS:
        raise PayloadRejected(f"unknown Home Assistant domain {domain[:40]!r}", topic=topic)
    if not _ID.match(object_id):
        raise PayloadRejected("not a Home Assistant object id (a-z, 0-9 and _)", topic=topic)
    raw = text(payload, topic)
    if domain in QUIET or leaf in TIMESTAMPS:
        return EMPTY
    entity_id = f"{domain}.{object_id}"
    if leaf == "state":
        return _state(h, entity_id, domain, object_id, raw, topic)
    if leaf in _DESCRIBING and domain in DESCRIBED | SWITCHES:
        return _attribute(h, entity_id, domain, object_id, leaf, raw, topic)
    return EMPTY  # brightness, icon, state_class...: nothing the hub reads


def _entity(h: Household, entity_id: str) -> StreamEntity:
    e = h.ha_stream.get(entity_id)
    if e is None:
        e = StreamEntity()
        if len(h.ha_stream) < MAX_ENTRIES:
            h.ha_stream[entity_id] = e
    return e


def _metric(domain: str, object_id: str, e: StreamEntity) -> tuple[str, str | None, Any]:
    """(metric, canonical unit, converter or None) for the entity as known now."""
    if domain in SWITCHES:
        return "switch", None, None
    if domain == "binary_sensor":
        dc = e.device_class
        return (BINARY_CLASSES.get(dc, dc) if dc else _generic(object_id)), None, None
    metric = SENSOR_CLASSES.get(e.device_class or "") or UNIT_METRIC.get(e.unit or "")
    if metric is not None:
        conv = UNIT_CONVERSIONS.get(e.unit or "")
        if conv is not None and conv[0] == CANONICAL_UNIT[metric]:
            return metric, conv[0], conv[1]
    # No canonical metric, or a unit it cannot take (ft³, °K...): named after the entity.
    return _generic(object_id), e.unit, None


def _value(domain: str, object_id: str, e: StreamEntity, raw: str, topic: str
           ) -> Reading | None:
    entity_id = f"{domain}.{object_id}"
    if raw == "unavailable":
        return reading(entity_id, "online", False, None, None, None)
    if raw in ("unknown", ""):
        return None
    metric, unit, conv = _metric(domain, object_id, e)
    if domain in SWITCHES or domain == "binary_sensor":
        return reading(entity_id, metric, _BINARY[raw.lower()], None, None, None)
    num = to_num(raw)
    if num is None:
        if metric in CANONICAL_UNIT:
            raise PayloadRejected(f"{metric} state {raw[:32]!r} is not a number", topic=topic)
        return reading(entity_id, metric, clean_str(raw), unit, None, None)
    return reading(entity_id, metric, conv(num) if conv is not None else num, unit, None, None)


def _state(h: Household, entity_id: str, domain: str, object_id: str, raw: str, topic: str
           ) -> Normalized:
    if raw[:1] == '"':
        raise PayloadRejected("a JSON-quoted value on a statestream state topic is an attribute"
                              " named state, not the state (HA publishes states unquoted)",
                              topic=topic)
    if domain != "sensor" and raw.lower() not in _BINARY and raw not in ("unavailable",
                                                                       "unknown", ""):
        raise PayloadRejected(f"{domain} state {raw[:32]!r} is neither on nor off",
                              topic=topic)
    e = _entity(h, entity_id)
    if domain in DESCRIBED and not e.described and raw not in ("unavailable", "unknown"):
        first = e.held is None
        e.held = raw
        if first:
            return EMPTY  # wait for the attributes that follow it
        e.held = None  # a second state and still no attribute: read what we know
    r = _value(domain, object_id, e, raw, topic)
    return Normalized(readings=(r,)) if r is not None else EMPTY


def _attribute(h: Household, entity_id: str, domain: str, object_id: str, leaf: str,
               raw: str, topic: str) -> Normalized:
    try:
        value: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = raw  # HA before 0.57 published attributes unencoded
    if value is not None and type(value) is not str:
        raise PayloadRejected(f"{leaf} must be a JSON string", topic=topic)
    e = _entity(h, entity_id)
    text_value = value.strip()[:128] if value else None
    if leaf == "unit_of_measurement":
        e.unit = text_value
    elif leaf == "device_class":
        e.device_class = text_value
    else:
        e.name = text_value
    e.described = True
    readings: tuple[Reading, ...] = ()
    # The unit alone is not enough when it is ambiguous (% is humidity or battery): wait
    # for the device class or name that HA publishes after it.
    ready = leaf != "unit_of_measurement" or (e.unit in UNIT_METRIC)
    if e.held is not None and ready:
        held, e.held = e.held, None
        r = _value(domain, object_id, e, held, topic)
        readings = (r,) if r is not None else ()
    metric, unit, _ = _metric(domain, object_id, e)
    reg = Registration(kind="device", device=entity_id, model=domain,
                       manufacturer="Home Assistant", name=e.name,
                       metrics=(MetricSpec(metric=metric, unit=unit),),
                       extra={"source": "statestream"})
    return Normalized(readings=readings, registrations=(reg,))
