-- Notifications that reach people where they are (hub.notify): email and Web Push.
-- One row of preferences per person (a household's login account); no row: nothing is sent.
CREATE TABLE notify_prefs (
    account        TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    household      TEXT NOT NULL,
    email          TEXT,
    channels       TEXT NOT NULL,             -- JSON list: "email", "push"
    kinds          TEXT NOT NULL,             -- JSON list: suggestion, notice, loan, timebank, project
    notice_min     TEXT NOT NULL DEFAULT 'Minor',
    quiet_start    TEXT,                      -- HH:MM in the community's time zone
    quiet_end      TEXT,
    digest         INTEGER NOT NULL DEFAULT 0,
    digest_at      TEXT NOT NULL DEFAULT '07:00',
    last_digest    TEXT,                      -- the local date of the last digest
    language       TEXT,
    unsubscribed_at REAL,                     -- the email's one-click unsubscribe
    updated_at     REAL NOT NULL
);
CREATE INDEX notify_prefs_household ON notify_prefs (household);

-- A browser's push subscription (RFC 8030), one per device of a person.
CREATE TABLE notify_push_subscriptions (
    id          TEXT PRIMARY KEY,
    account     TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    endpoint    TEXT NOT NULL UNIQUE,
    p256dh      TEXT NOT NULL,
    auth        TEXT NOT NULL,
    created_at  REAL NOT NULL
);
CREATE INDEX notify_push_account ON notify_push_subscriptions (account);

-- Deliveries, written in the transaction of the change they tell of: at most one per
-- person, event, channel and target (the id); retried with backoff, dead after N failures.
CREATE TABLE notify_deliveries (
    id          TEXT PRIMARY KEY,
    account     TEXT NOT NULL,
    household   TEXT NOT NULL,
    channel     TEXT NOT NULL,                -- email | push | digest
    target      TEXT NOT NULL,                -- the address, or the subscription id
    event       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    severity    TEXT NOT NULL DEFAULT '',
    data        TEXT NOT NULL,
    link        TEXT,
    state       TEXT NOT NULL,                -- pending | digest | sent | dead | dropped
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     REAL NOT NULL,
    stale_at    REAL,                         -- not worth sending after this (an expired suggestion)
    last_error  TEXT,
    created_at  REAL NOT NULL,
    sent_at     REAL
);
CREATE INDEX notify_deliveries_due ON notify_deliveries (state, next_at);
CREATE INDEX notify_deliveries_account ON notify_deliveries (account, state);
