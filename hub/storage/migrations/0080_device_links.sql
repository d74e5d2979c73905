-- Device links (hub.identity.links): MQTT logins a household makes itself for one device,
-- bridge or home broker, from the "Add a device or a home broker" wizard. The secret lives
-- in the broker only (dynamic security, hashed); here the login's name, what it is for and
-- when it was rotated or revoked. link_audit keeps every step for the community admin.
CREATE TABLE device_links (
    id              TEXT PRIMARY KEY,
    household       TEXT NOT NULL,
    kind            TEXT NOT NULL,
    label           TEXT NOT NULL,
    mqtt_username   TEXT NOT NULL UNIQUE,
    created_at      REAL NOT NULL,
    rotated_at      REAL,
    revoked_at      REAL,
    first_message_at REAL
);
CREATE INDEX device_links_household ON device_links (household);

CREATE TABLE link_audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          REAL NOT NULL,
    household   TEXT NOT NULL,
    link        TEXT,
    action      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX link_audit_household ON link_audit (household, at);
