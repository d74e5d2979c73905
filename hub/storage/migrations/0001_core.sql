-- Core tables: the outbox, the dead-letter store, the device registry and the twin.

CREATE TABLE outbox (
    id          TEXT PRIMARY KEY,
    topic       TEXT NOT NULL,
    payload     BLOB NOT NULL,
    qos         INTEGER NOT NULL DEFAULT 1,
    retain      INTEGER NOT NULL DEFAULT 0,
    created_at  REAL NOT NULL,
    sent_at     REAL
);
CREATE INDEX outbox_unsent ON outbox (sent_at);

CREATE TABLE inbox_seen (
    message_id  TEXT PRIMARY KEY,
    seen_at     REAL NOT NULL
);

CREATE TABLE dead_letters (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at REAL NOT NULL,
    household   TEXT,
    topic       TEXT NOT NULL,
    reason      TEXT NOT NULL,
    payload     BLOB
);

CREATE TABLE devices (
    household   TEXT NOT NULL,
    device      TEXT NOT NULL,
    kind        TEXT,
    model       TEXT,
    manufacturer TEXT,
    name        TEXT,
    metrics     TEXT NOT NULL DEFAULT '[]',
    first_seen  REAL NOT NULL,
    last_seen   REAL NOT NULL,
    online      INTEGER,
    PRIMARY KEY (household, device)
);

CREATE TABLE device_state (
    household   TEXT NOT NULL,
    device      TEXT NOT NULL,
    metric      TEXT NOT NULL,
    channel     TEXT NOT NULL DEFAULT '',
    value       TEXT NOT NULL,
    unit        TEXT,
    ts          TEXT,
    updated_at  REAL NOT NULL,
    PRIMARY KEY (household, device, metric, channel)
);

-- Who is who: communities, their households (with a location for notice targeting) and
-- the providers that serve them. Accounts and credentials live in the identity tables.
CREATE TABLE communities (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  REAL NOT NULL
);

CREATE TABLE households (
    id          TEXT PRIMARY KEY,
    community   TEXT NOT NULL REFERENCES communities (id),
    name        TEXT NOT NULL,
    street      TEXT NOT NULL DEFAULT '',
    lat         REAL,
    lon         REAL,
    area_codes  TEXT NOT NULL DEFAULT '{}',
    language    TEXT NOT NULL DEFAULT 'en',
    attributes  TEXT NOT NULL DEFAULT '{}',
    created_at  REAL NOT NULL
);

CREATE TABLE providers (
    id          TEXT PRIMARY KEY,
    community   TEXT REFERENCES communities (id),
    name        TEXT NOT NULL,
    kinds       TEXT NOT NULL DEFAULT '[]',
    lat         REAL,
    lon         REAL,
    radius_km   REAL,
    attributes  TEXT NOT NULL DEFAULT '{}',
    created_at  REAL NOT NULL
);
