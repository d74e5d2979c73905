-- Each community's IANA time zone (zoneinfo name): every time the dashboards show or read
-- is in it; the API stays in UTC.
ALTER TABLE communities ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';
