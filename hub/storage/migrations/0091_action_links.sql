-- One-tap action links (hub.notify.links): signed, single use, expiring, one action each.
-- The secret that signs them is made on first use and kept here (never in settings).
CREATE TABLE notify_secrets (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    created_at  REAL NOT NULL
);

CREATE TABLE action_links (
    id          TEXT PRIMARY KEY,
    household   TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    expires_at  REAL NOT NULL,
    used_at     REAL,
    created_at  REAL NOT NULL
);
