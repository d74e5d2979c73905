-- The hub's signing keys for trust exports (hub.trust): Ed25519, kept with their ids so
-- that exports signed before a rotation stay verifiable. Only the newest is used to sign.
CREATE TABLE trust_keys (
    kid          TEXT PRIMARY KEY,
    seq          INTEGER NOT NULL UNIQUE,
    public_key   TEXT NOT NULL,
    private_key  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    retired_at   TEXT
);
