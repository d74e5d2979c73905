"""Fan-out to SQLite and InfluxDB, and building the history from settings."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from telemetry_servers import InfluxServer, free_port

from hub.errors import ConfigError
from hub.events import Reading
from hub.storage.database import Database
from hub.telemetry import (
    FanoutHistory,
    InfluxHistory,
    MemoryHistory,
    SQLiteHistory,
    build_history,
)
from tests.stores import open_db

T0 = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_db(tmp_path / "hub.sqlite3")
    try:
        yield database
    finally:
        database.close()


@dataclass
class FakeSettings:
    """The attributes build_history reads, as the hub's Settings carries them."""

    history_raw_days: int = 7
    history_agg_days: int = 365
    influx_url: str | None = None
    influx_token: SecretStr = field(default_factory=lambda: SecretStr(""))
    influx_org: str = ""
    influx_bucket: str = "hub"


def power(value: float) -> Reading:
    return Reading(device="meter", metric="power", value=value, unit="W")


def test_readings_reach_sqlite_and_influx_and_queries_use_sqlite(
    db: Database, influxd: InfluxServer, hh: str
) -> None:
    database = f"t{uuid.uuid4().hex[:10]}"
    influxd.influxql(f'CREATE DATABASE "{database}"')
    store = SQLiteHistory(db, flush_interval_s=None)
    influx = InfluxHistory(influxd.url, bucket=database, api="v1")
    history = FanoutHistory(store, influx)
    try:
        # InfluxDB keeps one point per series and time: the second time differs.
        history.write(hh, [power(1.5)], T0.timestamp())
        history.write(hh, [power(2.5)], T0.timestamp() + 1)
        history.flush()
        points = history.query(hh, "meter", "power", start=T0, end=T0 + timedelta(minutes=1))
        stats = history.stats()
    finally:
        history.close()

    assert [p.value for p in points] == [1.5, 2.5]
    assert stats["written"] == 2
    assert stats["sinks"]["sqlite"]["written"] == 2
    assert stats["sinks"]["influx"]["written"] == 2
    answer = influxd.influxql("SELECT value FROM power", db=database)
    assert [v for _, v in answer["results"][0]["series"][0]["values"]] == [1.5, 2.5]


def test_influx_away_leaves_the_primary_untouched(hh: str, wait_until: Callable[..., None]) -> None:
    primary = MemoryHistory()
    influx = InfluxHistory(
        f"http://127.0.0.1:{free_port()}",
        bucket="hub",
        api="v1",
        max_buffer=5,
        backoff_initial_s=0.05,
        backoff_max_s=0.1,
    )
    history = FanoutHistory(primary, influx)
    try:
        for i in range(4):
            history.write(hh, [power(i), power(10 + i)], T0.timestamp() + i)
        history.flush()
        wait_until(lambda: influx.stats()["retries"] >= 1, what="a failed send")
        points = history.query(hh, "meter", "power", start=T0, end=T0 + timedelta(minutes=1))
        stats = history.stats()
    finally:
        history.close()

    assert len(points) == 8
    assert (stats["written"], stats["dropped"]) == (8, 0)
    assert stats["sinks"]["influx"]["dropped"] == 3
    assert stats["sinks"]["influx"]["written"] == 0


def test_charts_and_compaction_go_to_the_primary(db: Database, hh: str) -> None:
    store = SQLiteHistory(db, flush_interval_s=None, raw_days=1)
    extra = MemoryHistory()
    history = FanoutHistory(store, extra)
    extra.name = "extra"
    for day in range(3):
        history.write(
            hh,
            [Reading(device="meter", metric="energy", value=100.0 + day * 3)],
            (T0 + timedelta(days=day)).timestamp(),
        )
    history.flush()

    days = history.energy_per_day(hh, "meter", days=3, now=T0 + timedelta(days=2, hours=1))
    removed = history.compact(T0 + timedelta(days=2, hours=1))
    history.close()

    assert [d.value for d in days] == [0.0, 3.0, 3.0]
    assert removed == {"raw": 2, "agg": 0}
    assert history.stats()["sinks"]["extra"]["written"] == 3


def test_settings_without_influx_build_the_sqlite_store(db: Database) -> None:
    history = build_history(db, FakeSettings(history_raw_days=3, history_agg_days=30))
    try:
        assert isinstance(history, SQLiteHistory)
        assert (history.raw_days, history.agg_days, history.bucket_s) == (3, 30, 300)
    finally:
        history.close()


def test_settings_with_an_influx_url_fan_out(db: Database, influxd: InfluxServer, hh: str) -> None:
    database = f"t{uuid.uuid4().hex[:10]}"
    influxd.influxql(f'CREATE DATABASE "{database}"')
    settings = FakeSettings(influx_url=influxd.url, influx_bucket=database)
    history = build_history(db, settings)
    try:
        assert isinstance(history, FanoutHistory)
        assert [w.name for w in history.writers] == ["sqlite", "influx"]
        history.write(hh, [power(4.0)], T0.timestamp())
        history.flush()
    finally:
        history.close()
    answer = influxd.influxql("SELECT value FROM power", db=database)
    assert answer["results"][0]["series"][0]["values"][0][1] == 4.0


def test_settings_for_influx_2_need_a_token_and_org(db: Database) -> None:
    settings = FakeSettings(influx_url="http://127.0.0.1:1", influx_org="acme")
    with pytest.raises(ConfigError, match="HUB_INFLUX_TOKEN"):
        build_history(db, settings)
