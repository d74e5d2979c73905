-- Sharing what households own (hub.sharing): things, loans, give-away claims, swaps,
-- wanted posts and the reminders sent about loans.
-- Times are ISO 8601 UTC text ("2026-11-29T10:00:00Z"), so that text order is time order.

-- A thing a household lists: lend, give or swap. terms and blocked_days are JSON.
-- pickup_place is the exact place; others see only the owner's street until a loan of
-- theirs is accepted.
CREATE TABLE sharing_things (
    id           TEXT PRIMARY KEY,
    community    TEXT NOT NULL,
    owner        TEXT NOT NULL,
    title        TEXT NOT NULL,
    category     TEXT NOT NULL DEFAULT 'other',
    description  TEXT NOT NULL DEFAULT '',
    condition    TEXT NOT NULL DEFAULT 'good',
    mode         TEXT NOT NULL,
    terms        TEXT NOT NULL DEFAULT '{}',
    blocked_days TEXT NOT NULL DEFAULT '[]',
    pickup_place TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL,
    give_policy  TEXT NOT NULL DEFAULT 'first_come',
    claim_until  TEXT,
    pickup_hours INTEGER NOT NULL DEFAULT 48,
    pickup_until TEXT,
    device       TEXT,
    suggestion   TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX sharing_things_community ON sharing_things (community, state, created_at);
CREATE INDEX sharing_things_owner ON sharing_things (owner, created_at);

-- Photos of a thing, stored as files with random names outside the web root.
CREATE TABLE sharing_photos (
    id           TEXT PRIMARY KEY,
    thing        TEXT NOT NULL REFERENCES sharing_things (id),
    file         TEXT NOT NULL,
    media_type   TEXT NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    bytes        INTEGER NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX sharing_photos_thing ON sharing_photos (thing, created_at);

-- A loan of a thing: requested -> accepted | declined | cancelled -> out -> returned.
-- Each side confirms the handover and the return; problem is the latest report.
CREATE TABLE sharing_loans (
    id               TEXT PRIMARY KEY,
    thing            TEXT NOT NULL REFERENCES sharing_things (id),
    owner            TEXT NOT NULL,
    borrower         TEXT NOT NULL,
    starts_at        TEXT NOT NULL,
    ends_at          TEXT NOT NULL,
    status           TEXT NOT NULL,
    message          TEXT NOT NULL DEFAULT '',
    handover_owner   TEXT,
    handover_borrower TEXT,
    return_owner     TEXT,
    return_borrower  TEXT,
    condition_note   TEXT NOT NULL DEFAULT '',
    problem          TEXT NOT NULL DEFAULT '',
    wanted           TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX sharing_loans_thing ON sharing_loans (thing, status, starts_at);
CREATE INDEX sharing_loans_borrower ON sharing_loans (borrower, created_at);
CREATE INDEX sharing_loans_owner ON sharing_loans (owner, created_at);

-- Claims on a give-away, in order; one is the winner at a time, with a pickup deadline.
CREATE TABLE sharing_claims (
    thing        TEXT NOT NULL REFERENCES sharing_things (id),
    household    TEXT NOT NULL,
    position     INTEGER NOT NULL,
    status       TEXT NOT NULL,
    pickup_by    TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (thing, household)
);

-- A thing-for-thing proposal: proposed -> accepted | declined | withdrawn.
CREATE TABLE sharing_swaps (
    id           TEXT PRIMARY KEY,
    thing        TEXT NOT NULL REFERENCES sharing_things (id),
    offered      TEXT NOT NULL REFERENCES sharing_things (id),
    proposer     TEXT NOT NULL,
    owner        TEXT NOT NULL,
    status       TEXT NOT NULL,
    message      TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX sharing_swaps_owner ON sharing_swaps (owner, status);

-- "Wanted: a ladder, Saturday morning": open until expires_at, matched to things.
CREATE TABLE sharing_wanted (
    id           TEXT PRIMARY KEY,
    community    TEXT NOT NULL,
    household    TEXT NOT NULL,
    text         TEXT NOT NULL,
    category     TEXT,
    starts_at    TEXT,
    ends_at      TEXT,
    expires_at   TEXT NOT NULL,
    state        TEXT NOT NULL,
    matches      TEXT NOT NULL DEFAULT '[]',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX sharing_wanted_community ON sharing_wanted (community, state, expires_at);

-- Reminders and overdue notices already sent (what makes the scheduler's jobs idempotent
-- across restarts: a job that was due while the hub was down fires once on start).
CREATE TABLE sharing_reminders (
    loan         TEXT NOT NULL REFERENCES sharing_loans (id),
    kind         TEXT NOT NULL,
    due_at       TEXT NOT NULL,
    sent_at      TEXT,
    PRIMARY KEY (loan, kind)
);
CREATE INDEX sharing_reminders_due ON sharing_reminders (sent_at, due_at);

-- When each appliance on a plug last drew power, and when the hub last said it is idle.
CREATE TABLE sharing_device_use (
    household    TEXT NOT NULL,
    device       TEXT NOT NULL,
    last_active  REAL,
    told_at      REAL,
    PRIMARY KEY (household, device)
);

-- A shared appliance's use during a loan (slot), as its plug's power reported it.
CREATE TABLE sharing_slot_use (
    loan         TEXT PRIMARY KEY REFERENCES sharing_loans (id),
    started_at   TEXT NOT NULL,
    ended_at     TEXT
);
