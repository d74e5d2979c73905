"""The embedded history store: SQLite, raw readings plus fixed-width aggregates.

A flush stores its readings in transactions of up to ``write_chunk`` readings, each one
``executemany`` into the raw table and one upsert of the chunk's pre-aggregated buckets
(count, sum, min, max, first and last reading) into the aggregate table, so aggregates
are always current and downsampling needs no second pass over the raw data.
``compact(now)`` applies retention: raw readings older than ``raw_days`` and aggregates
older than ``agg_days`` are deleted, in short transactions.

Queries with a ``step_s`` that is a multiple of ``bucket_s`` read the aggregates (cheap,
and available for ``agg_days``); finer steps and raw queries read the raw table, which
only reaches back ``raw_days``.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

from hub.clock import Clock, SystemClock
from hub.errors import ConfigError
from hub.storage.database import Database
from hub.telemetry import series
from hub.telemetry.buffered import BufferedStore
from hub.telemetry.points import Point, SeriesInfo

logger = logging.getLogger(__name__)

_INSERT_RAW = (
    "INSERT INTO telemetry_raw (household, device, metric, channel, ts, value)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)

# CASE rather than SQLite's two-argument min()/max() keeps this portable to PostgreSQL.
# All right-hand sides see the row as it was before the update (SQL-92 semantics).
_UPSERT_AGG = """
INSERT INTO telemetry_agg (household, device, metric, channel, width, bucket,
    v_count, v_sum, v_min, v_max, first_ts, first_value, last_ts, last_value)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (household, device, metric, channel, width, bucket) DO UPDATE SET
    v_count = telemetry_agg.v_count + excluded.v_count,
    v_sum = telemetry_agg.v_sum + excluded.v_sum,
    v_min = CASE WHEN excluded.v_min < telemetry_agg.v_min
                 THEN excluded.v_min ELSE telemetry_agg.v_min END,
    v_max = CASE WHEN excluded.v_max > telemetry_agg.v_max
                 THEN excluded.v_max ELSE telemetry_agg.v_max END,
    first_ts = CASE WHEN excluded.first_ts < telemetry_agg.first_ts
                    THEN excluded.first_ts ELSE telemetry_agg.first_ts END,
    first_value = CASE WHEN excluded.first_ts < telemetry_agg.first_ts
                       THEN excluded.first_value ELSE telemetry_agg.first_value END,
    last_ts = CASE WHEN excluded.last_ts >= telemetry_agg.last_ts
                   THEN excluded.last_ts ELSE telemetry_agg.last_ts END,
    last_value = CASE WHEN excluded.last_ts >= telemetry_agg.last_ts
                      THEN excluded.last_value ELSE telemetry_agg.last_value END
"""

_SERIES = "household = ? AND device = ? AND metric = ? AND channel = ?"

AggKey = tuple[str, str, str, str, int]


class SQLiteHistory(BufferedStore):
    """History in the hub's SQLite database (tables of migration ``0050_telemetry.sql``).

    Args:
        db: the hub's database.
        raw_days: raw readings are kept this many days.
        agg_days: aggregates are kept this many days.
        bucket_s: aggregate width in seconds; must divide a day.
        clock: time source for the chart helpers and the background ``compact()``.
        max_buffer: samples held before new ones are dropped (and counted).
        flush_interval_s: background flush period; None: the owner calls ``flush()``.
        flush_at: buffered samples that trigger an early flush.
        compact_every_s: background ``compact()`` period; None: the owner runs it.
        compact_chunk: rows deleted per retention transaction.
        write_chunk: readings stored per transaction; a flush of more takes several,
            so the hub's own writes never wait long behind one.
    """

    name = "sqlite"

    def __init__(
        self,
        db: Database,
        *,
        raw_days: int = 7,
        agg_days: int = 365,
        bucket_s: int = 300,
        clock: Clock | None = None,
        max_buffer: int = 100_000,
        flush_interval_s: float | None = 1.0,
        flush_at: int = 10_000,
        compact_every_s: float | None = 3600.0,
        compact_chunk: int = 10_000,
        write_chunk: int = 2000,
    ) -> None:
        if raw_days < 1 or agg_days < 1:
            raise ConfigError("telemetry retention must be at least one day")
        if bucket_s < 1 or 86_400 % bucket_s:
            raise ConfigError(f"telemetry bucket_s must divide a day (86400 s), not {bucket_s}")
        super().__init__(
            max_buffer=max_buffer,
            flush_interval_s=flush_interval_s,
            flush_at=flush_at,
            compact_every_s=compact_every_s,
            write_chunk=write_chunk,
        )
        self.db = db
        self.raw_days = raw_days
        self.agg_days = agg_days
        self.bucket_s = bucket_s
        self.compact_chunk = max(1, compact_chunk)
        self.clock = clock or SystemClock()

    # -- writing ----------------------------------------------------------------------

    def _aggregate(self, batch: list[series.Sample]) -> list[tuple[object, ...]]:
        width = self.bucket_s
        # key -> [count, sum, min, max, first_ts, first_value, last_ts, last_value]
        acc: dict[AggKey, list[float]] = {}
        for household, device, metric, channel, ts, value in batch:
            key = (household, device, metric, channel, math.floor(ts / width) * width)
            row = acc.get(key)
            if row is None:
                acc[key] = [1, value, value, value, ts, value, ts, value]
                continue
            row[0] += 1
            row[1] += value
            if value < row[2]:
                row[2] = value
            if value > row[3]:
                row[3] = value
            if ts < row[4]:
                row[4], row[5] = ts, value
            if ts >= row[6]:
                row[6], row[7] = ts, value
        return [
            (h, d, m, c, width, bucket, int(r[0]), *r[1:])
            for (h, d, m, c, bucket), r in acc.items()
        ]

    def _store(self, batch: list[series.Sample]) -> None:
        aggregates = self._aggregate(batch)
        with self.db.transaction() as conn:
            conn.executemany(_INSERT_RAW, batch)
            conn.executemany(_UPSERT_AGG, aggregates)

    # -- reading ----------------------------------------------------------------------

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
        key = (household, device, metric, channel or "")
        lo, hi = series.epoch(start), series.epoch(end)
        if step_s is None:
            rows = self.db.query(
                f"SELECT ts, value FROM telemetry_raw WHERE {_SERIES} AND ts >= ? AND ts < ?"
                " ORDER BY ts",
                (*key, lo, hi),
            )
            return [series.raw_point(r[0], r[1]) for r in rows]
        first, last = series.grid(lo, hi, step_s)
        buckets: dict[int, series.Bucket] = {}
        if step_s % self.bucket_s == 0:
            rows = self.db.query(
                "SELECT bucket / ? AS i, SUM(v_sum), SUM(v_count), MIN(v_min), MAX(v_max)"
                f" FROM telemetry_agg WHERE {_SERIES} AND width = ? AND bucket >= ?"
                " AND bucket < ? GROUP BY i",
                (step_s, *key, self.bucket_s, first * step_s, last * step_s),
            )
        else:
            rows = self.db.query(
                "SELECT CAST(ts / ? AS INTEGER) AS i, SUM(value), COUNT(*), MIN(value),"
                f" MAX(value) FROM telemetry_raw WHERE {_SERIES} AND ts >= ? AND ts < ?"
                " GROUP BY i",
                (step_s, *key, first * step_s, last * step_s),
            )
        for index, total, count, low, high in rows:
            buckets[int(index)] = series.Bucket(total, count, low, high)
        return series.fill(buckets, first, last, step_s)

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
        key = (household, device, metric, channel or "")
        lo, hi = series.epoch(start), series.epoch(end)
        # Buckets are aligned to the grid, so a bucket holding readings before `lo` starts
        # before it; its last reading may still be inside, hence the filter on times.
        before = self.db.query(
            f"SELECT last_ts, last_value FROM telemetry_agg WHERE {_SERIES} AND width = ?"
            " AND bucket < ? AND last_ts < ? ORDER BY bucket DESC LIMIT 1",
            (*key, self.bucket_s, lo, lo),
        )
        # bucket <= first_ts <= last_ts < bucket + width: the bounds on bucket let the
        # primary key find the range; the bounds on the times pick the rows.
        rows = self.db.query(
            "SELECT first_ts, first_value, last_ts, last_value FROM telemetry_agg"
            f" WHERE {_SERIES} AND width = ? AND bucket > ? AND bucket < ?"
            " AND last_ts >= ? AND first_ts < ? ORDER BY bucket",
            (*key, self.bucket_s, lo - self.bucket_s, hi, lo, hi),
        )
        samples: list[tuple[float, float]] = [(r[0], r[1]) for r in before]
        for first_ts, first_value, last_ts, last_value in rows:
            if first_ts >= lo:
                samples.append((first_ts, first_value))
            if last_ts > first_ts and last_ts < hi:
                samples.append((last_ts, last_value))
        return samples

    def series(self, household: str, device: str | None = None) -> list[SeriesInfo]:
        rows = self.db.query(
            "SELECT DISTINCT device, metric, channel FROM telemetry_agg WHERE household = ?"
            " AND (? IS NULL OR device = ?) ORDER BY device, metric, channel",
            (household, device, device),
        )
        return [SeriesInfo(device=r[0], metric=r[1], channel=r[2] or None) for r in rows]

    # -- maintenance ------------------------------------------------------------------

    def compact(self, now: datetime | None = None) -> dict[str, int]:
        """Delete raw readings older than ``raw_days`` and aggregates older than ``agg_days``.

        Returns:
            ``{"raw": rows deleted, "agg": rows deleted}``.
        """
        when = now or self.clock.now()
        raw_cutoff = series.epoch(when - timedelta(days=self.raw_days))
        agg_cutoff = series.epoch(when - timedelta(days=self.agg_days))
        raw = self._delete_older("telemetry_raw", "ts", raw_cutoff)
        agg = self._delete_older(
            "telemetry_agg", "bucket", math.floor(agg_cutoff - self.bucket_s) + 1
        )
        if raw or agg:
            logger.info("telemetry compact: removed %s raw rows and %s aggregates", raw, agg)
        return {"raw": raw, "agg": agg}

    def _delete_older(self, table: str, column: str, cutoff: float) -> int:
        """Delete rows with ``column < cutoff`` in chunks of about ``compact_chunk`` rows.

        Each chunk is its own short transaction, so the ingest pipeline's own writes
        (offers, state) never wait long behind a retention run. Chunk bounds come from
        the index on ``column`` (portable SQL: no rowid tricks).
        """
        removed = 0
        while True:
            row = self.db.query_one(
                f"SELECT {column} FROM {table} WHERE {column} < ? ORDER BY {column}"
                " LIMIT 1 OFFSET ?",
                (cutoff, self.compact_chunk),
            )
            bound = cutoff if row is None else row[0]
            with self.db.transaction() as conn:
                deleted = conn.execute(f"DELETE FROM {table} WHERE {column} < ?", (bound,)).rowcount
            removed += deleted
            if row is None:
                return removed
            if deleted == 0:  # more than a chunk share one value: finish in one go
                with self.db.transaction() as conn:
                    removed += conn.execute(
                        f"DELETE FROM {table} WHERE {column} < ?", (cutoff,)
                    ).rowcount
                return removed
