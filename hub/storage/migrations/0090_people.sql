-- People (hub.i18n): every time a person sees is shown in their community's IANA time zone.
-- (The "homes" work brings the same zone to the household page; one column, shared.)
ALTER TABLE communities ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
