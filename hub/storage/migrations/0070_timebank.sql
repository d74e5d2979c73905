-- The time bank (hub.ledger): skills offered and requested, transfers of hours between
-- households, and the append-only, hash-chained ledger of entries they make.
-- Amounts are integer hundredths of an hour ("cents"): 1.5 h is 150, exact in any store.
-- Times are ISO 8601 UTC text.

-- What the community admin sets: the lowest balance a household may reach (negative) and
-- the hours a new household's account starts with (paid from the community's fund).
CREATE TABLE timebank_settings (
    community       TEXT PRIMARY KEY,
    credit_limit    INTEGER NOT NULL DEFAULT -1000 CHECK (credit_limit <= 0),
    welcome_grant   INTEGER NOT NULL DEFAULT 0 CHECK (welcome_grant >= 0),
    updated_at      TEXT NOT NULL
);

-- One row per account: a household, or a community's fund ("fund:<community>").
-- The balance is a cache of the entries (hub ledger verify recomputes it); a debit is one
-- conditional UPDATE, so two concurrent debits can never both pass the credit limit.
CREATE TABLE timebank_accounts (
    account     TEXT PRIMARY KEY,
    community   TEXT NOT NULL,
    balance     INTEGER NOT NULL DEFAULT 0,
    opened_at   TEXT NOT NULL
);

-- A transfer as the payer (the one who received help) recorded it; the helper confirms.
CREATE TABLE timebank_transfers (
    id          TEXT PRIMARY KEY,
    community   TEXT NOT NULL,
    payer       TEXT NOT NULL,
    helper      TEXT NOT NULL,
    cents       INTEGER NOT NULL CHECK (cents > 0),
    note        TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'declined', 'cancelled', 'reversed')),
    entry       TEXT,
    reversal    TEXT,
    created_at  TEXT NOT NULL,
    decided_at  TEXT
);
CREATE INDEX timebank_transfers_payer ON timebank_transfers (payer, created_at);
CREATE INDEX timebank_transfers_helper ON timebank_transfers (helper, created_at);

-- The ledger: each entry debits one account and credits another by the same amount, so
-- the sum over every account is always zero. hash = sha256(prev_hash + canonical JSON),
-- the ratings' scheme; the first entry's prev_hash is 64 zeros.
CREATE TABLE timebank_entries (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    community   TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('transfer', 'grant', 'reversal')),
    debit       TEXT NOT NULL,
    credit      TEXT NOT NULL,
    cents       INTEGER NOT NULL CHECK (cents > 0),
    transfer    TEXT NOT NULL DEFAULT '',
    note        TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    prev_hash   TEXT NOT NULL UNIQUE,
    hash        TEXT NOT NULL UNIQUE,
    CHECK (debit <> credit)
);
-- One row every append updates first: on a store with concurrent writers (PostgreSQL) the
-- row lock makes appends take turns, so two can never link to the same head (and the
-- UNIQUE prev_hash refuses a fork should anything else try).
CREATE TABLE timebank_chain (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    entries     INTEGER NOT NULL DEFAULT 0
);
INSERT INTO timebank_chain (id, entries) VALUES (1, 0);
CREATE INDEX timebank_entries_debit ON timebank_entries (debit, seq);
CREATE INDEX timebank_entries_credit ON timebank_entries (credit, seq);
CREATE TRIGGER timebank_entries_no_update BEFORE UPDATE ON timebank_entries BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER timebank_entries_no_delete BEFORE DELETE ON timebank_entries BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;

-- Skills households offer or ask for (tutoring, repairs, visits, dog walking).
CREATE TABLE timebank_skills (
    id          TEXT PRIMARY KEY,
    community   TEXT NOT NULL,
    household   TEXT NOT NULL,
    side        TEXT NOT NULL CHECK (side IN ('offer', 'request')),
    category    TEXT NOT NULL,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
    created_at  TEXT NOT NULL
);
CREATE INDEX timebank_skills_community ON timebank_skills (community, side, category);

-- Breaks the scheduled verification found (one row per broken entry), for the admin.
CREATE TABLE timebank_alerts (
    id          TEXT PRIMARY KEY,
    chain       TEXT NOT NULL,
    broken_at   TEXT NOT NULL,
    reason      TEXT NOT NULL,
    raised_at   TEXT NOT NULL,
    UNIQUE (chain, broken_at)
);
