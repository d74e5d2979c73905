"""Values the history hands back to charts: points of a series and daily totals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from hub.clock import iso_utc


@dataclass(frozen=True, slots=True, kw_only=True)
class Point:
    """One point of a series: a raw reading, or a time bucket of them.

    An empty bucket is a gap: ``value``, ``min`` and ``max`` are None and ``count`` is 0.
    Charts draw it as a break in the line, never as an interpolated value.

    Attributes:
        ts: the reading's time, or the start of the bucket (aware UTC).
        value: the reading, or the mean of the bucket; None for a gap.
        min: smallest value in the bucket (the value itself for a raw point).
        max: largest value in the bucket.
        count: readings in the bucket (1 for a raw point, 0 for a gap).
    """

    ts: datetime
    value: float | None
    min: float | None
    max: float | None
    count: int

    @property
    def is_gap(self) -> bool:
        return self.count == 0

    def marshal(self) -> dict[str, Any]:
        return {
            "ts": iso_utc(self.ts),
            "value": self.value,
            "min": self.min,
            "max": self.max,
            "count": self.count,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class DailyTotal:
    """How much a cumulative counter (energy, gas, water) rose during one day.

    Attributes:
        day: the calendar day in the chart's time zone.
        start: the day's first instant (aware, UTC).
        value: the rise in the counter's unit; None when the device sent nothing that day.
        samples: counter readings that day that the store looked at (the SQLite store
            reads the first and last reading of each aggregate bucket, not every one).
        resets: times the counter restarted (meter replaced, device reset) that day.
    """

    day: date
    start: datetime
    value: float | None
    samples: int
    resets: int = 0

    @property
    def is_gap(self) -> bool:
        return self.value is None

    def marshal(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "start": iso_utc(self.start),
            "value": self.value,
            "samples": self.samples,
            "resets": self.resets,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class SeriesInfo:
    """A series the history holds for a household: what a dashboard can chart.

    Attributes:
        device: the vendor's device id.
        metric: the metric (``power``, ``temperature``, ...).
        channel: the sub-part (phase, tariff, compartment), or None.
    """

    device: str
    metric: str
    channel: str | None

    def marshal(self) -> dict[str, Any]:
        return {"device": self.device, "metric": self.metric, "channel": self.channel}
