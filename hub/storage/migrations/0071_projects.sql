-- Pooled projects (hub.projects): a bulk order or shared purchase with a threshold, a
-- deadline and a declared split. Money amounts are integer cents; times ISO 8601 UTC text.
CREATE TABLE projects (
    id            TEXT PRIMARY KEY,
    community     TEXT NOT NULL,
    proposer_kind TEXT NOT NULL CHECK (proposer_kind IN ('household', 'community', 'provider')),
    proposer      TEXT NOT NULL,
    title         TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    options       TEXT NOT NULL DEFAULT '[]',
    goal_pledges  INTEGER NOT NULL CHECK (goal_pledges >= 1),
    goal_amount   INTEGER NOT NULL DEFAULT 0 CHECK (goal_amount >= 0),
    provider      TEXT,
    split         TEXT NOT NULL DEFAULT '{}',
    deadline      TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'met', 'missed')),
    outcome       TEXT NOT NULL DEFAULT '{}',
    created_at    TEXT NOT NULL,
    closed_at     TEXT
);
CREATE INDEX projects_due ON projects (state, deadline);
CREATE INDEX projects_community ON projects (community, created_at);

-- A household's commitment: held until the deadline, then committed (met) or released.
CREATE TABLE project_pledges (
    project     TEXT NOT NULL REFERENCES projects (id),
    household   TEXT NOT NULL,
    amount      INTEGER NOT NULL CHECK (amount > 0),
    option      TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL DEFAULT 'held' CHECK (state IN ('held', 'committed', 'released')),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (project, household)
);

-- Providers' offers to serve a project; the cheapest bid wins at the deadline.
CREATE TABLE project_bids (
    id          TEXT PRIMARY KEY,
    project     TEXT NOT NULL REFERENCES projects (id),
    provider    TEXT NOT NULL,
    price       INTEGER NOT NULL CHECK (price > 0),
    note        TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    UNIQUE (project, provider)
);
