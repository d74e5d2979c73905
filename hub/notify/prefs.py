"""What each person wants to hear, how, and when: channels, kinds, quiet hours, digest.

A person is a household's login account. Without a row of preferences nothing is sent
(the dashboard and the household's MQTT tree still tell everything, as before). Quiet hours
are read in the community's IANA time zone; only an extreme or severe notice breaks through
them, everything else waits for their end (or for the daily digest, for those who chose it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from email.utils import parseaddr
from typing import Any

import orjson

from hub.i18n.locale import LANGUAGES, zone
from hub.offers.problems import Unprocessable
from hub.storage.database import Database

CHANNELS = ("email", "push")
#: What can reach a person, each switched on or off on its own.
KINDS = ("suggestion", "notice", "loan", "timebank", "project")
#: CAP severities, most severe first.
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
#: The severities that break through quiet hours and the digest.
BREAKING = frozenset({"Extreme", "Severe"})

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _clock_time(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def valid_email(value: str) -> bool:
    """A plain ``local@domain.tld`` address (no display name, no header breaks)."""
    name, address = parseaddr(value)
    local, at, domain = address.rpartition("@")
    return (bool(at and local and "." in domain.strip(".")) and address == value.strip()
            and not name and len(value) <= 254 and not any(c in value for c in "\r\n <>,;\""))


@dataclass(frozen=True, slots=True)
class Prefs:
    """One person's choices (see the module docstring)."""

    account: str
    household: str
    email: str | None = None
    channels: tuple[str, ...] = CHANNELS
    kinds: tuple[str, ...] = KINDS
    notice_min: str = "Minor"
    quiet_start: str | None = None
    quiet_end: str | None = None
    digest: bool = False
    digest_at: str = "07:00"
    last_digest: str | None = None
    language: str | None = None
    unsubscribed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def wants(self, kind: str, severity: str = "") -> bool:
        """Whether this kind of message (a notice of this severity) reaches the person."""
        if kind not in self.kinds:
            return False
        if kind == "notice":
            rank = SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES) - 1
            return rank <= SEVERITIES.index(self.notice_min)
        return True

    def email_on(self) -> bool:
        """Email is chosen, has an address, and was not unsubscribed."""
        return "email" in self.channels and bool(self.email) and not self.unsubscribed

    def quiet_until(self, now: datetime, time_zone: str | None) -> datetime | None:
        """The end of the quiet hours ``now`` falls in (aware, UTC-comparable), else None."""
        if not self.quiet_start or not self.quiet_end or self.quiet_start == self.quiet_end:
            return None
        local = now.astimezone(zone(time_zone))
        start, end = _clock_time(self.quiet_start), _clock_time(self.quiet_end)
        t = local.time().replace(second=0, microsecond=0)
        inside = start <= t < end if start < end else (t >= start or t < end)
        if not inside:
            return None
        ends = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
        if ends <= local:
            ends += timedelta(days=1)
        return ends

    def marshal(self) -> dict[str, Any]:
        return {"email": self.email, "channels": list(self.channels), "kinds": list(self.kinds),
                "notice_min": self.notice_min, "quiet_start": self.quiet_start,
                "quiet_end": self.quiet_end, "digest": self.digest, "digest_at": self.digest_at,
                "language": self.language, "unsubscribed": self.unsubscribed}


def _row(r: Any) -> Prefs:
    return Prefs(account=r["account"], household=r["household"], email=r["email"],
                 channels=tuple(orjson.loads(r["channels"])), kinds=tuple(orjson.loads(r["kinds"])),
                 notice_min=r["notice_min"], quiet_start=r["quiet_start"], quiet_end=r["quiet_end"],
                 digest=bool(r["digest"]), digest_at=r["digest_at"], last_digest=r["last_digest"],
                 language=r["language"], unsubscribed=r["unsubscribed_at"] is not None)


def check(body: dict[str, Any]) -> dict[str, Any]:
    """Validate a preferences update (every field optional); Unprocessable says which and why."""
    out: dict[str, Any] = {}
    unknown = set(body) - {"email", "channels", "kinds", "notice_min", "quiet_start", "quiet_end",
                           "digest", "digest_at", "language"}
    if unknown:
        raise Unprocessable(f"unknown field(s): {', '.join(sorted(unknown))}")
    if "email" in body:
        email = body["email"]
        if email in (None, ""):
            out["email"] = None
        elif not isinstance(email, str) or not valid_email(email):
            raise Unprocessable(f"email {str(email)[:80]!r} is not an address like ana@example.org")
        else:
            out["email"] = email.strip()
    for name, allowed in (("channels", CHANNELS), ("kinds", KINDS)):
        if name in body:
            value = body[name]
            if not isinstance(value, list) or any(v not in allowed for v in value):
                raise Unprocessable(f"{name} must be a list of {', '.join(allowed)}")
            out[name] = [v for v in allowed if v in value]
    if "notice_min" in body:
        if body["notice_min"] not in SEVERITIES:
            raise Unprocessable(f"notice_min must be one of {', '.join(SEVERITIES)}")
        out["notice_min"] = body["notice_min"]
    for name in ("quiet_start", "quiet_end", "digest_at"):
        if name in body:
            value = body[name]
            if value in (None, "") and name != "digest_at":
                out[name] = None
            elif not isinstance(value, str) or not _HHMM.match(value):
                raise Unprocessable(f"{name} must be a time like 22:00")
            else:
                out[name] = value
    if "digest" in body:
        if not isinstance(body["digest"], bool):
            raise Unprocessable("digest must be true or false")
        out["digest"] = body["digest"]
    if "language" in body:
        value = body["language"]
        if value not in (None, "") and value not in LANGUAGES:
            raise Unprocessable(f"language must be one of {', '.join(LANGUAGES)}")
        out["language"] = value or None
    quiet = (out.get("quiet_start", body.get("quiet_start")), out.get("quiet_end", body.get("quiet_end")))
    if ("quiet_start" in out or "quiet_end" in out) and (quiet[0] is None) != (quiet[1] is None):
        raise Unprocessable("quiet hours need both a start and an end (or neither)")
    return out


class PrefsStore:
    """Read and change the ``notify_prefs`` rows."""

    def __init__(self, db: Database, clock_timestamp: Any) -> None:
        self._db = db
        self._now = clock_timestamp

    def get(self, account: str) -> Prefs | None:
        """The person's preferences, or None when they never set any."""
        r = self._db.query_one("SELECT * FROM notify_prefs WHERE account = ?", (account,))
        return None if r is None else _row(r)

    def of_household(self, conn: Any, household: str) -> list[Prefs]:
        """Inside a transaction: the preferences of the household's active people."""
        rows = conn.execute(
            "SELECT p.* FROM notify_prefs p JOIN accounts a ON a.id = p.account"
            " WHERE p.household = ? AND a.disabled = 0 ORDER BY p.account", (household,)).fetchall()
        return [_row(r) for r in rows]

    def update(self, account: str, household: str, changes: dict[str, Any]) -> Prefs:
        """Apply validated ``changes`` (:func:`check`); a new address undoes an unsubscribe."""
        current = self.get(account) or Prefs(account=account, household=household)
        merged = current.marshal() | changes
        resubscribe = "email" in changes and changes["email"] != current.email
        self._db.execute(
            "INSERT INTO notify_prefs (account, household, email, channels, kinds, notice_min,"
            " quiet_start, quiet_end, digest, digest_at, language, unsubscribed_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?) ON CONFLICT (account) DO UPDATE SET"
            " email = excluded.email, channels = excluded.channels, kinds = excluded.kinds,"
            " notice_min = excluded.notice_min, quiet_start = excluded.quiet_start,"
            " quiet_end = excluded.quiet_end, digest = excluded.digest, digest_at = excluded.digest_at,"
            " language = excluded.language, updated_at = excluded.updated_at" +
            (", unsubscribed_at = NULL" if resubscribe or "channels" in changes else ""),
            (account, household, merged["email"], orjson.dumps(merged["channels"]).decode(),
             orjson.dumps(merged["kinds"]).decode(), merged["notice_min"], merged["quiet_start"],
             merged["quiet_end"], int(merged["digest"]), merged["digest_at"], merged["language"],
             self._now()))
        found = self.get(account)
        assert found is not None
        return found

    def unsubscribe(self, account: str) -> bool:
        """The email's one-click unsubscribe (RFC 8058): no more email, nothing else changed."""
        cur = self._db.execute(
            "UPDATE notify_prefs SET unsubscribed_at = ?, updated_at = ? WHERE account = ?"
            " AND unsubscribed_at IS NULL", (self._now(), self._now(), account))
        return cur.rowcount == 1
