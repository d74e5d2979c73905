"""An in-memory history store: the fake for fast unit tests, same behaviour as SQLite."""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta

from hub.clock import Clock, SystemClock
from hub.telemetry import series
from hub.telemetry.buffered import BufferedStore
from hub.telemetry.points import Point, SeriesInfo

SeriesKey = tuple[str, str, str, str]


class MemoryHistory(BufferedStore):
    """Keeps every sample in memory; ``compact()`` drops those older than ``keep_days``.

    Args:
        clock: the time source of the chart helpers and ``compact()``.
        keep_days: retention applied by ``compact()``.
        **buffering: see :class:`~hub.telemetry.buffered.BufferedStore`; the default here
            is no background thread (``flush_interval_s=None``).
    """

    name = "memory"

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        keep_days: int = 365,
        max_buffer: int = 100_000,
        flush_interval_s: float | None = None,
        flush_at: int = 10_000,
    ) -> None:
        super().__init__(
            max_buffer=max_buffer, flush_interval_s=flush_interval_s, flush_at=flush_at
        )
        self.clock = clock or SystemClock()
        self.keep_days = keep_days
        self._series: dict[SeriesKey, list[tuple[float, float]]] = {}

    def _store(self, batch: list[series.Sample]) -> None:
        for household, device, metric, channel, ts, value in batch:
            rows = self._series.setdefault((household, device, metric, channel), [])
            bisect.insort(rows, (ts, value))

    def _rows(
        self, household: str, device: str, metric: str, channel: str | None
    ) -> list[tuple[float, float]]:
        return self._series.get((household, device, metric, channel or ""), [])

    def query(
        self,
        household: str,
        device: str,
        metric: str,
        *,
        channel: str | None = None,
        start: datetime,
        end: datetime,
        step_s: int | None = None,
    ) -> list[Point]:
        rows = self._rows(household, device, metric, channel)
        lo, hi = series.epoch(start), series.epoch(end)
        if step_s is None:
            return [series.raw_point(ts, v) for ts, v in rows if lo <= ts < hi]
        first, last = series.grid(lo, hi, step_s)
        inside = [(ts, v) for ts, v in rows if first * step_s <= ts < last * step_s]
        return series.fill(series.bucketize(inside, step_s), first, last, step_s)

    def counter_samples(
        self,
        household: str,
        device: str,
        metric: str,
        *,
        channel: str | None = None,
        start: datetime,
        end: datetime,
    ) -> list[tuple[float, float]]:
        rows = self._rows(household, device, metric, channel)
        lo, hi = series.epoch(start), series.epoch(end)
        before = [row for row in rows if row[0] < lo][-1:]
        return before + [row for row in rows if lo <= row[0] < hi]

    def series(self, household: str, device: str | None = None) -> list[SeriesInfo]:
        found = {
            (d, m, c)
            for (h, d, m, c), rows in self._series.items()
            if h == household and rows and (device is None or d == device)
        }
        return [SeriesInfo(device=d, metric=m, channel=c or None) for d, m, c in sorted(found)]

    def compact(self, now: datetime | None = None) -> dict[str, int]:
        cutoff = series.epoch((now or self.clock.now()) - timedelta(days=self.keep_days))
        removed = 0
        for key, rows in self._series.items():
            keep = [row for row in rows if row[0] >= cutoff]
            removed += len(rows) - len(keep)
            self._series[key] = keep
        return {"raw": removed}
