"""The writer half of the port, run against every writer: the fake, SQLite and InfluxDB.

What the ingest pipeline relies on: ``write`` buffers and never raises, ``flush`` moves the
buffer out, ``stats`` counts written, buffered, skipped and dropped points exactly, and
``close`` is final and idempotent.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from telemetry_servers import InfluxServer

from hub.events import Reading
from hub.storage.database import Database
from hub.telemetry import HistoryWriter, InfluxHistory, MemoryHistory, SQLiteHistory
from tests.stores import open_db

T0 = datetime(2026, 11, 28, 7, 0, tzinfo=UTC).timestamp()
LIMIT = 1000


WRITERS = ["memory", "sqlite", "influx-v1"]
if os.environ.get("HUB_TEST_INFLUX_URL"):
    WRITERS.append("influx-v2")


@pytest.fixture(params=WRITERS)
def writer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HistoryWriter]:
    db: Database | None = None
    made: HistoryWriter
    if request.param == "memory":
        made = MemoryHistory(max_buffer=LIMIT)
    elif request.param == "sqlite":
        db = open_db(tmp_path / "hub.sqlite3")
        made = SQLiteHistory(db, flush_interval_s=None, max_buffer=LIMIT)
    elif request.param == "influx-v2":
        made = InfluxHistory(
            os.environ["HUB_TEST_INFLUX_URL"],
            token=os.environ.get("HUB_TEST_INFLUX_TOKEN", ""),
            org=os.environ.get("HUB_TEST_INFLUX_ORG", ""),
            bucket=os.environ.get("HUB_TEST_INFLUX_BUCKET", "hub"),
            api="v2",
            max_buffer=LIMIT,
        )
    else:
        server: InfluxServer = request.getfixturevalue("influxd")
        name = f"t{uuid.uuid4().hex[:10]}"
        server.influxql(f'CREATE DATABASE "{name}"')
        made = InfluxHistory(server.url, bucket=name, api="v1", max_buffer=LIMIT)
    try:
        yield made
    finally:
        made.close()
        if db is not None:
            db.close()


def readings(count: int, start: int = 0) -> list[Reading]:
    return [Reading(device=f"d{i}", metric="power", value=float(i)) for i in range(start, count)]


def test_written_and_skipped_are_counted(writer: HistoryWriter, hh: str) -> None:
    writer.write(
        hh,
        [*readings(5), Reading(device="x", metric="note", value="text")],
        T0,
    )
    writer.flush()

    stats = writer.stats()
    assert (stats["written"], stats["skipped"], stats["buffered"], stats["dropped"]) == (5, 1, 0, 0)
    assert stats["last_error"] is None


def test_one_batch_over_the_limit_drops_exactly_the_excess(writer: HistoryWriter, hh: str) -> None:
    writer.write(hh, readings(LIMIT + 250), T0)

    assert writer.stats()["dropped"] == 250
    writer.flush()
    stats = writer.stats()
    assert (stats["written"], stats["dropped"], stats["buffered"]) == (LIMIT, 250, 0)


def test_write_never_raises(writer: HistoryWriter, hh: str) -> None:
    writer.write(hh, [object()], T0)  # type: ignore[list-item]
    writer.write(hh, readings(1), T0)
    writer.flush()

    assert writer.stats()["written"] == 1
    assert "write" in (writer.stats()["last_error"] or "")


def test_close_is_final_and_idempotent(writer: HistoryWriter, hh: str) -> None:
    writer.write(hh, readings(3), T0)
    writer.close()
    writer.close()
    writer.write(hh, readings(2), T0 + 1)

    stats = writer.stats()
    assert (stats["written"], stats["dropped"], stats["buffered"]) == (3, 2, 0)
