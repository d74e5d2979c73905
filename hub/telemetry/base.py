"""The telemetry history port: where every reading goes, and what charts read back.

Two roles, kept apart because not every backend can answer questions cheaply:

* :class:`HistoryWriter` takes readings. ``write()`` is called by the ingest pipeline once
  per batch of messages, so it only buffers: it never touches a disk or a network, never
  waits and never raises into the pipeline. ``flush()`` moves the buffer out.
* :class:`HistoryStore` is a writer that can also be queried: ``query()`` plus the chart
  helpers the dashboards use (power today, energy per day, fridge temperature, gas per
  day). The helpers are written once, here, on top of two primitives each store
  implements: ``query()`` and ``counter_samples()``.

Only numeric readings are kept: numbers as they are, booleans as 0/1; strings and
non-finite numbers are skipped (and counted in ``stats()["skipped"]``).

A series is (household, device, metric, channel); ``channel=None`` means readings that
carry no channel (the meter total, a single-compartment fridge), not "all channels".
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from hub.clock import Clock
from hub.events import Reading
from hub.telemetry import series
from hub.telemetry.points import DailyTotal, Point, SeriesInfo


class HistoryWriter(ABC):
    """Takes readings without ever making the ingest pipeline wait."""

    name: str = "history"

    @abstractmethod
    def write(self, household: str, readings: Sequence[Reading], received_at: float) -> None:
        """Buffer a batch of readings of one household.

        Never blocks on I/O and never raises: a failure is counted and logged, and the
        pipeline carries on.

        Args:
            household: the household the readings came from (taken from the topic).
            readings: canonical readings; non-numeric ones are skipped.
            received_at: when the hub received them (epoch seconds); used when a
                reading has no source timestamp of its own.
        """

    @abstractmethod
    def flush(self) -> None:
        """Move everything buffered so far to the backend (or try to, for remote ones)."""

    @abstractmethod
    def close(self) -> None:
        """Flush what can be flushed and stop any background thread. Idempotent."""

    @abstractmethod
    def stats(self) -> dict[str, Any]:
        """Counters for ``/metrics`` and the admin view.

        Keys every writer reports: ``written`` (points stored or delivered),
        ``buffered`` (waiting, including in flight), ``dropped`` (lost because the
        bounded buffer was full or the writer closed with points pending), ``skipped``
        (non-numeric or unrepresentable readings) and ``last_error`` (text or None).
        """


class HistoryStore(HistoryWriter):
    """A history writer that can be queried; the chart helpers live here.

    Args of the helpers that every chart shares: ``now`` defaults to the store's clock,
    ``tz`` is the time zone whose midnight starts a day (UTC by default).
    """

    clock: Clock

    @abstractmethod
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
        """Points of one series in ``[start, end)``.

        Without ``step_s``: the raw readings, oldest first (only as far back as raw
        readings are kept). With ``step_s``: one point per bucket, gaps included, buckets
        aligned to multiples of ``step_s`` since the epoch (``start`` is floored and
        ``end`` ceiled to that grid).
        """

    @abstractmethod
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
        """(epoch seconds, value) samples of a cumulative counter in ``[start, end)``.

        Oldest first, preceded by the last sample before ``start`` when there is one, so
        that the rise across the first boundary is counted. A store may thin the samples
        (the SQLite store gives the first and last of each aggregate bucket).
        """

    @abstractmethod
    def series(self, household: str, device: str | None = None) -> list[SeriesInfo]:
        """The series held for a household (or one of its devices), sorted."""

    def compact(self, now: datetime | None = None) -> dict[str, int]:
        """Apply retention and downsampling; returns what was removed, by kind."""
        return {}

    # -- chart helpers ----------------------------------------------------------------

    def _now(self, now: datetime | None) -> datetime:
        when = now if now is not None else self.clock.now()
        if when.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return when

    def power_today(
        self,
        household: str,
        device: str,
        *,
        channel: str | None = None,
        now: datetime | None = None,
        tz: tzinfo = UTC,
        step_s: int = 300,
    ) -> list[Point]:
        """Power (W) since local midnight in ``step_s`` buckets, up to the current one."""
        when = self._now(now)
        local = when.astimezone(tz)
        midnight = datetime.combine(local.date(), datetime.min.time(), tzinfo=tz)
        return self.query(
            household,
            device,
            "power",
            channel=channel,
            start=midnight,
            end=when + timedelta(microseconds=1),
            step_s=step_s,
        )

    def temperature_series(
        self,
        household: str,
        device: str,
        hours: int = 24,
        *,
        channel: str | None = None,
        now: datetime | None = None,
        step_s: int = 300,
    ) -> list[Point]:
        """Temperature (°C) of the last ``hours`` hours; ``channel`` names a compartment."""
        when = self._now(now)
        end = when + timedelta(microseconds=1)
        return self.query(
            household,
            device,
            "temperature",
            channel=channel,
            start=end - timedelta(hours=hours),
            end=end,
            step_s=step_s,
        )

    def counter_per_day(
        self,
        household: str,
        device: str,
        metric: str,
        days: int = 7,
        *,
        channel: str | None = None,
        now: datetime | None = None,
        tz: tzinfo = UTC,
    ) -> list[DailyTotal]:
        """Daily rise of a cumulative counter over the last ``days`` days (today last).

        A day without readings is a gap (``value=None``); the rise over an offline
        stretch is booked on the day readings resume. A drop to less than half of the
        highest value seen is a reset (the counter restarted from zero); smaller drops
        are meter jitter and add nothing.
        """
        if days < 1:
            raise ValueError("days must be at least 1")
        when = self._now(now)
        today = when.astimezone(tz).date()
        starts = [
            datetime.combine(today - timedelta(days=days - 1 - i), datetime.min.time(), tzinfo=tz)
            for i in range(days + 1)
        ]
        edges = [s.timestamp() for s in starts]
        samples = self.counter_samples(
            household,
            device,
            metric,
            channel=channel,
            start=starts[0],
            end=starts[-1],
        )
        rises = series.daily_rises(samples, edges)
        return [
            DailyTotal(
                day=starts[i].date(),
                start=starts[i].astimezone(UTC),
                value=rise.value,
                samples=rise.samples,
                resets=rise.resets,
            )
            for i, rise in enumerate(rises)
        ]

    def energy_per_day(
        self,
        household: str,
        device: str,
        days: int = 7,
        *,
        channel: str | None = None,
        now: datetime | None = None,
        tz: tzinfo = UTC,
    ) -> list[DailyTotal]:
        """Imported energy (kWh) per day, from the cumulative ``energy`` counter."""
        return self.counter_per_day(
            household, device, "energy", days, channel=channel, now=now, tz=tz
        )

    def gas_per_day(
        self,
        household: str,
        device: str,
        days: int = 7,
        *,
        channel: str | None = None,
        now: datetime | None = None,
        tz: tzinfo = UTC,
    ) -> list[DailyTotal]:
        """Gas (m³) per day, from the cumulative ``gas`` meter reading."""
        return self.counter_per_day(household, device, "gas", days, channel=channel, now=now, tz=tz)
