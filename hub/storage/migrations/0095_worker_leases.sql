-- Partitioned hub workers (hub.cluster, HUB_SHARES): the households are split into a fixed
-- number of shares (a stable hash of the household id); each share is held by one worker at
-- a time under a lease that its holder renews by heartbeat. Claims are conditional UPDATEs
-- (`... WHERE share = ? AND expires_at < ?`), so two workers never both win one share.
CREATE TABLE worker_leases (
    share         INTEGER PRIMARY KEY,
    worker        TEXT NOT NULL DEFAULT '',
    expires_at    REAL NOT NULL DEFAULT 0,
    heartbeat_at  REAL NOT NULL DEFAULT 0,
    acquired_at   REAL NOT NULL DEFAULT 0
);

-- The workers alive now (a row per `hub run`, renewed with its leases): how many there are
-- sets each one's fair number of shares, and `hub status` lists them with their API.
CREATE TABLE workers (
    id            TEXT PRIMARY KEY,
    api           TEXT NOT NULL DEFAULT '',
    started_at    REAL NOT NULL,
    heartbeat_at  REAL NOT NULL,
    expires_at    REAL NOT NULL
);
