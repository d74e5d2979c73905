-- Identity: accounts (people, providers, bridges, devices), their API tokens, consents
-- and the consent audit trail. Secrets are stored hashed only: passwords with argon2id,
-- tokens with HMAC-SHA256 under the hub's secret (they carry 256 random bits).

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'household', 'provider', 'device', 'bridge')),
    household     TEXT REFERENCES households (id),
    provider      TEXT REFERENCES providers (id),
    community     TEXT,
    password_hash TEXT,
    mqtt_username TEXT UNIQUE,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    REAL NOT NULL,
    disabled_at   REAL
);
CREATE INDEX accounts_household ON accounts (household);
CREATE INDEX accounts_provider ON accounts (provider);

CREATE TABLE api_tokens (
    token_hash    TEXT PRIMARY KEY,
    account       TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('session', 'api')),
    label         TEXT NOT NULL DEFAULT '',
    created_at    REAL NOT NULL,
    expires_at    REAL,
    revoked_at    REAL
);
CREATE INDEX api_tokens_account ON api_tokens (account);

CREATE TABLE consent_grants (
    id               TEXT PRIMARY KEY,
    household        TEXT NOT NULL REFERENCES households (id),
    grantee_provider TEXT REFERENCES providers (id),
    grantee_kind     TEXT,
    purpose          TEXT NOT NULL,
    signals          TEXT NOT NULL,
    created_at       REAL NOT NULL,
    until            REAL,
    revoked_at       REAL,
    CHECK ((grantee_provider IS NULL) <> (grantee_kind IS NULL))
);
CREATE INDEX consent_grants_household ON consent_grants (household);

CREATE TABLE consent_audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    household   TEXT NOT NULL,
    event       TEXT NOT NULL CHECK (event IN ('grant', 'use', 'revoke')),
    grant_id    TEXT,
    provider    TEXT,
    purpose     TEXT,
    signals     TEXT NOT NULL DEFAULT '[]',
    detail      TEXT NOT NULL DEFAULT '{}',
    at          REAL NOT NULL
);
CREATE INDEX consent_audit_household ON consent_audit (household, id);
