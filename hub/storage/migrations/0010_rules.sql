-- Rules engine: durable state that must survive a restart (even kill -9).
-- "rule" is the qualified rule id "<pack>/<id>"; rule_hash tells an unchanged rule from an
-- edited one at reload, so that pending timers of unchanged rules are kept.

-- Active (latched) metric triggers, with their pending for: timer (due_at) or fired flag.
CREATE TABLE rules_state (
    rule        TEXT NOT NULL,
    trig        INTEGER NOT NULL,
    household   TEXT NOT NULL,
    device      TEXT NOT NULL,
    rule_hash   TEXT NOT NULL,
    since       REAL NOT NULL,
    due_at      REAL,
    fired       INTEGER NOT NULL DEFAULT 0,
    reading     TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (rule, trig, household, device)
);
CREATE INDEX rules_state_due ON rules_state (due_at);

-- Next fire time of each schedule trigger.
CREATE TABLE rules_schedules (
    rule        TEXT NOT NULL,
    trig        INTEGER NOT NULL,
    rule_hash   TEXT NOT NULL,
    next_at     REAL NOT NULL,
    PRIMARY KEY (rule, trig)
);

-- Per rule and household: no new firing before "until".
CREATE TABLE rules_cooldowns (
    rule        TEXT NOT NULL,
    household   TEXT NOT NULL,
    until       REAL NOT NULL,
    PRIMARY KEY (rule, household)
);

-- Open suggestions, requests and offers raised by a rule (de-duplication), until released.
CREATE TABLE rules_open (
    rule        TEXT NOT NULL,
    household   TEXT NOT NULL,
    action_key  TEXT NOT NULL,
    action_id   TEXT NOT NULL,
    created_at  REAL NOT NULL,
    PRIMARY KEY (rule, household, action_key)
);
CREATE INDEX rules_open_key ON rules_open (household, action_key);

-- Why rules fired or did not (bounded; the newest are kept).
CREATE TABLE rules_traces (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    rule        TEXT NOT NULL,
    household   TEXT,
    at          REAL NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX rules_traces_rule ON rules_traces (rule, id);

-- Actions raised, as recorded by DatabaseSink (the simple sink behind the action port).
CREATE TABLE rules_action_log (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    household   TEXT NOT NULL,
    rule_id     TEXT NOT NULL,
    pack        TEXT NOT NULL,
    action_key  TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  REAL NOT NULL
);
CREATE INDEX rules_action_log_household ON rules_action_log (household, created_at);
