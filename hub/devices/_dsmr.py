"""DSMR P1 smart meters: raw telegrams with their CRC, and the JSON forms bridges publish.

Raw telegrams (DSMR 2.2 and 3 with the legacy two-line gas record, 4.x, 5, and the Belgian
e-MUCS variant) arrive on ``dsmr/raw`` (dsmr-reader's default) or any ``.../p1`` topic. A
DSMR 4+ telegram ends in ``!XXXX``, a CRC-16/ARC over every byte from ``/`` to ``!``; a
telegram whose CRC does not match, or that should have one and does not, is rejected whole:
half a telegram could pair one tariff's counter with another's timestamp.

JSON forms:

- dsmr-reader: ``dsmr/json`` (one record, numbers as strings, kW), ``dsmr/reading/<field>``,
  ``dsmr/meter-stats/<field>``.
- dsmr2mqtt (hansij66): ``<prefix>/el`` and ``<prefix>/gas``. Its counters are multiplied by
  1000 (``gas_consumed`` 10142194.0 means 10142.194 m³, ``el_consumed`` is in Wh) although
  its own Home Assistant discovery says m³ and kWh: the unit trap is undone here.
- Tasmota's serial bridge: ``{"SerialReceived": "<one OBIS line>\\r"}``.
- gas2mqtt: ``gas2mqtt/<name>/state`` with ``consumption_m3``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from hub.errors import PayloadRejected
from hub.events import EMPTY, Normalized, Reading

from ._context import Household
from ._convert import convert_unit, iso_any, iso_from_datetime, to_bool, to_num
from ._payload import loads_object, text
from ._reading import reading

# --- CRC-16/ARC (poly 0x8005 reflected = 0xA001, init 0), the DSMR 4+ telegram checksum ----

_CRC_TABLE: list[int] = []
for _byte in range(256):
    _c = _byte
    for _ in range(8):
        _c = (_c >> 1) ^ 0xA001 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


def crc16(data: bytes) -> int:
    """CRC-16/ARC of ``data`` (DSMR P1 companion standard 5.0.2 §6.2)."""
    crc = 0
    table = _CRC_TABLE
    for b in data:
        crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
    return crc


# --- OBIS lines ----------------------------------------------------------------------------

# OBIS reference -> (metric, channel). Values carry their unit (kWh, kW, V, A, m3).
OBIS: dict[str, tuple[str, str | None]] = {
    "1-0:1.8.0": ("energy", None),
    "1-0:1.8.1": ("energy", "t1"),
    "1-0:1.8.2": ("energy", "t2"),
    "1-0:2.8.0": ("energy_export", None),
    "1-0:2.8.1": ("energy_export", "t1"),
    "1-0:2.8.2": ("energy_export", "t2"),
    "1-0:1.7.0": ("power", None),
    "1-0:2.7.0": ("power_export", None),
    "1-0:21.7.0": ("power", "l1"),
    "1-0:41.7.0": ("power", "l2"),
    "1-0:61.7.0": ("power", "l3"),
    "1-0:22.7.0": ("power_export", "l1"),
    "1-0:42.7.0": ("power_export", "l2"),
    "1-0:62.7.0": ("power_export", "l3"),
    "1-0:32.7.0": ("voltage", "l1"),
    "1-0:52.7.0": ("voltage", "l2"),
    "1-0:72.7.0": ("voltage", "l3"),
    "1-0:31.7.0": ("current", "l1"),
    "1-0:51.7.0": ("current", "l2"),
    "1-0:71.7.0": ("current", "l3"),
    "0-0:96.14.0": ("tariff", None),
}
_LINE = re.compile(r"^(\d-\d:\d{1,3}\.\d{1,3}\.\d{1,3})((?:\([^()]*\))+)\s*$")
_GROUP = re.compile(r"\(([^()]*)\)")
_MBUS_VALUE = re.compile(r"^0-(\d):24\.2\.[13]$")
_MBUS_TYPE = re.compile(r"^0-(\d):24\.1\.0$")
_CET = timezone(timedelta(hours=1))
_CEST = timezone(timedelta(hours=2))


def dsmr_time(raw: str, topic: str | None = None) -> str | None:
    """``YYMMDDhhmmssX`` (X: W winter/CET, S summer/CEST) to ISO UTC; None without X."""
    if len(raw) != 13 or not raw[:12].isdigit() or raw[12] not in "WS":
        return None
    try:
        dt = datetime(
            2000 + int(raw[0:2]), int(raw[2:4]), int(raw[4:6]),
            int(raw[6:8]), int(raw[8:10]), int(raw[10:12]),
            tzinfo=_CEST if raw[12] == "S" else _CET,
        )
    except ValueError:
        return None
    return iso_from_datetime(dt, topic)


def _value(raw: str) -> tuple[float | int, str | None] | None:
    """``000756.849*kWh`` -> (756.849, "kWh") converted to canonical units."""
    number, _, unit = raw.partition("*")
    num = to_num(number)
    if num is None:
        return None
    if "." not in number:
        num = int(number)
    if not unit:
        return num, None
    return convert_unit(num, unit)


def parse_lines(
    lines: list[str], device: str, topic: str, mbus_types: dict[str, str] | None = None
) -> list[Reading]:
    """Readings from OBIS lines (a whole telegram's, or one line from a serial bridge)."""
    out: list[Reading] = []
    ts: str | None = None
    types = dict(mbus_types or {})
    pending_legacy_gas: tuple[str, str | None] | None = None
    parsed: list[tuple[str, list[str]]] = []
    channel: str | None
    for line in lines:
        if pending_legacy_gas is not None:
            # DSMR 2.2/3: 0-1:24.3.0(ts)(08)(60)(1)(0-1:24.2.1)(m3) then "(00124.477)".
            m = _GROUP.fullmatch(line.strip())
            if m is not None:
                parsed.append(("legacy-gas", [pending_legacy_gas[0], m.group(1),
                                              pending_legacy_gas[1] or ""]))
            pending_legacy_gas = None
            continue
        m = _LINE.match(line)
        if m is None:
            continue
        ref, groups = m.group(1), _GROUP.findall(m.group(2))
        if ref == "0-0:1.0.0" and groups:
            ts = dsmr_time(groups[0], topic)
        elif ref.endswith(":24.3.0") and len(groups) >= 6:
            pending_legacy_gas = (groups[0], groups[5] or None)
            continue
        mt = _MBUS_TYPE.match(ref)
        if mt is not None and groups:
            types[mt.group(1)] = groups[0]
        parsed.append((ref, groups))
    for ref, groups in parsed:
        if ref == "legacy-gas":
            num = to_num(groups[1])
            if num is not None:
                value, canon = convert_unit(num, groups[2] or "m3")
                # Legacy timestamps have no W/S flag: their offset is unknown, so no ts.
                out.append(reading(device, "gas", value, canon, None, None))
            continue
        spec = OBIS.get(ref)
        if spec is not None and groups:
            val = _value(groups[-1])
            if val is None:
                continue
            metric, channel = spec
            value, unit = val
            if metric == "tariff":
                value = int(value)
                channel = None
                unit = None
            out.append(reading(device, metric, value, unit, channel, ts))
            continue
        mv = _MBUS_VALUE.match(ref)
        if mv is not None and len(groups) >= 2:
            val = _value(groups[-1])
            if val is None:
                continue
            value, unit = val
            bus = mv.group(1)
            # M-Bus device type 3 is gas, 7 water (EN 13757-3); unknown means gas.
            if types.get(bus, "003").lstrip("0") == "7":
                out.append(reading(device, "water", round(float(value) * 1000.0, 3), "L",
                                   None if bus == "1" else bus, dsmr_time(groups[0], topic)))
            else:
                out.append(reading(device, "gas", value, unit, None if bus == "1" else bus,
                                   dsmr_time(groups[0], topic)))
    return out


def parse_telegram(payload: bytes, topic: str) -> Normalized:
    """Readings from one raw P1 telegram, after checking its CRC.

    Raises:
        PayloadRejected: not a telegram, a CRC mismatch, or a missing CRC on DSMR 4+.
    """
    raw = payload.lstrip()
    if not raw.startswith(b"/"):
        raise PayloadRejected("DSMR telegram does not start with '/'", topic=topic)
    end = raw.find(b"!")
    if end < 0:
        raise PayloadRejected("DSMR telegram has no '!' end line (truncated?)", topic=topic)
    try:
        body = raw[: end + 1].decode("ascii")
    except UnicodeDecodeError:
        raise PayloadRejected("DSMR telegram is not ASCII", topic=topic) from None
    tail = raw[end + 1 :].strip()
    lines = body.splitlines()
    versioned = any(
        line.startswith(("1-3:0.2.8(", "0-0:96.1.4(")) for line in lines
    )
    if tail:
        try:
            expected = int(tail[:4], 16) if len(tail) == 4 else -1
        except ValueError:
            expected = -1
        if expected < 0:
            raise PayloadRejected("DSMR telegram CRC is not four hex digits", topic=topic)
        actual = crc16(raw[: end + 1])
        if actual != expected:
            raise PayloadRejected(
                f"DSMR telegram CRC mismatch: says {expected:04X}, computed {actual:04X}",
                topic=topic,
            )
    elif versioned:
        raise PayloadRejected("DSMR 4+ telegram without its CRC", topic=topic)
    header = lines[0][1:].strip() if lines else ""
    device = header.replace("\\", "") or "p1"
    return Normalized(readings=tuple(parse_lines(lines[1:], device, topic)))


# --- JSON bridges --------------------------------------------------------------------------

# dsmr-reader field -> (metric, channel, unit as sent)
DSMR_READER: dict[str, tuple[str, str | None, str]] = {
    "electricity_delivered_1": ("energy", "t1", "kWh"),
    "electricity_delivered_2": ("energy", "t2", "kWh"),
    "electricity_returned_1": ("energy_export", "t1", "kWh"),
    "electricity_returned_2": ("energy_export", "t2", "kWh"),
    "electricity_currently_delivered": ("power", None, "kW"),
    "electricity_currently_returned": ("power_export", None, "kW"),
    "phase_voltage_l1": ("voltage", "l1", "V"),
    "phase_voltage_l2": ("voltage", "l2", "V"),
    "phase_voltage_l3": ("voltage", "l3", "V"),
    "phase_power_current_l1": ("current", "l1", "A"),
    "phase_power_current_l2": ("current", "l2", "A"),
    "phase_power_current_l3": ("current", "l3", "A"),
    "extra_device_delivered": ("gas", None, "m3"),
}
for _i in (1, 2, 3):
    DSMR_READER[f"phase_currently_delivered_l{_i}"] = ("power", f"l{_i}", "kW")
    DSMR_READER[f"phase_currently_returned_l{_i}"] = ("power_export", f"l{_i}", "kW")


def _dsmr_reader_record(device: str, obj: dict[str, Any], topic: str) -> Normalized:
    ts = iso_any(obj.get("timestamp"), topic)
    gas_ts = iso_any(obj.get("extra_device_timestamp"), topic) or ts
    out: list[Reading] = []
    for key, (metric, channel, unit) in DSMR_READER.items():
        if key not in obj:
            continue
        num = to_num(obj[key])
        if num is None:
            continue
        value, canon = convert_unit(num, unit)
        out.append(reading(device, metric, value, canon, channel, gas_ts if metric == "gas"
                           else ts))
    return Normalized(readings=tuple(out))


def _dsmr_reader(h: Household, parts: list[str], topic: str, payload: bytes) -> Normalized:
    device = parts[0]
    sub = parts[1] if len(parts) > 1 else ""
    if sub == "raw":
        return parse_telegram(payload, topic)
    if sub == "json" and len(parts) == 2:
        return _dsmr_reader_record(device, loads_object(payload, topic), topic)
    if sub in ("el", "gas") and len(parts) == 2:
        return dsmr2mqtt(h, parts, topic, payload)
    if len(parts) == 3 and sub in ("reading", "meter-stats", "consumption", "day-consumption"):
        field = parts[2]
        value = text(payload, topic, limit=64)
        if not value:
            return EMPTY  # dsmr-reader publishes empty values before the first reading
        if sub == "reading" and field in DSMR_READER:
            return _dsmr_reader_record(device, {field: value}, topic)
        if sub == "meter-stats" and field == "electricity_tariff":
            num = to_num(value)
            if num is None:
                raise PayloadRejected("electricity_tariff is not a number", topic=topic)
            # dsmr-reader: 1 is the low tariff (t1), 0 the normal one (t2).
            return Normalized(readings=(reading(device, "tariff", int(num), None, None, None),))
        if sub == "meter-stats" and field == "dsmr_version":
            if not value.isdigit() or len(value) > 3:
                raise PayloadRejected("dsmr_version is not a version number", topic=topic)
            version = f"{value[0]}.{value[1:]}" if len(value) > 1 else value
            return Normalized(readings=(reading(device, "dsmr_version", version, None, None,
                                                None),))
        return EMPTY  # other statistics (day totals, costs) are derived, not readings
    if len(parts) >= 2 and parts[1] in ("p1",):
        return parse_telegram(payload, topic)
    raise PayloadRejected("unknown dsmr topic", topic=topic)


def dsmr2mqtt(h: Household, parts: list[str], topic: str, payload: bytes) -> Normalized:
    """hansij66/dsmr2mqtt ``<prefix>/el`` and ``<prefix>/gas`` (counters x1000)."""
    del h
    obj = loads_object(payload, topic)
    serial = obj.get("serial")
    device = serial if type(serial) is str and 0 < len(serial) <= 64 else parts[0]
    ts = iso_any(obj.get("timestamp"), topic)
    out: list[Reading] = []

    def add(key: str, metric: str, scale: float, unit: str | None, channel: str | None) -> None:
        num = to_num(obj.get(key)) if key in obj else None
        if num is not None:
            out.append(reading(device, metric, round(num * scale, 6), unit, channel, ts))

    if parts[-1] == "gas":
        if "gas_consumed" not in obj:
            raise PayloadRejected("dsmr2mqtt gas message without gas_consumed", topic=topic)
        add("gas_consumed", "gas", 0.001, "m³", None)  # litres published, m³ claimed
    else:
        add("el_consumed", "energy", 0.001, "kWh", None)
        add("el_returned", "energy_export", 0.001, "kWh", None)
        add("p_consumed", "power", 1.0, "W", None)
        add("p_generated", "power_export", 1.0, "W", None)
        for i in (1, 2, 3):
            add(f"V{i}", "voltage", 1.0, "V", f"l{i}")
    return Normalized(readings=tuple(out))


def gas2mqtt(h: Household, parts: list[str], topic: str, payload: bytes) -> Normalized:
    """ff-fab/gas2mqtt ``gas2mqtt/<name>/state``: cumulative ``consumption_m3``."""
    del h
    if len(parts) != 3 or parts[2] != "state":
        if len(parts) >= 3 and parts[-1] in ("availability", "status"):
            online = to_bool(text(payload, topic, limit=32))
            if online is None:
                raise PayloadRejected("availability is neither online nor offline", topic=topic)
            return Normalized(readings=(reading(parts[1], "online", online, None, None, None),))
        raise PayloadRejected("unknown gas2mqtt topic", topic=topic)
    obj = loads_object(payload, topic)
    num = to_num(obj.get("consumption_m3"))
    if num is None:
        raise PayloadRejected("gas2mqtt state without a numeric consumption_m3", topic=topic)
    return Normalized(readings=(reading(parts[1], "gas", num, "m³", None, None),))


def serial_line(device: str, line: Any, topic: str) -> list[Reading]:
    """Readings from one OBIS line relayed by Tasmota's serial bridge."""
    if type(line) is not str or len(line) > 1024:
        return []
    return parse_lines([line.strip()], device, topic)


def handle(h: Household, parts: list[str], topic: str, payload: bytes) -> Normalized:
    """Entry point for topics under ``dsmr/`` (dsmr-reader, dsmr2mqtt default prefix)."""
    return _dsmr_reader(h, parts, topic, payload)
