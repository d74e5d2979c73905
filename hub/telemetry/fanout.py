"""One queryable store plus any number of extra writers (InfluxDB) behind one port."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hub.events import Reading
from hub.telemetry.base import HistoryStore, HistoryWriter
from hub.telemetry.points import Point, SeriesInfo

logger = logging.getLogger(__name__)


class FanoutHistory(HistoryStore):
    """Writes go to every store; queries and charts are answered by ``primary``.

    A failing extra writer never affects the primary or the pipeline: each ``write`` is
    isolated (the writers themselves never raise, and a bug is logged, not propagated).

    Args:
        primary: the store that answers queries (SQLite by default).
        *others: extra writers, e.g. an :class:`~hub.telemetry.influx.InfluxHistory`.
    """

    name = "fanout"

    def __init__(self, primary: HistoryStore, *others: HistoryWriter) -> None:
        self.primary = primary
        self.others = others
        self.clock = primary.clock

    @property
    def writers(self) -> tuple[HistoryWriter, ...]:
        return (self.primary, *self.others)

    def write(self, household: str, readings: Sequence[Reading], received_at: float) -> None:
        for writer in self.writers:
            try:
                writer.write(household, readings, received_at)
            except Exception:
                logger.exception("telemetry %s: write failed", writer.name)

    def flush(self) -> None:
        for writer in self.writers:
            try:
                writer.flush()
            except Exception:
                logger.exception("telemetry %s: flush failed", writer.name)

    def close(self) -> None:
        for writer in self.writers:
            try:
                writer.close()
            except Exception:
                logger.exception("telemetry %s: close failed", writer.name)

    def stats(self) -> dict[str, Any]:
        """The primary's counters, plus every writer's under ``sinks`` by name."""
        out = dict(self.primary.stats())
        out["sinks"] = {writer.name: writer.stats() for writer in self.writers}
        return out

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
        return self.primary.query(
            household, device, metric, channel=channel, start=start, end=end, step_s=step_s
        )

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
        return self.primary.counter_samples(
            household, device, metric, channel=channel, start=start, end=end
        )

    def series(self, household: str, device: str | None = None) -> list[SeriesInfo]:
        return self.primary.series(household, device)

    def compact(self, now: datetime | None = None) -> dict[str, int]:
        return self.primary.compact(now)
