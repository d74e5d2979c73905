"""Durations as rule authors write them: ``30m``, ``12h``, ``1h30m``, ``2s``, ``7d``.

A bare number means seconds. Parsing happens once at load time; the engine works in
float seconds.
"""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_WHOLE = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}

DURATION_PATTERN = r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$"
"""The JSON Schema pattern of a duration string."""


def parse_duration(value: object) -> float:
    """Turn ``"30m"``, ``"1h30m"`` or a number of seconds into seconds.

    Raises:
        ValueError: the value is not a duration, or is negative.
    """
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like 30m, 12h, 1h30m")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        if _WHOLE.match(text):
            return sum(float(n) * _UNIT[u] for n, u in _PART.findall(text))
    raise ValueError(
        f"{value!r} is not a duration: write a number of seconds or a string like 30m, 12h, 1h30m"
    )


def format_duration(seconds: float) -> str:
    """The shortest readable form of a duration (``1800`` -> ``30m``)."""
    rest = round(seconds)
    if rest == 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            out.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(out)
