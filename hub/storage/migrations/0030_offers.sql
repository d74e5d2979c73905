-- Offers, slots, bookings, gatherings, rides and ratings (hub.offers).
-- Times are ISO 8601 UTC text ("2026-11-28T18:00:00Z"), so that text order is time order.

-- What a rule raised for a household: open until accepted, declined, expired or withdrawn.
CREATE TABLE offer_suggestions (
    id          TEXT PRIMARY KEY,
    household   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    rule_id     TEXT NOT NULL DEFAULT '',
    pack        TEXT NOT NULL DEFAULT '',
    dedup_key   TEXT NOT NULL,
    title       TEXT NOT NULL DEFAULT '',
    message     TEXT NOT NULL DEFAULT '',
    data        TEXT NOT NULL DEFAULT '{}',
    notice_id   TEXT,
    state       TEXT NOT NULL,
    acted_ref   TEXT,
    expires_at  TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
-- One open suggestion per (household, key): the de-duplication the story asks for.
CREATE UNIQUE INDEX offer_suggestions_open ON offer_suggestions (household, dedup_key) WHERE state = 'proposed';
CREATE INDEX offer_suggestions_household ON offer_suggestions (household, created_at, id);
CREATE INDEX offer_suggestions_notice ON offer_suggestions (notice_id);

-- A request that providers can claim (grocery delivery, lending, a service), or an offer
-- raised straight from an action (the benchmark path).
CREATE TABLE offers (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    household   TEXT NOT NULL,
    suggestion  TEXT,
    provider    TEXT,
    state       TEXT NOT NULL,
    slot        TEXT,
    starts_at   TEXT,
    ends_at     TEXT,
    data        TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX offers_household ON offers (household, created_at, id);
CREATE INDEX offers_provider ON offers (provider, starts_at);

-- Which providers a request was sent to (their feed), with the fields they were allowed.
CREATE TABLE offer_recipients (
    offer       TEXT NOT NULL REFERENCES offers (id),
    provider    TEXT NOT NULL,
    fields      TEXT NOT NULL DEFAULT '[]',
    created_at  TEXT NOT NULL,
    PRIMARY KEY (offer, provider)
);
CREATE INDEX offer_recipients_provider ON offer_recipients (provider, created_at);

-- Every state change of every object, with who and when.
CREATE TABLE offer_transitions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    object_kind TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    actor       TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    at          TEXT NOT NULL
);
CREATE INDEX offer_transitions_object ON offer_transitions (object_kind, object_id, id);

-- A provider's time window with a capacity (deliveries, seats at a sitting).
CREATE TABLE offer_slots (
    id          TEXT PRIMARY KEY,
    provider    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    starts_at   TEXT NOT NULL,
    ends_at     TEXT NOT NULL,
    capacity    INTEGER NOT NULL CHECK (capacity >= 0),
    taken       INTEGER NOT NULL DEFAULT 0,
    CHECK (taken >= 0 AND taken <= capacity)
);
CREATE INDEX offer_slots_provider ON offer_slots (provider, starts_at);
CREATE INDEX offer_slots_time ON offer_slots (kind, starts_at);

-- One calendar per household across every kind; clash = overlaps another active booking.
CREATE TABLE offer_bookings (
    id          TEXT PRIMARY KEY,
    household   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    ref         TEXT NOT NULL,
    slot        TEXT,
    seats       INTEGER NOT NULL DEFAULT 1,
    title       TEXT NOT NULL DEFAULT '',
    starts_at   TEXT NOT NULL,
    ends_at     TEXT NOT NULL,
    state       TEXT NOT NULL,
    clash       INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX offer_bookings_household ON offer_bookings (household, state, starts_at);
CREATE INDEX offer_bookings_ref ON offer_bookings (ref);

CREATE TABLE gatherings (
    id          TEXT PRIMARY KEY,
    community   TEXT NOT NULL,
    host        TEXT NOT NULL,
    title       TEXT NOT NULL,
    place       TEXT NOT NULL,
    provider    TEXT,
    slot        TEXT,
    lat         REAL,
    lon         REAL,
    starts_at   TEXT NOT NULL,
    ends_at     TEXT NOT NULL,
    capacity    INTEGER NOT NULL CHECK (capacity > 0),
    state       TEXT NOT NULL,
    suggestion  TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX gatherings_community ON gatherings (community, starts_at);

-- invited, going, waitlisted, declined; position orders the waitlist.
CREATE TABLE gathering_members (
    gathering   TEXT NOT NULL REFERENCES gatherings (id),
    household   TEXT NOT NULL,
    status      TEXT NOT NULL,
    position    INTEGER NOT NULL DEFAULT 0,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (gathering, household)
);
CREATE INDEX gathering_members_household ON gathering_members (household);

CREATE TABLE rides (
    id              TEXT PRIMARY KEY,
    community       TEXT NOT NULL,
    driver          TEXT NOT NULL,
    origin_label    TEXT NOT NULL DEFAULT '',
    origin_lat      REAL NOT NULL,
    origin_lon      REAL NOT NULL,
    dest_label      TEXT NOT NULL DEFAULT '',
    dest_lat        REAL NOT NULL,
    dest_lon        REAL NOT NULL,
    depart_earliest TEXT NOT NULL,
    depart_latest   TEXT NOT NULL,
    seats           INTEGER NOT NULL CHECK (seats > 0),
    state           TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX rides_community ON rides (community, depart_earliest);

-- booked, waitlisted, cancelled; pickup per rider.
CREATE TABLE ride_riders (
    ride        TEXT NOT NULL REFERENCES rides (id),
    household   TEXT NOT NULL,
    status      TEXT NOT NULL,
    position    INTEGER NOT NULL DEFAULT 0,
    pickup_at   TEXT,
    pickup_label TEXT NOT NULL DEFAULT '',
    arrive_at   TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (ride, household)
);
CREATE INDEX ride_riders_household ON ride_riders (household);

-- Append-only, hash-chained: hash = sha256(prev_hash + canonical JSON of the row).
CREATE TABLE offer_ratings (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    household   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    offer       TEXT NOT NULL UNIQUE,
    stars       INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
    comment     TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE
);
CREATE TRIGGER offer_ratings_no_update BEFORE UPDATE ON offer_ratings BEGIN SELECT RAISE(ABORT, 'ratings are append-only'); END;
CREATE TRIGGER offer_ratings_no_delete BEFORE DELETE ON offer_ratings BEGIN SELECT RAISE(ABORT, 'ratings are append-only'); END;

-- POST idempotency: a replayed key returns the first answer.
CREATE TABLE offer_idempotency (
    principal   TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      INTEGER NOT NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (principal, key)
);

-- Feed messages per household and provider, so a revoked consent can purge unsent ones.
CREATE TABLE offer_feed_messages (
    message_id  TEXT PRIMARY KEY,
    offer       TEXT NOT NULL,
    provider    TEXT NOT NULL,
    household   TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX offer_feed_messages_pair ON offer_feed_messages (household, provider);

-- Transactions of other components that offers work joined (the rules engine calls the
-- sink inside its own): a marker row proves the commit before after-commit hooks run.
CREATE TABLE offer_tx_marks (
    token       TEXT PRIMARY KEY,
    created_at  REAL NOT NULL
);
