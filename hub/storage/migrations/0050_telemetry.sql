-- Telemetry history: raw readings (kept raw_days) and fixed-width aggregates (kept agg_days).
-- Times are epoch seconds. channel is '' for readings without one, so it can be in keys.

CREATE TABLE telemetry_raw (
    household   TEXT NOT NULL,
    device      TEXT NOT NULL,
    metric      TEXT NOT NULL,
    channel     TEXT NOT NULL DEFAULT '',
    ts          REAL NOT NULL,
    value       REAL NOT NULL
);
CREATE INDEX telemetry_raw_series ON telemetry_raw (household, device, metric, channel, ts);
-- Retention deletes by age across every series.
CREATE INDEX telemetry_raw_ts ON telemetry_raw (ts);

-- One row per series and bucket: count, sum, min and max for charts, and the first and
-- last reading (with their times) so cumulative counters can be differenced per day.
CREATE TABLE telemetry_agg (
    household   TEXT NOT NULL,
    device      TEXT NOT NULL,
    metric      TEXT NOT NULL,
    channel     TEXT NOT NULL DEFAULT '',
    width       INTEGER NOT NULL,
    bucket      INTEGER NOT NULL,
    v_count     INTEGER NOT NULL,
    v_sum       REAL NOT NULL,
    v_min       REAL NOT NULL,
    v_max       REAL NOT NULL,
    first_ts    REAL NOT NULL,
    first_value REAL NOT NULL,
    last_ts     REAL NOT NULL,
    last_value  REAL NOT NULL,
    PRIMARY KEY (household, device, metric, channel, width, bucket)
);
CREATE INDEX telemetry_agg_bucket ON telemetry_agg (bucket);
