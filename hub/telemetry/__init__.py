"""Telemetry history: every numeric reading, kept for charts.

The port is :class:`HistoryStore` (queryable) over :class:`HistoryWriter` (write-only).
Adapters: :class:`SQLiteHistory` (embedded default), :class:`MemoryHistory` (fake for
tests), :class:`InfluxHistory` (write-only, InfluxDB 1.x ``/write`` or 2.x through
influxdb-client) and :class:`FanoutHistory` (one queryable store plus extra writers).
:func:`build_history` builds the configured combination from the settings.
"""

from hub.telemetry.base import HistoryStore, HistoryWriter
from hub.telemetry.factory import build_history
from hub.telemetry.fanout import FanoutHistory
from hub.telemetry.influx import InfluxHistory
from hub.telemetry.memory import MemoryHistory
from hub.telemetry.points import DailyTotal, Point, SeriesInfo
from hub.telemetry.sqlite import SQLiteHistory

__all__ = [
    "DailyTotal",
    "FanoutHistory",
    "HistoryStore",
    "HistoryWriter",
    "InfluxHistory",
    "MemoryHistory",
    "Point",
    "SQLiteHistory",
    "SeriesInfo",
    "build_history",
]
