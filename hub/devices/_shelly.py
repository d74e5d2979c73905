"""Shelly Gen2/Gen3 over MQTT (RPC notifications and per-component status).

Topics under the device's configurable prefix (default its id, ``shellyplus2pm-3ce90e2f7c34``):

- ``<prefix>/events/rpc``: ``NotifyStatus``/``NotifyFullStatus`` with ``params.ts`` and one
  key per component. The device id is the message's ``src``, not the prefix (users rename
  prefixes); the prefix is remembered as an alias so later status topics agree.
- ``<prefix>/status/<component>:<id>``: one component's full status.
- ``<prefix>/online``: bare ``true``/``false`` (the last will is ``false``).

Components: ``switch``/``pm1`` (output, apower W, voltage, current, aenergy/ret_aenergy in
**Wh**, converted to kWh), ``em``/``em1`` (three-phase and single meters), ``emdata``/
``em1data`` (energy counters in Wh), ``temperature`` (tC), ``humidity`` (rh),
``devicepower`` (battery), ``illuminance``, ``flood``. Relay-type components put their id in
``channel``; sensors use a channel only for ids above 0.
"""

from __future__ import annotations

from typing import Any

from hub.errors import PayloadRejected
from hub.events import EMPTY, Normalized, Reading

from ._context import Household, bounded_set
from ._convert import iso_from_number, to_bool, to_num
from ._payload import loads_object, text
from ._reading import reading

_PHASES = (("a", "l1"), ("b", "l2"), ("c", "l3"))


def _num(block: dict[str, Any], key: str) -> float | int | None:
    value = block.get(key)
    return to_num(value) if type(value) is not str else None


def _wh(block: dict[str, Any], key: str) -> float | None:
    sub = block.get(key)
    total = _num(sub, "total") if type(sub) is dict else None
    return round(total / 1000.0, 6) if total is not None else None


def component(device: str, name: str, block: Any, ts: str | None) -> list[Reading]:
    """Readings from one component's status (``switch:0`` -> its dict)."""
    if type(block) is not dict:
        return []
    kind, _, ident = name.partition(":")
    if not ident.isdigit():
        return []
    relay_channel = ident
    sensor_channel = None if ident == "0" else ident
    out: list[Reading] = []

    def add(metric: str, value: Any, unit: str | None, channel: str | None) -> None:
        if value is not None:
            out.append(reading(device, metric, value, unit, channel, ts))

    if kind in ("switch", "pm1", "light", "cover"):
        if type(block.get("output")) is bool:
            add("switch", block["output"], None, relay_channel)
        add("power", _num(block, "apower"), "W", relay_channel)
        add("voltage", _num(block, "voltage"), "V", relay_channel)
        add("current", _num(block, "current"), "A", relay_channel)
        add("energy", _wh(block, "aenergy"), "kWh", relay_channel)
        add("energy_export", _wh(block, "ret_aenergy"), "kWh", relay_channel)
        temp = block.get("temperature")
        if type(temp) is dict:
            add("device_temperature", _num(temp, "tC"), "°C", relay_channel)
    elif kind == "em":
        add("power", _num(block, "total_act_power"), "W", sensor_channel)
        add("current", _num(block, "total_current"), "A", sensor_channel)
        for letter, phase in _PHASES:
            add("power", _num(block, f"{letter}_act_power"), "W", phase)
            add("voltage", _num(block, f"{letter}_voltage"), "V", phase)
            add("current", _num(block, f"{letter}_current"), "A", phase)
    elif kind == "em1":
        add("power", _num(block, "act_power"), "W", sensor_channel)
        add("voltage", _num(block, "voltage"), "V", sensor_channel)
        add("current", _num(block, "current"), "A", sensor_channel)
    elif kind in ("emdata", "em1data"):
        for key, metric, channel in (
            ("total_act", "energy", sensor_channel),
            ("total_act_energy", "energy", sensor_channel),
            ("total_act_ret", "energy_export", sensor_channel),
            ("total_act_ret_energy", "energy_export", sensor_channel),
            ("a_total_act_energy", "energy", "l1"),
            ("b_total_act_energy", "energy", "l2"),
            ("c_total_act_energy", "energy", "l3"),
        ):
            wh = _num(block, key)
            add(metric, round(wh / 1000.0, 6) if wh is not None else None, "kWh", channel)
    elif kind == "temperature":
        add("temperature", _num(block, "tC"), "°C", sensor_channel)
    elif kind == "humidity":
        add("humidity", _num(block, "rh"), "%", sensor_channel)
    elif kind == "illuminance":
        add("illuminance", _num(block, "lux"), "lx", sensor_channel)
    elif kind == "devicepower":
        battery = block.get("battery")
        if type(battery) is dict:
            add("battery", _num(battery, "percent"), "%", sensor_channel)
            add("battery_voltage", _num(battery, "V"), "V", sensor_channel)
    elif kind == "flood" and type(block.get("alarm")) is bool:
        add("water_leak", block["alarm"], None, sensor_channel)
    return out


def _events(h: Household, prefix: str, topic: str, payload: bytes) -> Normalized:
    obj = loads_object(payload, topic)
    method = obj.get("method")
    src = obj.get("src")
    device = src if type(src) is str and 0 < len(src) <= 128 else h.shelly_alias.get(prefix,
                                                                                      prefix)
    if device != prefix:
        bounded_set(h.shelly_alias, prefix, device)
    if method not in ("NotifyStatus", "NotifyFullStatus"):
        if type(method) is not str:
            raise PayloadRejected("Shelly RPC notification without a method", topic=topic)
        return EMPTY  # NotifyEvent (button pushes, ...), RPC replies: no readings
    params = obj.get("params")
    if type(params) is not dict:
        raise PayloadRejected("Shelly NotifyStatus without params", topic=topic)
    ts = iso_from_number(params.get("ts"), topic) if "ts" in params else None
    out: list[Reading] = []
    for name, block in params.items():
        if name != "ts":
            out.extend(component(device, name, block, ts))
    return Normalized(readings=tuple(out))


def handle(h: Household, parts: list[str], topic: str, payload: bytes) -> Normalized:
    """Normalize one Shelly Gen2+ message; ``parts`` ends in ``events/rpc``, ``status/<c>``
    or ``online``."""
    last = parts[-1]
    if last == "online" and len(parts) >= 2:
        prefix = "/".join(parts[:-1])
        flag = to_bool(text(payload, topic, limit=16))
        if flag is None:
            raise PayloadRejected("Shelly online is neither true nor false", topic=topic)
        device = h.shelly_alias.get(prefix, prefix)
        return Normalized(readings=(reading(device, "online", flag, None, None, None),))
    if len(parts) >= 3 and parts[-2] == "events" and last == "rpc":
        return _events(h, "/".join(parts[:-2]), topic, payload)
    if len(parts) >= 3 and parts[-2] == "status":
        prefix = "/".join(parts[:-2])
        device = h.shelly_alias.get(prefix, prefix)
        obj = loads_object(payload, topic)
        if ":" not in last:
            return EMPTY  # status/sys, status/wifi, status/cloud: diagnostics, no readings
        return Normalized(readings=tuple(component(device, last, obj, None)))
    if last == "rpc" and len(parts) >= 2:
        return EMPTY  # an RPC request to the device
    raise PayloadRejected("unknown Shelly topic", topic=topic)
