"""Tasmota: ``tele/<t>/SENSOR|STATE|LWT``, ``stat/<t>/RESULT|POWER<n>`` and older forms.

Tasmota's FullTopic is configurable: ``%prefix%/%topic%/`` (the default, ``tele/plug/SENSOR``)
or ``%topic%/%prefix%/`` (``Pracka_Zasuvka/tele/SENSOR``, also behind longer paths like
``emoncms/ch2i/factory/denky_D6C0C0/tele/SENSOR``). The device id is the ``%topic%`` part.

- ``SENSOR``: ``ENERGY`` (kWh, W, V, A; arrays on multi-channel meters), sensor blocks
  (``{"AM2301": {"Temperature": 21.3}}`` with ``TempUnit``), ``TIC`` (French Linky/teleinfo,
  often "changed only" partial payloads: only the keys present are readings), ``ZbReceived``
  (Zigbee devices behind a Tasmota coordinator; device = their ``Name`` or short address).
- ``STATE``: ``POWER``/``POWER<n>``; ``RESULT``: the same, plus ``SerialReceived`` P1 lines.
- ``stat/<t>/POWER<n>``: bare ``ON``/``OFF``/``1``/``0``; ``LWT``: ``Online``/``Offline``.
- Older firmware: ``tele/<t>/ENERGY`` with the energy fields at top level, ``STATUS8``/
  ``STATUS10`` (``StatusSNS``) and ``STATUS11`` (``StatusSTS``).

``Time`` is the device's local time without a zone: it is not turned into a ``ts``.
Relays: ``POWER`` gives channel None, ``POWER<n>`` channel ``"<n>"``.
"""

from __future__ import annotations

from typing import Any

from hub.errors import PayloadRejected
from hub.events import EMPTY, Normalized, Reading

from ._context import Household
from ._convert import convert_unit, iso_from_string, to_bool, to_num
from ._dsmr import serial_line
from ._payload import loads_object, text
from ._reading import reading

PREFIXES = frozenset({"tele", "stat", "cmnd"})

ENERGY: dict[str, tuple[str, str]] = {
    "Total": ("energy", "kWh"),
    "Power": ("power", "W"),
    "Voltage": ("voltage", "V"),
    "Current": ("current", "A"),
    "ExportActive": ("energy_export", "kWh"),
}
SENSOR_KEYS: dict[str, tuple[str, str | None]] = {
    "Temperature": ("temperature", "°C"),
    "Humidity": ("humidity", "%"),
    "Pressure": ("pressure", "hPa"),
    "CarbonDioxide": ("co2", "ppm"),
    "eCO2": ("co2", "ppm"),
    "Illuminance": ("illuminance", "lx"),
    "BatteryPercentage": ("battery", "%"),
}
# French teleinfo (TIC): historic and standard mode labels.
TIC: dict[str, tuple[str, str | None, str]] = {
    "PAPP": ("apparent_power", None, "VA"),
    "SINSTS": ("apparent_power", None, "VA"),
    "IINST": ("current", None, "A"),
    "IRMS1": ("current", None, "A"),
    "URMS1": ("voltage", None, "V"),
    "BASE": ("energy", None, "Wh"),
    "HCHC": ("energy", "hc", "Wh"),
    "HCHP": ("energy", "hp", "Wh"),
    "EAST": ("energy", None, "Wh"),
    "EAIT": ("energy_export", None, "Wh"),
}


def split_topic(parts: list[str]) -> tuple[str, str, str] | None:
    """(prefix, device, command) for either FullTopic order, else None."""
    n = len(parts)
    if n >= 3 and parts[0] in PREFIXES:
        return parts[0], "/".join(parts[1:-1]), parts[-1]
    if n >= 3 and parts[-2] in PREFIXES:
        return parts[-2], parts[-3], parts[-1]
    return None


def _power_readings(device: str, obj: dict[str, Any]) -> list[Reading]:
    out = []
    for key, value in obj.items():
        if key.startswith("POWER") and (key == "POWER" or key[5:].isdigit()):
            flag = to_bool(value)
            if flag is not None:
                out.append(reading(device, "switch", flag, None, key[5:] or None, None))
    return out


def _energy(device: str, block: dict[str, Any]) -> list[Reading]:
    out = []
    for key, (metric, unit) in ENERGY.items():
        value = block.get(key)
        if type(value) is list:  # multi-channel meters: one value per channel
            for i, item in enumerate(value[:8], start=1):
                num = to_num(item) if type(item) is not str else None
                if num is not None:
                    out.append(reading(device, metric, num, unit, str(i), None))
            continue
        num = to_num(value) if type(value) is not str else None
        if num is not None:
            out.append(reading(device, metric, num, unit, None, None))
    return out


def _tic(device: str, block: dict[str, Any]) -> list[Reading]:
    out = []
    for key, value in block.items():
        spec = TIC.get(key)
        if spec is None:
            continue
        num = to_num(value)
        if num is not None:
            v, unit = convert_unit(num, spec[2])
            out.append(reading(device, spec[0], v, unit, spec[1], None))
    return out


def _sensor_block(
    device: str, block: dict[str, Any], temp_unit: str, channel: str | None
) -> list[Reading]:
    out = []
    for key, (metric, unit) in SENSOR_KEYS.items():
        num = to_num(block.get(key)) if key in block else None
        if num is None:
            continue
        if metric == "temperature" and temp_unit == "F":
            num, unit = convert_unit(num, "°F")
        out.append(reading(device, metric, num, unit, channel, None))
    return out


def _zigbee(block: dict[str, Any]) -> list[Reading]:
    out: list[Reading] = []
    for addr, attrs in list(block.items())[:64]:
        if type(attrs) is not dict:
            continue
        name = attrs.get("Name") or attrs.get("Device") or addr
        if type(name) is not str or not name:
            continue
        out.extend(_sensor_block(name, attrs, "C", None))
        if "Contact" in attrs:
            flag = to_bool(attrs["Contact"])  # ZoneStatus alarm bit: 1 = opened
            if flag is not None:
                out.append(reading(name, "door_open", flag, None, None, None))
        if "Water" in attrs:
            flag = to_bool(attrs["Water"])
            if flag is not None:
                out.append(reading(name, "water_leak", flag, None, None, None))
        if "Power" in attrs:
            flag = to_bool(attrs["Power"])
            if flag is not None:
                out.append(reading(name, "switch", flag, None, None, None))
    return out


def _sensor(device: str, obj: dict[str, Any]) -> list[Reading]:
    out: list[Reading] = []
    temp_unit = obj.get("TempUnit", "C")
    blocks = [
        (k, v) for k, v in obj.items()
        if type(v) is dict and k not in ("ENERGY", "TIC", "ZbReceived", "Wifi")
    ]
    for key, value in obj.items():
        if type(value) is not dict:
            continue
        if key == "ENERGY":
            out.extend(_energy(device, value))
        elif key == "TIC":
            out.extend(_tic(device, value))
        elif key == "ZbReceived":
            out.extend(_zigbee(value))
        elif key != "Wifi":
            # Several sensors of one kind (DS18B20-1, DS18B20-2) are told apart by channel.
            channel = key if len(blocks) > 1 else None
            out.extend(_sensor_block(device, value, temp_unit, channel))
    if "SerialReceived" in obj:
        out.extend(serial_line(device, obj["SerialReceived"], device))
    return out


def handle(h: Household, parts: list[str], topic: str, payload: bytes) -> Normalized:
    """Normalize one Tasmota message (either FullTopic order)."""
    del h
    split = split_topic(parts)
    if split is None:
        raise PayloadRejected("not a Tasmota topic", topic=topic)
    prefix, device, command = split
    if not device:
        raise PayloadRejected("Tasmota topic without a device", topic=topic)
    if prefix == "cmnd":
        return EMPTY  # a command on its way to the device
    if command == "LWT":
        flag = to_bool(text(payload, topic, limit=32))
        if flag is None:
            raise PayloadRejected("LWT is neither Online nor Offline", topic=topic)
        return Normalized(readings=(reading(device, "online", flag, None, None, None),))
    if prefix == "stat" and command.startswith("POWER") and (
        command == "POWER" or command[5:].isdigit()
    ):
        flag = to_bool(text(payload, topic, limit=32))
        if flag is None:
            raise PayloadRejected(f"{command} is neither ON nor OFF", topic=topic)
        return Normalized(readings=(reading(device, "switch", flag, None, command[5:] or None,
                                            None),))
    if command in ("SENSOR", "STATE", "RESULT", "ENERGY") or command.startswith("STATUS"):
        obj = loads_object(payload, topic)
        out: list[Reading]
        if command == "ENERGY":  # firmware before 5.12: energy fields at top level
            out = _energy(device, obj)
        elif command.startswith("STATUS"):
            out = []
            if type(obj.get("StatusSNS")) is dict:
                out.extend(_sensor(device, obj["StatusSNS"]))
            if type(obj.get("StatusSTS")) is dict:
                out.extend(_power_readings(device, obj["StatusSTS"]))
        else:
            out = _sensor(device, obj) if command == "SENSOR" else []
            out.extend(_power_readings(device, obj))
            if command == "RESULT" and "SerialReceived" in obj:
                out.extend(serial_line(device, obj["SerialReceived"], topic))
        ts_raw = obj.get("Time")
        ts = iso_from_string(ts_raw, topic) if type(ts_raw) is str else None
        if ts is not None:  # only when the device sends an offset (TimeZone 99 does not)
            out = [reading(r.device, r.metric, r.value, r.unit, r.channel, r.ts or ts)
                   for r in out]
        return Normalized(readings=tuple(out))
    if command in ("INFO1", "INFO2", "INFO3", "UPTIME", "MARGINS", "LOGGING", "HASS_STATE"):
        return EMPTY
    return EMPTY if prefix == "stat" else _unknown(topic)


def _unknown(topic: str) -> Normalized:
    raise PayloadRejected("unknown Tasmota telemetry topic", topic=topic)
