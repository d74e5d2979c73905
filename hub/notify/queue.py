"""The delivery queue: ``notify_deliveries`` rows, written with the change they tell of.

Same pattern as the outbox and the loan reminders (a due time in the database, worked off
by the hub's own job runner): :meth:`DeliveryQueue.enqueue` runs inside the transaction of
the event, so a rolled-back change notifies nobody and a committed one is never forgotten.
The row id is derived from (person, event, channel, target): a replayed event inserts
nothing twice. A failed try is retried with exponential backoff; after ``max_attempts``, or
at once for a permanent refusal, the row becomes a dead letter with its reason.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from hub.notify.events import Event
from hub.notify.prefs import BREAKING, Prefs
from hub.storage.database import Database

#: The longest wait between two tries of one delivery.
MAX_BACKOFF_S = 3600.0
#: A claimed delivery not finished within this is tried again (a crash mid-send).
LEASE_S = 120.0


def delivery_id(account: str, event: str, channel: str, target: str) -> str:
    """The stable id of one delivery: same person, event, channel and target, same id."""
    digest = hashlib.blake2b(f"{account}\x1f{event}\x1f{channel}\x1f{target}".encode(), digest_size=12)
    return f"nd-{digest.hexdigest()}"


def backoff_s(attempts: int, first_s: float) -> float:
    """The wait after the ``attempts``-th failure: ``first_s`` doubled per failure, capped."""
    return float(min(MAX_BACKOFF_S, first_s * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True, slots=True)
class Delivery:
    """One row of the queue."""

    id: str
    account: str
    household: str
    channel: str
    target: str
    event: str
    kind: str
    severity: str
    data: dict[str, Any]
    link: str | None
    state: str
    attempts: int
    next_at: float
    last_error: str | None

    @classmethod
    def of(cls, r: Any) -> Delivery:
        return cls(r["id"], r["account"], r["household"], r["channel"], r["target"], r["event"], r["kind"],
                   r["severity"], orjson.loads(r["data"]), r["link"], r["state"], int(r["attempts"]),
                   float(r["next_at"]), r["last_error"])

    def marshal(self) -> dict[str, Any]:
        return {"id": self.id, "channel": self.channel, "event": self.event, "kind": self.kind,
                "state": self.state, "attempts": self.attempts, "next_at": self.next_at,
                "last_error": self.last_error}


class DeliveryQueue:
    """Write, claim and settle deliveries."""

    def __init__(self, db: Database, *, max_attempts: int, first_retry_s: float) -> None:
        self._db = db
        self.max_attempts = max_attempts
        self.first_retry_s = first_retry_s

    def enqueue(self, conn: sqlite3.Connection, person: Prefs, event: Event, *, now: datetime,
                time_zone: str | None, subscriptions: list[str], link: str | None) -> int:
        """Queue what ``event`` means for ``person`` on their channels; return rows written.

        A breaking notice (extreme, severe) goes out at once, always. Anything else waits
        for the end of the quiet hours, or goes into the daily digest of those who chose it.
        """
        breaking = event.kind == "notice" and event.severity in BREAKING
        ts = now.timestamp()
        rows: list[tuple[str, str, str]] = []  # (channel, target, state)
        if person.digest and not breaking:
            if person.email_on():
                rows.append(("digest", str(person.email), "digest"))
        else:
            if person.email_on():
                rows.append(("email", str(person.email), "pending"))
            if "push" in person.channels:
                rows.extend(("push", sub, "pending") for sub in subscriptions)
        quiet = None if breaking else person.quiet_until(now, time_zone)
        due = quiet.astimezone(UTC).timestamp() if quiet else ts
        body = orjson.dumps(event.data).decode()
        written = 0
        for channel, target, state in rows:
            cur = conn.execute(
                "INSERT INTO notify_deliveries (id, account, household, channel, target, event, kind,"
                " severity, data, link, state, next_at, stale_at, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (delivery_id(person.account, event.key, channel, target), person.account, event.household,
                 channel, target, event.key, event.kind, event.severity, body, link, state, due,
                 event.stale_at, ts))
            written += cur.rowcount
        return written

    def claim_due(self, now: float, limit: int = 50) -> list[Delivery]:
        """Take up to ``limit`` due deliveries (leased for :data:`LEASE_S`, so one worker each)."""
        rows = self._db.query(
            "SELECT * FROM notify_deliveries WHERE state = 'pending' AND next_at <= ?"
            " ORDER BY next_at, id LIMIT ?", (now, limit))
        claimed = []
        for r in rows:
            cur = self._db.execute(
                "UPDATE notify_deliveries SET next_at = ? WHERE id = ? AND state = 'pending' AND next_at = ?",
                (now + LEASE_S, r["id"], r["next_at"]))
            if cur.rowcount == 1:
                claimed.append(Delivery.of(r))
        return claimed

    def stale(self, delivery: Delivery, now: float) -> bool:
        """Whether the delivery's event is over (an expired suggestion, a notice that ended)."""
        row = self._db.query_one("SELECT stale_at FROM notify_deliveries WHERE id = ?", (delivery.id,))
        return row is not None and row["stale_at"] is not None and float(row["stale_at"]) <= now

    def sent(self, delivery: Delivery, now: float) -> None:
        self._db.execute("UPDATE notify_deliveries SET state = 'sent', sent_at = ?, attempts = attempts + 1,"
                         " last_error = NULL WHERE id = ?", (now, delivery.id))

    def drop(self, delivery: Delivery, reason: str) -> None:
        """Not sent, on purpose (stale, the subscription is gone): no retry, not a failure."""
        self._db.execute("UPDATE notify_deliveries SET state = 'dropped', last_error = ? WHERE id = ?",
                         (reason[:500], delivery.id))

    def failed(self, delivery: Delivery, reason: str, now: float, *, permanent: bool = False) -> str:
        """Record a failed try: retry later, or dead-letter it; return the new state."""
        attempts = delivery.attempts + 1
        dead = permanent or attempts >= self.max_attempts
        self._db.execute(
            "UPDATE notify_deliveries SET state = ?, attempts = ?, next_at = ?, last_error = ? WHERE id = ?",
            ("dead" if dead else "pending", attempts, now + (0 if dead else backoff_s(attempts, self.first_retry_s)),
             reason[:500], delivery.id))
        return "dead" if dead else "pending"

    def digest_items(self, account: str) -> list[Delivery]:
        """The person's deliveries waiting for the digest, oldest first."""
        return [Delivery.of(r) for r in self._db.query(
            "SELECT * FROM notify_deliveries WHERE account = ? AND state = 'digest' ORDER BY created_at, id",
            (account,))]

    def of_account(self, account: str, state: str | None = None) -> list[Delivery]:
        sql, params = "SELECT * FROM notify_deliveries WHERE account = ?", [account]
        if state:
            sql += " AND state = ?"
            params.append(state)
        return [Delivery.of(r) for r in self._db.query(sql + " ORDER BY created_at, id", params)]

    def dead_letters(self, limit: int = 100) -> list[Delivery]:
        """The deliveries given up on, newest first, with their reasons."""
        return [Delivery.of(r) for r in self._db.query(
            "SELECT * FROM notify_deliveries WHERE state = 'dead' ORDER BY next_at DESC LIMIT ?", (limit,))]

    def idle(self, now: float) -> bool:
        """Nothing due now (tests and the story wait on this)."""
        row = self._db.query_one(
            "SELECT COUNT(*) FROM notify_deliveries WHERE state = 'pending' AND next_at <= ?", (now,))
        return row is not None and int(row[0]) == 0
