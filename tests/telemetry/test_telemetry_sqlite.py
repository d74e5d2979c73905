"""What only the SQLite history does: files, aggregates, retention, retries, its thread."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.clock import FakeClock
from hub.errors import ConfigError
from hub.events import Reading
from hub.storage.database import Database
from hub.telemetry import SQLiteHistory

T0 = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "hub.sqlite3")
    try:
        yield database
    finally:
        database.close()


def power(value: float, device: str = "meter") -> Reading:
    return Reading(device=device, metric="power", value=value, unit="W")


def count(db: Database, table: str) -> int:
    row = db.query_one(f"SELECT COUNT(*) FROM {table}")
    assert row is not None
    return int(row[0])


def test_history_survives_a_restart(tmp_path: Path, hh: str) -> None:
    path = tmp_path / "hub.sqlite3"
    first = Database(path)
    store = SQLiteHistory(first, flush_interval_s=None)
    store.write(hh, [power(12.5)], T0.timestamp())
    store.close()
    first.close()

    again = Database(path)
    try:
        reopened = SQLiteHistory(again, flush_interval_s=None)
        points = reopened.query(hh, "meter", "power", start=T0, end=T0 + timedelta(minutes=1))
        reopened.close()
    finally:
        again.close()
    assert [(p.ts, p.value) for p in points] == [(T0, 12.5)]


def test_one_flush_is_one_transaction_with_aggregates(db: Database, hh: str) -> None:
    store = SQLiteHistory(db, flush_interval_s=None)
    statements: list[str] = []
    db._conn.set_trace_callback(statements.append)  # observe what the flush sends
    for minute in range(12):
        store.write(
            hh,
            [power(minute), power(100 + minute, "b")],
            (T0 + timedelta(minutes=minute)).timestamp(),
        )
    store.flush()
    db._conn.set_trace_callback(None)
    store.close()

    begins = [s for s in statements if s.startswith("BEGIN")]
    commits = [s for s in statements if s == "COMMIT"]
    assert (len(begins), len(commits)) == (1, 1)
    assert sum(s.startswith("INSERT INTO telemetry_raw") for s in statements) == 24
    assert count(db, "telemetry_raw") == 24
    # 12 minutes x 2 devices in 5-minute buckets: 00:00, 00:05, 00:10 for each.
    rows = db.query(
        "SELECT device, bucket, v_count, v_sum, v_min, v_max, first_value, last_value"
        " FROM telemetry_agg ORDER BY device, bucket"
    )
    assert [tuple(r) for r in rows] == [
        ("b", int(T0.timestamp()), 5, 510.0, 100.0, 104.0, 100.0, 104.0),
        ("b", int(T0.timestamp()) + 300, 5, 535.0, 105.0, 109.0, 105.0, 109.0),
        ("b", int(T0.timestamp()) + 600, 2, 221.0, 110.0, 111.0, 110.0, 111.0),
        ("meter", int(T0.timestamp()), 5, 10.0, 0.0, 4.0, 0.0, 4.0),
        ("meter", int(T0.timestamp()) + 300, 5, 35.0, 5.0, 9.0, 5.0, 9.0),
        ("meter", int(T0.timestamp()) + 600, 2, 21.0, 10.0, 11.0, 10.0, 11.0),
    ]


def test_a_large_flush_is_split_into_short_transactions(db: Database, hh: str) -> None:
    store = SQLiteHistory(db, flush_interval_s=None, write_chunk=10)
    statements: list[str] = []
    store.write(hh, [power(i, f"d{i}") for i in range(25)], T0.timestamp())
    db._conn.set_trace_callback(statements.append)
    store.flush()
    db._conn.set_trace_callback(None)
    store.close()

    assert sum(s.startswith("BEGIN") for s in statements) == 3
    assert sum(s == "COMMIT" for s in statements) == 3
    assert count(db, "telemetry_raw") == 25
    assert store.stats()["flushes"] == 1


class FailsOnce(SQLiteHistory):
    """Fails the second chunk it is asked to store, once (a disk hiccup)."""

    calls = 0

    def _store(self, batch: list[tuple[str, str, str, str, float, float]]) -> None:
        self.calls += 1
        if self.calls == 2:
            raise sqlite3.OperationalError("disk I/O error")
        super()._store(batch)


def test_a_chunk_that_fails_mid_flush_is_retried_without_duplicates(db: Database, hh: str) -> None:
    store = FailsOnce(db, flush_interval_s=None, write_chunk=10)
    store.write(hh, [power(i, f"d{i}") for i in range(25)], T0.timestamp())

    store.flush()
    assert (store.stats()["written"], store.stats()["buffered"]) == (10, 15)
    store.flush()
    store.close()

    stats = store.stats()
    assert (stats["written"], stats["buffered"], stats["dropped"]) == (25, 0, 0)
    rows = db.query("SELECT device, COUNT(*) FROM telemetry_raw GROUP BY device")
    assert sorted((r[0], r[1]) for r in rows) == sorted((f"d{i}", 1) for i in range(25))


def test_aggregates_merge_across_flushes_and_out_of_order_readings(db: Database, hh: str) -> None:
    store = SQLiteHistory(db, flush_interval_s=None)
    store.write(hh, [power(5)], (T0 + timedelta(minutes=2)).timestamp())
    store.flush()
    store.write(hh, [power(9)], (T0 + timedelta(minutes=4)).timestamp())
    store.write(hh, [power(1)], (T0 + timedelta(minutes=1)).timestamp())
    store.flush()
    store.close()

    row = db.query_one(
        "SELECT v_count, v_sum, v_min, v_max, first_ts, first_value, last_ts, last_value"
        " FROM telemetry_agg"
    )
    assert row is not None
    base = T0.timestamp()
    assert tuple(row) == (3, 15.0, 1.0, 9.0, base + 60, 1.0, base + 240, 9.0)


def test_compact_keeps_aggregates_after_raw_readings_expire(db: Database, hh: str) -> None:
    clock = FakeClock(T0)
    store = SQLiteHistory(
        db, raw_days=1, agg_days=3, clock=clock, flush_interval_s=None, compact_chunk=5
    )
    for hour in range(0, 4 * 24, 6):  # one reading every 6 hours for 4 days
        store.write(hh, [power(hour)], (T0 + timedelta(hours=hour)).timestamp())
    store.flush()
    window = {"start": T0, "end": T0 + timedelta(days=4), "step_s": 86_400}
    before = store.query(hh, "meter", "power", **window)

    now = T0 + timedelta(days=4)
    removed = store.compact(now)

    # raw: older than 1 day is gone (readings at 72h, 78h, 84h, 90h stay);
    # aggregates: older than 3 days is gone (day 0 goes).
    assert removed == {"raw": 12, "agg": 4}
    assert count(db, "telemetry_raw") == 4
    raw = store.query(hh, "meter", "power", start=T0, end=now)
    assert [p.value for p in raw] == [72.0, 78.0, 84.0, 90.0]
    after = store.query(hh, "meter", "power", **window)
    assert [p.value for p in before] == [9.0, 33.0, 57.0, 81.0]
    assert [p.value for p in after] == [None, 33.0, 57.0, 81.0]
    assert store.compact(now) == {"raw": 0, "agg": 0}
    store.close()


def test_compact_in_chunks_copes_with_many_rows_at_one_time(db: Database, hh: str) -> None:
    store = SQLiteHistory(db, raw_days=1, flush_interval_s=None, compact_chunk=3)
    store.write(hh, [power(i, f"d{i}") for i in range(10)], T0.timestamp())
    store.write(hh, [power(i, f"d{i}") for i in range(4)], T0.timestamp() + 1)
    store.write(hh, [power(7)], (T0 + timedelta(days=1)).timestamp())
    store.flush()

    removed = store.compact(T0 + timedelta(days=1, seconds=2))
    store.close()

    assert removed == {"raw": 14, "agg": 0}
    assert count(db, "telemetry_raw") == 1


def test_fine_steps_read_raw_readings(db: Database, hh: str) -> None:
    store = SQLiteHistory(db, flush_interval_s=None)
    for second, value in [(0, 1.0), (30, 3.0), (61, 10.0)]:
        store.write(hh, [power(value)], T0.timestamp() + second)
    store.flush()
    store.close()

    points = store.query(hh, "meter", "power", start=T0, end=T0 + timedelta(minutes=2), step_s=60)

    assert [(p.value, p.count) for p in points] == [(2.0, 2), (10.0, 1)]


def test_a_failed_flush_keeps_the_batch_and_retries(tmp_path: Path, db: Database, hh: str) -> None:
    store = SQLiteHistory(db, flush_interval_s=None)
    other = sqlite3.connect(tmp_path / "hub.sqlite3")
    other.execute("ALTER TABLE telemetry_raw RENAME TO telemetry_raw_away")
    other.commit()
    store.write(hh, [power(1), power(2)], T0.timestamp())

    store.flush()

    stats = store.stats()
    assert (stats["written"], stats["buffered"], stats["dropped"]) == (0, 2, 0)
    assert "telemetry_raw" in stats["last_error"]
    other.execute("ALTER TABLE telemetry_raw_away RENAME TO telemetry_raw")
    other.commit()
    other.close()
    store.flush()
    assert (store.stats()["written"], store.stats()["buffered"]) == (2, 0)
    assert count(db, "telemetry_agg") == 1
    store.close()


def test_a_batch_that_keeps_failing_is_dropped_and_counted(
    tmp_path: Path, db: Database, hh: str
) -> None:
    store = SQLiteHistory(db, flush_interval_s=None)
    other = sqlite3.connect(tmp_path / "hub.sqlite3")
    other.execute("DROP TABLE telemetry_agg")
    other.commit()
    other.close()
    store.write(hh, [power(1), power(2), power(3)], T0.timestamp())

    for _ in range(5):
        store.flush()

    stats = store.stats()
    assert (stats["written"], stats["buffered"], stats["dropped"]) == (0, 0, 3)
    assert count(db, "telemetry_raw") == 0  # all or nothing: the raw insert rolled back
    store.close()


def test_background_thread_flushes_and_stops_on_close(
    db: Database, hh: str, wait_until: Callable[..., None]
) -> None:
    store = SQLiteHistory(db, flush_interval_s=60.0, flush_at=10)
    store.write(hh, [power(i) for i in range(10)], T0.timestamp())

    wait_until(lambda: store.stats()["written"] == 10, what="the flusher thread")
    names = [t.name for t in threading.enumerate()]
    assert "telemetry-sqlite-flush" in names
    store.write(hh, [power(99)], T0.timestamp() + 1)
    store.close()

    assert "telemetry-sqlite-flush" not in [t.name for t in threading.enumerate()]
    assert store.stats()["written"] == 11
    assert count(db, "telemetry_raw") == 11


def test_bad_settings_are_refused(db: Database) -> None:
    with pytest.raises(ConfigError, match="divide a day"):
        SQLiteHistory(db, bucket_s=7)
    with pytest.raises(ConfigError, match="at least one day"):
        SQLiteHistory(db, raw_days=0)
