-- Community notices (hub.notices.book). One row per notice id per community, in every
-- state it can be in: active, superseded (by an update), cancelled, expired, pending (an
-- update or cancel whose original has not arrived), applied (a cancel that was carried
-- out), stale (an update or cancel of notices no longer active).
CREATE TABLE notices (
    community   TEXT NOT NULL,
    id          TEXT NOT NULL,
    msg_type    TEXT NOT NULL,
    state       TEXT NOT NULL,
    thread      TEXT NOT NULL,
    sent_at     REAL,
    expires_at  REAL,
    received_at REAL NOT NULL,
    source      TEXT NOT NULL DEFAULT '',
    replaced_by TEXT,
    record      TEXT NOT NULL,
    PRIMARY KEY (community, id)
);
CREATE INDEX notices_state ON notices (state, expires_at);

-- The notices an update or cancel refers to (CAP <references>), to find pending ones.
CREATE TABLE notice_refs (
    community   TEXT NOT NULL,
    notice_id   TEXT NOT NULL,
    ref_id      TEXT NOT NULL,
    PRIMARY KEY (community, notice_id, ref_id)
);
CREATE INDEX notice_refs_ref ON notice_refs (community, ref_id);

-- The households an active notice was delivered to.
CREATE TABLE notice_households (
    community   TEXT NOT NULL,
    notice_id   TEXT NOT NULL,
    household   TEXT NOT NULL,
    PRIMARY KEY (community, notice_id, household)
);
CREATE INDEX notice_households_household ON notice_households (household);
