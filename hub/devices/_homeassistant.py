"""Home Assistant MQTT discovery, and reading the state topics it declares.

Config topics: ``homeassistant/<component>/[<node_id>/]<object_id>/config`` (one entity) and
``homeassistant/device/<id>/config`` (device-based: ``cmps`` holds the components). Keys may
be abbreviated (``stat_t``, ``unit_of_meas``, ``dev_cla``, ``val_tpl``, ``dev.ids``, ...),
and ``~`` in a topic stands for the config's base topic. An empty config removes the entity.

Each entity with a state topic is compiled once (see :mod:`._template`) and remembered for
its household; a later message on that state topic gives one reading per entity reading it.
The metric comes from ``device_class`` (``temperature``, ``door`` -> ``door_open``, ...),
else from the unit, else from the entity's own name in snake_case.
"""

from __future__ import annotations

import logging
from typing import Any

from hub.errors import PayloadRejected
from hub.events import EMPTY, MetricSpec, Normalized, Reading, Registration

from ._context import MAX_ENTRIES, HAEntity, Household
from ._convert import UNIT_CONVERSIONS, clean_str, snake, to_bool, to_num
from ._payload import MAX_TEXT, loads, loads_object
from ._reading import reading
from ._template import MISSING, UnsupportedTemplate, compile_template

logger = logging.getLogger(__name__)

PREFIX = "homeassistant"

ABBREVIATIONS: dict[str, str] = {
    "avty": "availability", "avty_t": "availability_topic", "avty_tpl": "availability_template",
    "cmd_t": "command_topic", "cmps": "components", "dev": "device", "dev_cla": "device_class",
    "json_attr_t": "json_attributes_topic", "name": "name", "o": "origin", "obj_id": "object_id",
    "p": "platform", "pl_avail": "payload_available", "pl_not_avail": "payload_not_available",
    "pl_off": "payload_off", "pl_on": "payload_on", "stat_cla": "state_class",
    "stat_off": "state_off", "stat_on": "state_on", "stat_t": "state_topic",
    "stat_val_tpl": "state_value_template", "t": "topic", "uniq_id": "unique_id",
    "unit_of_meas": "unit_of_measurement", "val_tpl": "value_template", "frc_upd":
    "force_update", "ic": "icon", "ent_cat": "entity_category", "sug_dsp_prc":
    "suggested_display_precision", "exp_aft": "expire_after",
}
DEVICE_ABBREVIATIONS: dict[str, str] = {
    "ids": "identifiers", "mf": "manufacturer", "mdl": "model", "mdl_id": "model_id",
    "sw": "sw_version", "hw": "hw_version", "sn": "serial_number", "cns": "connections",
    "sa": "suggested_area", "via_device": "via_device",
}
SENSOR_CLASSES: dict[str, str] = {
    "temperature": "temperature", "humidity": "humidity", "pressure": "pressure",
    "atmospheric_pressure": "pressure", "power": "power", "energy": "energy",
    "voltage": "voltage", "current": "current", "battery": "battery",
    "illuminance": "illuminance", "gas": "gas", "water": "water", "carbon_dioxide": "co2",
}
BINARY_CLASSES: dict[str, str] = {
    "door": "door_open", "window": "door_open", "garage_door": "door_open",
    "opening": "door_open", "moisture": "water_leak", "motion": "motion",
    "occupancy": "motion", "presence": "motion", "plug": "switch", "power": "switch",
    "connectivity": "online",
}
CANONICAL_UNIT: dict[str, str | None] = {
    "temperature": "°C", "humidity": "%", "pressure": "hPa", "power": "W", "energy": "kWh",
    "voltage": "V", "current": "A", "battery": "%", "illuminance": "lx", "gas": "m³",
    "water": "L", "co2": "ppm",
}
UNIT_METRIC: dict[str, str] = {
    "W": "power", "kW": "power", "kWh": "energy", "Wh": "energy", "V": "voltage", "A": "current",
    "°C": "temperature", "°F": "temperature", "lx": "illuminance", "ppm": "co2",
}
_TEXTUAL = frozenset({"sensor"})
_BOOLEAN = frozenset({"binary_sensor", "switch", "light", "fan", "siren", "lock"})


def _expand(cfg: dict[str, Any]) -> dict[str, Any]:
    out = {ABBREVIATIONS.get(k, k): v for k, v in cfg.items()}
    dev = out.get("device")
    if type(dev) is dict:
        out["device"] = {DEVICE_ABBREVIATIONS.get(k, k): v for k, v in dev.items()}
    base = out.get("~")
    if type(base) is str:
        for key, value in list(out.items()):
            if key.endswith("_topic") and type(value) is str:
                if value.startswith("~"):
                    out[key] = base + value[1:]
                elif value.endswith("~"):
                    out[key] = value[:-1] + base
    return out


def _str(value: Any, limit: int = 128) -> str | None:
    return value[:limit] if type(value) is str and value.strip() else None


def _device_id(cfg: dict[str, Any], fallback: str) -> str:
    dev = cfg.get("device")
    if type(dev) is dict:
        ids = dev.get("identifiers")
        if type(ids) is list and ids and type(ids[0]) is str and ids[0]:
            return ids[0][:128]
        if type(ids) is str and ids:
            return ids[:128]
    return _str(cfg.get("unique_id")) or fallback


def _metric(component: str, cfg: dict[str, Any], reader_name: str) -> tuple[str, str | None]:
    """(metric, unit as declared) for one entity."""
    dev_class = cfg.get("device_class")
    unit = _str(cfg.get("unit_of_measurement"), 16)
    unit = unit.strip() if unit else None
    if component in _BOOLEAN:
        if component == "binary_sensor" and type(dev_class) is str:
            return BINARY_CLASSES.get(dev_class, snake(dev_class)), None
        return ("switch" if component != "binary_sensor" else reader_name), None
    if type(dev_class) is str and dev_class in SENSOR_CLASSES:
        return SENSOR_CLASSES[dev_class], unit
    if unit in UNIT_METRIC:
        return UNIT_METRIC[unit], unit
    return reader_name, unit


def _converter(component: str, metric: str, unit: str | None, cfg: dict[str, Any]) -> Any:
    if component in _BOOLEAN:
        on = cfg.get("payload_on", cfg.get("state_on", "ON"))
        off = cfg.get("payload_off", cfg.get("state_off", "OFF"))

        def to_flag(v: Any) -> Any:
            if v == on or (type(v) is str and type(on) is str and v.lower() == on.lower()):
                return True
            if v == off or (type(v) is str and type(off) is str and v.lower() == off.lower()):
                return False
            return to_bool(v)

        return to_flag
    conv = UNIT_CONVERSIONS.get(unit) if unit else None
    if metric in CANONICAL_UNIT:
        def to_number(v: Any) -> Any:
            num = to_num(v)
            if num is None:
                return None
            return conv[1](num) if conv is not None and conv[1] is not None else num
        return to_number

    def to_value(v: Any) -> Any:
        num = to_num(v)
        if num is not None:
            return num
        if type(v) is str and v:
            return clean_str(v)
        if type(v) is bool:
            return v
        return None

    return to_value


def _entity(
    config_topic: str, component: str, object_id: str, cfg: dict[str, Any], device: str
) -> tuple[HAEntity | None, MetricSpec | None, str | None]:
    """Compile one entity; (entity or None, its metric, its state topic)."""
    state_topic = _str(cfg.get("state_topic"), 512)
    template = cfg.get("value_template") or cfg.get("state_value_template")
    try:
        read, _ = compile_template(template if type(template) is str else None)
    except UnsupportedTemplate as exc:
        logger.info("discovery %s: value_template not read: %s", config_topic, exc)
        return None, None, state_topic
    # A generic metric is named after what the template reads, else the entity.
    name_hint = object_id
    if type(template) is str and "value_json" in template:
        tail = template.replace("}}", "").replace("'", " ").replace('"', " ").replace("]", " ")
        words = [w for w in tail.replace("[", " ").replace(".", " ").split() if w.isidentifier()]
        if words and words[-1] not in ("value_json", "float", "int", "round"):
            name_hint = words[-1]
    metric, unit = _metric(component, cfg, snake(name_hint))
    canonical = CANONICAL_UNIT.get(metric, unit) if metric in CANONICAL_UNIT else unit
    if metric in CANONICAL_UNIT and unit and unit in UNIT_CONVERSIONS:
        canonical = UNIT_CONVERSIONS[unit][0]
    entity = HAEntity(
        config_topic=config_topic, device=device, metric=metric, unit=canonical,
        component=component, read=read, convert=_converter(component, metric, unit, cfg),
    )
    return entity, MetricSpec(metric=metric, unit=canonical), state_topic


def _unregister(h: Household, config_topic: str) -> None:
    for topic in h.ha_configs.pop(config_topic, ()):
        entities = [e for e in h.ha_state.get(topic, []) if e.config_topic != config_topic]
        if entities:
            h.ha_state[topic] = entities
        else:
            h.ha_state.pop(topic, None)
        avail = [a for a in h.ha_avail.get(topic, []) if a[0] != config_topic]
        if avail:
            h.ha_avail[topic] = avail
        else:
            h.ha_avail.pop(topic, None)
        h.ha_quiet.discard(topic)


def _availability(cfg: dict[str, Any]) -> list[tuple[str, str, str]]:
    on = cfg.get("payload_available", "online")
    off = cfg.get("payload_not_available", "offline")
    found: list[tuple[str, str, str]] = []
    topic = _str(cfg.get("availability_topic"), 512)
    if topic:
        found.append((topic, str(on), str(off)))
    avty = cfg.get("availability")
    if type(avty) is list:
        for item in avty[:8]:
            if type(item) is dict:
                item = {ABBREVIATIONS.get(k, k): v for k, v in item.items()}
                t = _str(item.get("topic"), 512)
                base = cfg.get("~")
                if t and type(base) is str:
                    t = base + t[1:] if t.startswith("~") else t[:-1] + base \
                        if t.endswith("~") else t
                if t:
                    found.append((t, str(item.get("payload_available", on)),
                                  str(item.get("payload_not_available", off))))
    return found


def discovery(h: Household, parts: list[str], topic: str, payload: bytes) -> Normalized:
    """A config message: register its entities, return the registration."""
    if parts[1] == "device":
        component, object_id = "device", parts[-2]
    else:
        component, object_id = parts[1], parts[-2]
    _unregister(h, topic)
    if not payload.strip():
        return EMPTY  # an empty retained config removes the entity
    cfg = _expand(loads_object(payload, topic))
    device = _device_id(cfg, object_id)
    dev_raw = cfg.get("device")
    dev: dict[str, Any] = dev_raw if type(dev_raw) is dict else {}
    if component == "device":
        comps = cfg.get("components")
        if type(comps) is not dict:
            raise PayloadRejected("device discovery without components (cmps)", topic=topic)
        entries = []
        for key, sub in list(comps.items())[:64]:
            if type(sub) is dict:
                merged = {**{k: v for k, v in cfg.items() if k != "components"}, **_expand(sub)}
                platform = merged.get("platform")
                entries.append((platform if type(platform) is str else "", str(key), merged))
    else:
        entries = [(component, object_id, cfg)]
    metrics: list[MetricSpec] = []
    registered: list[str] = []
    total = sum(len(v) for v in h.ha_state.values())
    for comp, obj_id, sub in entries:
        if comp == "device_automation":
            trigger = _str(sub.get("topic"), 512)
            if trigger and len(h.ha_quiet) < MAX_ENTRIES:
                h.ha_quiet.add(trigger)
                registered.append(trigger)
            continue
        entity, spec, state_topic = _entity(topic, comp, obj_id, sub, device)
        if entity is not None and spec is not None and state_topic and total < MAX_ENTRIES:
            h.ha_state.setdefault(state_topic, []).append(entity)
            registered.append(state_topic)
            metrics.append(spec)
            total += 1
        for avail_topic, on, off in _availability(sub):
            if len(h.ha_avail) < MAX_ENTRIES:
                h.ha_avail.setdefault(avail_topic, []).append((topic, device, on, off))
                registered.append(avail_topic)
    h.ha_configs[topic] = tuple(dict.fromkeys(registered))
    reg = Registration(
        kind="discovery",
        device=device,
        model=_str(dev.get("model")),
        manufacturer=_str(dev.get("manufacturer")),
        name=_str(cfg.get("name")) or _str(dev.get("name")),
        metrics=tuple(metrics),
        extra={"component": component, "config_topic": topic,
               "state_topics": [t for t in registered if t in h.ha_state]},
    )
    return Normalized(registrations=(reg,))


def read_state(h: Household, topic: str, payload: bytes) -> Normalized | None:
    """Readings for a topic discovery registered, or None when it registered nothing there."""
    entities = h.ha_state.get(topic)
    avail = h.ha_avail.get(topic)
    if entities is None and avail is None:
        return EMPTY if topic in h.ha_quiet else None
    if len(payload) > MAX_TEXT * 16:
        raise PayloadRejected("state payload too large", topic=topic)
    try:
        raw = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadRejected("payload is not valid UTF-8", topic=topic) from None
    out: list[Reading] = []
    if avail:
        word = raw.strip()
        seen: set[str] = set()
        for _config, device, on, off in avail:
            # Every entity of a device names the same availability topic: one reading each.
            if word in (on, off) and device not in seen:
                seen.add(device)
                out.append(reading(device, "online", word == on, None, None, None))
    if entities:
        obj: Any = MISSING
        stripped = raw.lstrip()
        if stripped[:1] in ("{", "["):
            obj = loads(payload, topic)
        for e in entities:
            value = e.convert(e.read(raw.strip(), obj))
            if value is not None:
                out.append(reading(e.device, e.metric, value, e.unit, None, None))
    return Normalized(readings=tuple(out))
