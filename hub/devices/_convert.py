"""Value conversions shared by the adapters: booleans, numbers, units and timestamps.

Vendors disagree on everything: ``"ON"``, ``"Online"``, ``"true"``, ``"1"``, ``1`` and ``true``
all mean yes somewhere; temperatures come in °F, energy in Wh, power in kW; timestamps come
as epoch seconds, epoch milliseconds, ISO 8601 with or without an offset. Everything here is
total: a value that cannot be converted gives ``None`` (the caller skips it), never an
exception, except a timestamp in the future which is refused outright.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

from hub.errors import PayloadRejected

TRUE_WORDS = frozenset({"on", "true", "open", "opened", "online", "1", "yes", "active", "wet"})
FALSE_WORDS = frozenset(
    {"off", "false", "closed", "close", "offline", "0", "no", "inactive", "dry", "locked"}
)

MAX_FUTURE_S = 86_400.0
"""A source timestamp more than a day ahead of the hub's clock is refused (broken clock)."""

MIN_EPOCH_S = 946_684_800.0
"""2000-01-01T00:00:00Z: older source timestamps mean an unset clock and are dropped."""

MAX_MAGNITUDE = 1e15
"""Largest magnitude a reading may have: beyond it no meter or sensor is telling the truth,
and unit conversions (x1000) must never overflow to infinity."""

MAX_STR = 256
"""Longest string value kept in a reading."""


def to_bool(value: Any) -> bool | None:
    """``True``/``False`` from the many spellings devices use, any letter case; else None."""
    if value is True or value is False:
        return bool(value)
    if type(value) is str:
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        return None
    if type(value) is int and value in (0, 1):
        return value == 1
    return None


def to_num(value: Any) -> float | int | None:
    """A plausible finite number from a JSON number or a numeric string (dsmr-reader sends
    strings); None for anything else, including magnitudes beyond :data:`MAX_MAGNITUDE`."""
    t = type(value)
    if t is int:
        return value if -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE else None
    if t is float:
        return value if -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE else None  # NaN fails too
    if t is str and 0 < len(value) <= 32:
        try:
            f = float(value)
        except ValueError:
            return None
        return f if -MAX_MAGNITUDE <= f <= MAX_MAGNITUDE else None
    return None


def f_to_c(value: float) -> float:
    """Degrees Fahrenheit to Celsius, rounded to 0.01 °C."""
    return round((value - 32.0) * 5.0 / 9.0, 2)


def _scale(factor: float, digits: int) -> Any:
    return lambda v: round(v * factor, digits)


# (unit as sent) -> (canonical unit, conversion) for the units vendors really send.
UNIT_CONVERSIONS: dict[str, tuple[str, Any]] = {
    "°F": ("°C", f_to_c),
    "F": ("°C", f_to_c),
    "°C": ("°C", None),
    "C": ("°C", None),
    "Wh": ("kWh", _scale(0.001, 6)),
    "kWh": ("kWh", None),
    "MWh": ("kWh", _scale(1000.0, 6)),
    "W": ("W", None),
    "kW": ("W", _scale(1000.0, 3)),
    "mV": ("V", _scale(0.001, 4)),
    "V": ("V", None),
    "mA": ("A", _scale(0.001, 4)),
    "A": ("A", None),
    "hPa": ("hPa", None),
    "mbar": ("hPa", None),
    "kPa": ("hPa", _scale(10.0, 3)),
    "Pa": ("hPa", _scale(0.01, 3)),
    "m³": ("m³", None),
    "m3": ("m³", None),
    "L": ("L", None),
    "l": ("L", None),
    "%": ("%", None),
    "lx": ("lx", None),
    "ppm": ("ppm", None),
}


def convert_unit(value: float | int, unit: str | None) -> tuple[float | int, str | None]:
    """Convert ``value`` given in ``unit`` to the canonical unit of its dimension."""
    if unit is None:
        return value, None
    conv = UNIT_CONVERSIONS.get(unit)
    if conv is None:
        return value, unit
    canonical, fn = conv
    return (fn(value) if fn is not None else value), canonical


# --- timestamps -------------------------------------------------------------------------

_sec_cache: list[Any] = [None, ""]
_time = time.time


def _check_epoch(seconds: float, topic: str | None) -> bool:
    """False for an unset clock (before 2000); raises for a timestamp in the future."""
    if seconds < MIN_EPOCH_S:
        return False
    if seconds > time.time() + MAX_FUTURE_S:
        raise PayloadRejected("source timestamp is more than a day in the future", topic=topic)
    return True


def iso_from_epoch(seconds: float, topic: str | None = None) -> str | None:
    """Epoch seconds to ISO 8601 UTC (``2025-11-25T12:00:00.123456Z``), microsecond precision.

    Returns None for clocks that were never set; raises :class:`PayloadRejected` for a
    timestamp more than :data:`MAX_FUTURE_S` ahead.
    """
    # _check_epoch inlined: this runs once per message on the ingest hot path.
    if seconds < MIN_EPOCH_S:
        return None
    if seconds > _time() + MAX_FUTURE_S:
        raise PayloadRejected("source timestamp is more than a day in the future", topic=topic)
    whole = int(seconds)
    # One-slot cache: consecutive messages share the same second far more often than not.
    if _sec_cache[0] != whole:
        _sec_cache[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        _sec_cache[0] = whole
    micro = round((seconds - whole) * 1_000_000)
    if micro <= 0:
        return f"{_sec_cache[1]}Z"
    if micro >= 1_000_000:
        micro = 999_999
    if micro % 1000 == 0:
        return f"{_sec_cache[1]}.{micro // 1000:03d}Z"
    return f"{_sec_cache[1]}.{micro:06d}Z"


def iso_from_number(value: Any, topic: str | None = None) -> str | None:
    """Epoch seconds or milliseconds (told apart by size) to ISO UTC; None if not a number."""
    num = to_num(value) if type(value) is not str else None
    if num is None:
        return None
    seconds = float(num)
    if seconds > 1e11:  # milliseconds: 1e11 s is the year 5138
        seconds /= 1000.0
    return iso_from_epoch(seconds, topic)


def iso_from_datetime(dt: datetime, topic: str | None = None) -> str | None:
    """An aware datetime to ISO UTC; None for naive ones (their zone is unknown)."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        return None
    return iso_from_epoch(dt.timestamp(), topic)


def iso_from_string(value: Any, topic: str | None = None) -> str | None:
    """An ISO 8601 string with an offset (or ``Z``) to ISO UTC.

    Naive strings (Tasmota's local ``Time``, Grocy's ``row_created_timestamp``) give None:
    the device's zone is unknown, and guessing would put readings an hour or more off.
    """
    if type(value) is not str or not 10 <= len(value) <= 40:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    return iso_from_datetime(dt, topic)


def iso_any(value: Any, topic: str | None = None) -> str | None:
    """ISO UTC from an ISO string or an epoch number (seconds or milliseconds)."""
    if type(value) is str:
        return iso_from_string(value, topic)
    return iso_from_number(value, topic)


def utc_now_iso() -> str:
    """The current time as ISO UTC, second precision."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def snake(name: str) -> str:
    """``TotalStartTime`` -> ``total_start_time``; ``Door.Fridge`` -> ``door_fridge``."""
    out = _NON_WORD.sub("_", _CAMEL.sub("_", name).lower()).strip("_")
    return out[:64] or "value"


def clean_str(value: str) -> str:
    """A string value cut to :data:`MAX_STR` characters."""
    return value if len(value) <= MAX_STR else value[:MAX_STR]
