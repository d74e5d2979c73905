"""Pure functions on series: readings to samples, bucket grids with gaps, counter rises.

Every store uses these, so the in-memory fake and the SQLite store agree to the bit on
what a bucket, a gap and a daily rise are.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from hub.events import Reading
from hub.telemetry.points import Point

Sample = tuple[str, str, str, str, float, float]
"""(household, device, metric, channel or "", epoch seconds, value): one stored reading."""


def numeric(value: object) -> float | None:
    """The reading's value as a float: numbers as they are, bools as 0/1; else None."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def reading_time(ts: str | None, fallback: float) -> float:
    """Epoch seconds of a reading: its own ISO 8601 UTC timestamp, else ``fallback``.

    The ingest pipeline has already refused naive and far-future timestamps; one that
    still cannot be read falls back to the time the hub received the message.
    """
    if not ts:
        return fallback
    try:
        parsed = datetime.fromisoformat(ts)
    except ValueError:
        return fallback
    if parsed.tzinfo is None:
        return fallback
    return parsed.timestamp()


def to_samples(
    household: str, readings: Sequence[Reading], received_at: float
) -> tuple[list[Sample], int]:
    """Turn a batch of readings into samples; returns them and how many were skipped."""
    out: list[Sample] = []
    skipped = 0
    for reading in readings:
        value = numeric(reading.value)
        if value is None:
            skipped += 1
            continue
        out.append(
            (
                household,
                reading.device,
                reading.metric,
                reading.channel or "",
                reading_time(reading.ts, received_at),
                value,
            )
        )
    return out, skipped


def epoch(dt: datetime) -> float:
    """Epoch seconds of an aware datetime; naive ones are a caller's bug."""
    if dt.tzinfo is None:
        raise ValueError("datetimes given to the history must be timezone-aware")
    return dt.timestamp()


def grid(start: float, end: float, step: int) -> tuple[int, int]:
    """Bucket indexes ``[first, last)`` covering ``[start, end)`` on the epoch-aligned grid."""
    if step <= 0:
        raise ValueError("step_s must be positive")
    first = math.floor(start / step)
    last = max(first, math.ceil(end / step))
    return first, last


@dataclass(slots=True)
class Bucket:
    """Running aggregate of one bucket."""

    total: float
    count: int
    low: float
    high: float

    def add(self, value: float) -> None:
        self.total += value
        self.count += 1
        self.low = min(self.low, value)
        self.high = max(self.high, value)


def bucketize(rows: Iterable[tuple[float, float]], step: int) -> dict[int, Bucket]:
    """Aggregate (ts, value) rows into buckets keyed by ``floor(ts / step)``."""
    buckets: dict[int, Bucket] = {}
    for ts, value in rows:
        index = math.floor(ts / step)
        bucket = buckets.get(index)
        if bucket is None:
            buckets[index] = Bucket(value, 1, value, value)
        else:
            bucket.add(value)
    return buckets


def fill(buckets: dict[int, Bucket], first: int, last: int, step: int) -> list[Point]:
    """One point per bucket index in ``[first, last)``; missing buckets become gaps."""
    points = []
    for index in range(first, last):
        ts = datetime.fromtimestamp(index * step, UTC)
        bucket = buckets.get(index)
        if bucket is None or bucket.count == 0:
            points.append(Point(ts=ts, value=None, min=None, max=None, count=0))
        else:
            points.append(
                Point(
                    ts=ts,
                    value=bucket.total / bucket.count,
                    min=bucket.low,
                    max=bucket.high,
                    count=bucket.count,
                )
            )
    return points


def raw_point(ts: float, value: float) -> Point:
    """A raw reading as a point."""
    return Point(ts=datetime.fromtimestamp(ts, UTC), value=value, min=value, max=value, count=1)


@dataclass(frozen=True, slots=True)
class Rise:
    """The rise of a counter within one interval."""

    value: float | None
    samples: int
    resets: int


RESET_FRACTION = 0.5
"""A drop below this fraction of the highest value seen counts as a counter reset."""


def daily_rises(samples: Sequence[tuple[float, float]], edges: Sequence[float]) -> list[Rise]:
    """Rise of a cumulative counter in each interval ``[edges[i], edges[i+1])``.

    Each step between consecutive samples is booked in the interval of the later sample,
    so consumption during an offline stretch lands on the day readings resume and no
    energy is lost or counted twice. Rises are measured from the highest value seen
    since the last reset, so a meter that jitters down and back up adds nothing. A drop
    below ``RESET_FRACTION`` of that high mark is a reset: the counter restarted from
    zero, and its new value is the rise.

    Args:
        samples: (epoch seconds, value), oldest first; may start before ``edges[0]``.
        edges: interval boundaries, ascending; ``len(edges) - 1`` intervals.
    """
    count = len(edges) - 1
    totals = [0.0] * count
    seen = [0] * count
    resets = [0] * count
    high: float | None = None
    interval = 0
    for ts, value in samples:
        while interval < count and ts >= edges[interval + 1]:
            interval += 1
        inside = edges[0] <= ts < edges[-1]
        if high is None:
            rise, reset = 0.0, False
            high = value
        elif value >= high:
            rise, reset = value - high, False
            high = value
        elif value < high * RESET_FRACTION:
            rise, reset = max(value, 0.0), True
            high = value
        else:
            rise, reset = 0.0, False
        if inside:
            totals[interval] += rise
            seen[interval] += 1
            resets[interval] += int(reset)
    return [Rise(totals[i] if seen[i] else None, seen[i], resets[i]) for i in range(count)]
