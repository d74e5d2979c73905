"""Fixtures for the telemetry tests: history stores and real InfluxDB servers.

The local InfluxDB is Debian's ``influxd`` 1.6, started per session (and per test where a
test kills it) on a free loopback port with a generated config and a temp data dir, and
stopped by its pid. When ``HUB_TEST_INFLUX_URL`` names an InfluxDB 2.x server (with
``HUB_TEST_INFLUX_TOKEN``, ``HUB_TEST_INFLUX_ORG`` and ``HUB_TEST_INFLUX_BUCKET``), the
Influx contract tests also run against it.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from telemetry_servers import HoldingServer, InfluxServer, InfluxTarget

from hub.clock import FakeClock
from hub.storage.database import Database
from hub.telemetry import HistoryStore, InfluxHistory, MemoryHistory, SQLiteHistory
from tests.stores import open_db

Waiter = Callable[..., None]


def _wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Wait for a condition another thread or process brings about; fail after timeout."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or predicate}")
        time.sleep(0.01)


@pytest.fixture
def wait_until() -> Waiter:
    """``wait_until(predicate, timeout=10, what="...")``: poll a condition, fail on timeout."""
    return _wait_until


# -- stores ----------------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def hh() -> str:
    """A household id no other test uses."""
    return f"h{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["memory", "sqlite"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[HistoryStore]:
    """Each queryable history store, flushed by the test itself."""
    made: HistoryStore
    db: Database | None = None
    if request.param == "memory":
        made = MemoryHistory(clock=clock, max_buffer=1000)
    else:
        db = open_db(tmp_path / "hub.sqlite3")
        made = SQLiteHistory(db, clock=clock, flush_interval_s=None, max_buffer=1000)
    try:
        yield made
    finally:
        made.close()
        if db is not None:
            db.close()


# -- InfluxDB 1.6 ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    server = InfluxServer(tmp_path_factory.mktemp("influxd"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_influxd(tmp_path: Path) -> Iterator[InfluxServer]:
    """An influxd of this test alone, which the test may kill and restart."""
    server = InfluxServer(tmp_path / "influxd")
    server.root.mkdir()
    server.start()
    try:
        yield server
    finally:
        server.stop()


# -- Influx targets: 1.6 here, 2.x when named -----------------------------------------------


def _v1_target(server: InfluxServer) -> InfluxTarget:
    db = f"t{uuid.uuid4().hex[:10]}"
    server.influxql(f'CREATE DATABASE "{db}"')

    def make(**kwargs: Any) -> InfluxHistory:
        kwargs.setdefault("backoff_initial_s", 0.05)
        kwargs.setdefault("backoff_max_s", 0.2)
        return InfluxHistory(server.url, bucket=db, api="v1", **kwargs)

    def read(measurement: str, household: str) -> list[dict[str, Any]]:
        escaped = measurement.replace("\\", "\\\\").replace('"', '\\"')
        answer = server.influxql(
            f"SELECT * FROM \"{escaped}\" WHERE household = '{household}'", db=db
        )
        rows = []
        for result in answer["results"]:
            for serie in result.get("series", []):
                columns = serie["columns"]
                for values in serie["values"]:
                    row = dict(zip(columns, values, strict=True))
                    row["channel"] = row.get("channel")
                    rows.append(row)
        return sorted(rows, key=lambda r: (r["time"], r["device"], r["channel"] or ""))

    return InfluxTarget("v1", make, read)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _v2_target() -> InfluxTarget:
    from influxdb_client.client.influxdb_client import InfluxDBClient

    url = os.environ["HUB_TEST_INFLUX_URL"]
    token = os.environ.get("HUB_TEST_INFLUX_TOKEN", "")
    org = os.environ.get("HUB_TEST_INFLUX_ORG", "")
    bucket = os.environ.get("HUB_TEST_INFLUX_BUCKET", "hub")

    def make(**kwargs: Any) -> InfluxHistory:
        kwargs.setdefault("backoff_initial_s", 0.05)
        kwargs.setdefault("backoff_max_s", 0.2)
        return InfluxHistory(url, token=token, org=org, bucket=bucket, api="v2", **kwargs)

    def read(measurement: str, household: str) -> list[dict[str, Any]]:
        flux = (
            f'from(bucket: "{bucket}") |> range(start: 0)'
            f' |> filter(fn: (r) => r._measurement == "{measurement}"'
            f' and r.household == "{household}")'
        )
        with InfluxDBClient(url=url, token=token, org=org) as client:
            tables = client.query_api().query(flux, org=org)
        rows = []
        for table in tables:
            for record in table.records:
                values = record.values
                stamp = record.get_time()
                rows.append(
                    {
                        "time": (stamp - EPOCH) // timedelta(microseconds=1) * 1000,
                        "value": record.get_value(),
                        "device": values.get("device"),
                        "household": values.get("household"),
                        "channel": values.get("channel"),
                    }
                )
        return sorted(rows, key=lambda r: (r["time"], r["device"], r["channel"] or ""))

    return InfluxTarget("v2", make, read)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``influx_kind`` is "v1" (the local 1.6), plus "v2" when HUB_TEST_INFLUX_URL is set."""
    if "influx_kind" in metafunc.fixturenames:
        kinds = ["v1"] + (["v2"] if os.environ.get("HUB_TEST_INFLUX_URL") else [])
        metafunc.parametrize("influx_kind", kinds)


@pytest.fixture
def influx(influx_kind: str, request: pytest.FixtureRequest) -> Iterator[InfluxTarget]:
    """A target of the Influx contract tests; every writer it made is closed afterwards."""
    target = _v1_target(request.getfixturevalue("influxd")) if influx_kind == "v1" else _v2_target()
    try:
        yield target
    finally:
        for writer in target.writers:
            writer.close()


# -- a server that holds requests ------------------------------------------------------------


@pytest.fixture
def holding_server() -> Iterator[HoldingServer]:
    server = HoldingServer()
    try:
        yield server
    finally:
        server.close()
