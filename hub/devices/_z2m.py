"""Zigbee2MQTT: device state, availability, ``bridge/state`` and ``bridge/devices``.

Topics (base topic ``zigbee2mqtt``; friendly names may themselves contain ``/``):

- ``zigbee2mqtt/<name>``: device state JSON (``{"power": 75, "state": "ON", ...}``)
- ``zigbee2mqtt/<name>/availability``: ``{"state": "online"}`` or, legacy, bare ``online``
- ``zigbee2mqtt/bridge/state``: the same two forms, for the bridge itself
- ``zigbee2mqtt/bridge/devices``: every paired device with its ``definition.exposes``
- ``zigbee2mqtt/bridge/config/devices``, ``bridge/log``: the 1.x legacy API (``_z2m_legacy``)
- ``zigbee2mqtt/bridge/info``: checked, nothing to read (its ``config.devices`` is keyed by
  IEEE address; ``bridge/devices`` itself is always an array, an object there is refused)
- ``zigbee2mqtt/<name>/set|get`` and other ``bridge/...`` topics: understood, no readings
"""

from __future__ import annotations

from typing import Any

from hub.errors import PayloadRejected
from hub.events import EMPTY, MetricSpec, Normalized, Reading, Registration

from . import _z2m_legacy
from ._context import Household, bounded_set
from ._convert import convert_unit, iso_any, to_bool, to_num
from ._payload import loads, text
from ._reading import reading

BASE = "zigbee2mqtt"
BRIDGE_DEVICE = "zigbee2mqtt/bridge"

# property -> (metric, default unit). Units declared by ``exposes`` take precedence.
NUMERIC: dict[str, tuple[str, str | None]] = {
    "power": ("power", "W"),
    "energy": ("energy", "kWh"),
    "produced_energy": ("energy_export", "kWh"),
    "voltage": ("voltage", "V"),
    "current": ("current", "A"),
    "temperature": ("temperature", "°C"),
    "local_temperature": ("temperature", "°C"),
    "humidity": ("humidity", "%"),
    "pressure": ("pressure", "hPa"),
    "co2": ("co2", "ppm"),
    "battery": ("battery", "%"),
    "illuminance_lux": ("illuminance", "lx"),
    "illuminance": ("illuminance", "lx"),
    "gas": ("gas", "m³"),
    "water_consumed": ("water", "L"),
}
PHASED = {
    f"{prefix}_phase_{p}": (metric, unit, f"l{i}")
    for prefix, (metric, unit) in (("power", ("power", "W")), ("voltage", ("voltage", "V")),
                                   ("current", ("current", "A")))
    for i, p in enumerate(("a", "b", "c"), start=1)
}
BOOLEAN: dict[str, tuple[str, bool]] = {
    # property -> (metric, invert)
    "contact": ("door_open", True),  # z2m: contact true = closed
    "water_leak": ("water_leak", False),
    "state": ("switch", False),
}
_IGNORED_EXPOSES = frozenset({"linkquality", "last_seen", "update", "update_available"})


def _availability(value: Any, topic: str) -> bool:
    state = value.get("state") if type(value) is dict else value
    flag = to_bool(state) if type(state) is str else None
    if flag is None:
        raise PayloadRejected("availability is neither online nor offline", topic=topic)
    return flag


def _parse_availability(payload: bytes, topic: str) -> bool:
    raw = text(payload, topic)
    if raw.startswith("{"):
        return _availability(loads(payload, topic), topic)
    return _availability(raw, topic)


def _state(h: Household, device: str, payload: bytes, topic: str) -> Normalized:
    obj = loads(payload, topic)
    if type(obj) is not dict:
        raise PayloadRejected("zigbee2mqtt state must be a JSON object", topic=topic)
    units = h.z2m_units.get(device)
    ts = iso_any(obj.get("last_seen"), topic) if "last_seen" in obj else None
    # A sensor that lost its reading reports 0 °C and 0 % beside nulls: not a reading.
    bogus_climate = (
        obj.get("temperature") == 0 and obj.get("humidity") == 0 and None in obj.values()
    )
    battery_device = "battery" in obj
    out: list[Reading] = []
    for key, value in obj.items():
        spec = NUMERIC.get(key)
        if spec is not None:
            num = to_num(value) if type(value) is not str else None
            if num is None or (bogus_climate and key in ("temperature", "humidity")):
                continue
            if key == "illuminance" and "illuminance_lux" in obj:
                continue  # older z2m: raw sensor value beside the lux one
            metric, unit = spec
            declared = units.get(key) if units else None
            if key == "voltage" and (declared == "mV" or (declared is None and battery_device)):
                # Battery devices report their cell voltage in mV: not mains voltage.
                out.append(reading(device, "battery_voltage", round(num / 1000.0, 4), "V",
                                   None, ts))
                continue
            if declared is not None and declared != unit:
                num, unit = convert_unit(num, declared)
            out.append(reading(device, metric, num, unit, None, ts))
            continue
        bspec = BOOLEAN.get(key)
        if bspec is None and key.startswith("state_"):
            bspec = ("switch", False)
        if bspec is not None:
            flag = to_bool(value)
            if flag is None:
                continue
            metric, invert = bspec
            channel = key[6:] if key.startswith("state_") else None
            out.append(reading(device, metric, (not flag) if invert else flag, None, channel, ts))
            continue
        pspec = PHASED.get(key)
        if pspec is not None:
            num = to_num(value) if type(value) is not str else None
            if num is not None:
                out.append(reading(device, pspec[0], num, pspec[1], pspec[2], ts))
    return Normalized(readings=tuple(out))


def _flatten_exposes(exposes: Any) -> list[dict[str, Any]]:
    flat: list[dict[str, Any]] = []
    stack = list(exposes) if type(exposes) is list else []
    while stack and len(flat) < 500:
        item = stack.pop(0)
        if type(item) is not dict:
            continue
        features = item.get("features")
        if type(features) is list:
            stack.extend(features)
        if type(item.get("property")) is str:
            flat.append(item)
    return flat


def _registration(entry: dict[str, Any]) -> tuple[Registration, dict[str, str]] | None:
    name = entry.get("friendly_name")
    if type(name) is not str or not name or entry.get("type") == "Coordinator":
        return None
    definition = entry.get("definition")
    definition = definition if type(definition) is dict else {}
    units: dict[str, str] = {}
    metrics: list[MetricSpec] = []
    for expose in _flatten_exposes(definition.get("exposes")):
        prop: str = expose["property"]
        unit = expose.get("unit") if type(expose.get("unit")) is str else None
        if unit:
            units[prop] = unit
        if prop in _IGNORED_EXPOSES:
            continue
        if prop in NUMERIC:
            metric, canonical = NUMERIC[prop]
            if prop == "voltage" and unit == "mV":
                metrics.append(MetricSpec(metric="battery_voltage", unit="V"))
                continue
            if unit and unit != canonical:
                canonical = convert_unit(0, unit)[1]
            metrics.append(MetricSpec(metric=metric, unit=canonical))
        elif prop in BOOLEAN:
            metrics.append(MetricSpec(metric=BOOLEAN[prop][0]))
        elif prop.startswith("state_"):
            metrics.append(MetricSpec(metric="switch", channel=prop[6:]))
        elif prop in PHASED:
            metric, unit_, channel = PHASED[prop]
            metrics.append(MetricSpec(metric=metric, unit=unit_, channel=channel))
    model = definition.get("model") or entry.get("model_id")
    vendor = definition.get("vendor") or entry.get("manufacturer")
    reg = Registration(
        kind="device",
        device=name,
        model=model if type(model) is str else None,
        manufacturer=vendor if type(vendor) is str else None,
        name=name,
        metrics=tuple(dict.fromkeys(metrics)),
        extra={"ieee_address": entry.get("ieee_address")}
        if type(entry.get("ieee_address")) is str
        else {},
    )
    return reg, units


def _bridge_devices(h: Household, payload: bytes, topic: str) -> Normalized:
    obj = loads(payload, topic)
    if type(obj) is not list:
        raise PayloadRejected("bridge/devices must be a JSON array", topic=topic)
    regs: list[Registration] = []
    for entry in obj:
        if type(entry) is not dict:
            continue
        found = _registration(entry)
        if found is None:
            continue
        reg, units = found
        regs.append(reg)
        bounded_set(h.z2m_units, reg.device, units)
    return Normalized(registrations=tuple(regs))


def _bridge_info(payload: bytes, topic: str) -> Normalized:
    """``bridge/info``: version and configuration, nothing to read.

    Its ``config.devices`` is the only device list z2m 1.x keys by IEEE address (the
    configuration.yaml ``devices:`` block: friendly names and options, no model, no
    exposes); ``bridge/devices`` says all of that and more, so this one is only checked.
    """
    obj = loads(payload, topic)
    config = obj.get("config") if type(obj) is dict else None
    if type(obj) is not dict or (config is not None and type(config) is not dict):
        raise PayloadRejected("bridge/info must be a JSON object with a config object",
                              topic=topic)
    devices = config.get("devices") if config is not None else None
    if devices is not None and type(devices) is not dict:
        raise PayloadRejected("bridge/info config.devices must be an object keyed by IEEE"
                              " address", topic=topic)
    return EMPTY


def handle(h: Household, parts: list[str], topic: str, payload: bytes) -> Normalized:
    """Normalize one zigbee2mqtt message (``parts[0]`` is the base topic)."""
    if len(parts) < 2 or not parts[1]:
        raise PayloadRejected("zigbee2mqtt topic without a device", topic=topic)
    if parts[1] == "bridge":
        sub = "/".join(parts[2:])
        if sub == "state":
            online = _parse_availability(payload, topic)
            return Normalized(readings=(reading(BRIDGE_DEVICE, "online", online, None, None,
                                                None),))
        if sub == "devices":
            return _bridge_devices(h, payload, topic)
        if sub == "config/devices":
            return _z2m_legacy.config_devices(payload, topic)
        if sub == "log":
            return _z2m_legacy.log(payload, topic)
        if sub == "info":
            return _bridge_info(payload, topic)
        return EMPTY  # bridge/logging, bridge/response/...: nothing to read
    last = parts[-1]
    if len(parts) > 2:
        if last == "availability":
            device = "/".join(parts[1:-1])
            online = _parse_availability(payload, topic)
            return Normalized(readings=(reading(device, "online", online, None, None, None),))
        if last in ("set", "get") or parts[-2] in ("set", "get"):
            return EMPTY  # a command to the device, not its state
    device = "/".join(parts[1:])
    return _state(h, device, payload, topic)
