-- The outbox gets a portable sequence column (it was ordered by SQLite's rowid, which
-- PostgreSQL lacks): the relay publishes in seq order and resumes after the last seq sent.
CREATE TABLE outbox_v2 (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    topic       TEXT NOT NULL,
    payload     BLOB NOT NULL,
    qos         INTEGER NOT NULL DEFAULT 1,
    retain      INTEGER NOT NULL DEFAULT 0,
    created_at  REAL NOT NULL,
    sent_at     REAL
);
INSERT INTO outbox_v2 (id, topic, payload, qos, retain, created_at, sent_at)
    SELECT id, topic, payload, qos, retain, created_at, sent_at FROM outbox ORDER BY created_at, id;
DROP TABLE outbox;
ALTER TABLE outbox_v2 RENAME TO outbox;
CREATE INDEX outbox_unsent ON outbox (sent_at, seq);
