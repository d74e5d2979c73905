"""A fast constructor for :class:`hub.events.Reading` on the ingest hot path.

``Reading`` is a frozen, slotted dataclass: its generated ``__init__`` goes through
``object.__setattr__`` once per field, which costs about a microsecond per reading. Setting
the slots through their member descriptors builds the very same object in less than half
that time. If ``Reading`` ever gains or loses a field, the fast path turns itself off and the
ordinary constructor is used, so this module can never build an incomplete object.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from hub.events import Normalized, Reading, Value

_FIELDS = ("device", "metric", "value", "unit", "channel", "ts")


def _build_fast() -> Callable[..., Reading] | None:
    names = tuple(f.name for f in dataclasses.fields(Reading))
    if names != _FIELDS or not hasattr(Reading, "__slots__"):
        return None
    new = object.__new__
    sd, sm, sv, su, sc, st = (Reading.__dict__[name].__set__ for name in _FIELDS)

    def fast(
        device: str, metric: str, value: Value, unit: str | None, channel: str | None,
        ts: str | None,
    ) -> Reading:
        r: Reading = new(Reading)
        sd(r, device)
        sm(r, metric)
        sv(r, value)
        su(r, unit)
        sc(r, channel)
        st(r, ts)
        return r

    return fast


def _slow(
    device: str, metric: str, value: Value, unit: str | None, channel: str | None, ts: str | None
) -> Reading:
    return Reading(device=device, metric=metric, value=value, unit=unit, channel=channel, ts=ts)


reading: Callable[[str, str, Value, str | None, str | None, str | None], Reading] = (
    _build_fast() or _slow
)
"""``reading(device, metric, value, unit, channel, ts)``: a new :class:`Reading`."""


def _build_fast_normalized() -> Callable[[tuple[Reading, ...]], Normalized] | None:
    names = tuple(f.name for f in dataclasses.fields(Normalized))
    if names != ("readings", "registrations") or not hasattr(Normalized, "__slots__"):
        return None
    new = object.__new__
    set_readings = Normalized.__dict__["readings"].__set__
    set_regs = Normalized.__dict__["registrations"].__set__

    def fast(readings: tuple[Reading, ...]) -> Normalized:
        n: Normalized = new(Normalized)
        set_readings(n, readings)
        set_regs(n, ())
        return n

    return fast


def _slow_normalized(readings: tuple[Reading, ...]) -> Normalized:
    return Normalized(readings=readings)


normalized: Callable[[tuple[Reading, ...]], Normalized] = (
    _build_fast_normalized() or _slow_normalized
)
"""``normalized(readings)``: a new :class:`Normalized` holding only readings."""
