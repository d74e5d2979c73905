"""The public names of hub.telemetry, pinned so that a change to them is deliberate."""

from __future__ import annotations

import hub.telemetry


def test_public_names() -> None:
    assert sorted(hub.telemetry.__all__) == [
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
    for name in hub.telemetry.__all__:
        assert getattr(hub.telemetry, name).__doc__
