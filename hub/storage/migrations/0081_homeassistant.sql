-- What the hub last published as Home Assistant discovery (hub.homeassistant): one row per
-- retained topic, with a digest of its payload, so that a sync sends only what changed and
-- clears (empty retained payload) the entities that went away.
CREATE TABLE ha_published (
    household   TEXT NOT NULL,
    topic       TEXT NOT NULL,
    digest      TEXT NOT NULL,
    updated_at  REAL NOT NULL,
    PRIMARY KEY (household, topic)
);
