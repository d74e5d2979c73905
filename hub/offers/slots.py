"""Provider time windows with a capacity: delivery slots and restaurant sittings."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from hub.clock import iso_utc
from hub.errors import Conflict, NotFound
from hub.i18n.words import N_
from hub.storage.database import Database


@dataclass(frozen=True, slots=True, kw_only=True)
class Slot:
    """A provider's window (``starts_at``/``ends_at`` ISO UTC) with ``capacity - taken`` free."""

    id: str
    provider: str
    kind: str
    starts_at: str
    ends_at: str
    capacity: int
    taken: int

    @property
    def free(self) -> int:
        return self.capacity - self.taken

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Slot:
        return cls(id=row["id"], provider=row["provider"], kind=row["kind"],
                   starts_at=row["starts_at"], ends_at=row["ends_at"],
                   capacity=row["capacity"], taken=row["taken"])


def slot_id(provider: str, starts_at: str) -> str:
    """The id of a provider's slot starting at ``starts_at``: ``fresh-grocer@2026-...Z``."""
    return f"{provider}@{starts_at}"


def add_slot(conn: sqlite3.Connection, provider: str, kind: str, start: datetime,
             end: datetime, capacity: int) -> str:
    """Create a slot (or leave an existing one as it is); return its id."""
    starts, ends = iso_utc(start), iso_utc(end)
    sid = slot_id(provider, starts)
    conn.execute(
        "INSERT INTO offer_slots (id, provider, kind, starts_at, ends_at, capacity, taken)"
        " VALUES (?, ?, ?, ?, ?, ?, 0) ON CONFLICT (id) DO NOTHING",
        (sid, provider, kind, starts, ends, capacity),
    )
    return sid


def add_hourly_slots(conn: sqlite3.Connection, provider: str, kind: str, day: date,
                     first_hour: int, last_hour: int, capacity: int) -> list[str]:
    """One-hour slots starting every hour from ``first_hour`` to ``last_hour`` inclusive (UTC)."""
    ids = []
    for hour in range(first_hour, last_hour + 1):
        start = datetime.combine(day, time(hour), tzinfo=UTC)
        ids.append(add_slot(conn, provider, kind, start, start + timedelta(hours=1), capacity))
    return ids


def get_slot(conn: sqlite3.Connection | Database, sid: str) -> Slot:
    """The slot, or NotFound."""
    sql = "SELECT * FROM offer_slots WHERE id = ?"
    row = conn.query_one(sql, (sid,)) if isinstance(conn, Database) else conn.execute(
        sql, (sid,)).fetchone()
    if row is None:
        raise NotFound(N_("no slot %(sid)s", sid=sid))
    return Slot.from_row(row)


def reserve(conn: sqlite3.Connection, sid: str, n: int = 1) -> Slot:
    """Take ``n`` places in a slot; Conflict when it has fewer free."""
    cur = conn.execute(
        "UPDATE offer_slots SET taken = taken + ? WHERE id = ? AND taken + ? <= capacity",
        (n, sid, n),
    )
    if cur.rowcount != 1:
        slot = get_slot(conn, sid)
        raise Conflict(N_("slot %(sid)s is full (%(free)s of %(capacity)s free, %(n)s asked)",
                          sid=sid, free=slot.free, capacity=slot.capacity, n=n))
    return get_slot(conn, sid)


def release(conn: sqlite3.Connection, sid: str, n: int = 1) -> None:
    """Give back ``n`` places in a slot."""
    conn.execute(
        "UPDATE offer_slots SET taken = CASE WHEN taken >= ? THEN taken - ? ELSE 0 END"
        " WHERE id = ?",
        (n, n, sid),
    )


def free_slots(db: Database, kind: str, providers: list[str], after: str,
               limit: int = 6) -> list[Slot]:
    """The next slots of these providers starting after ``after`` with room, soonest first."""
    if not providers:
        return []
    marks = ",".join("?" for _ in providers)
    rows = db.query(
        f"SELECT * FROM offer_slots WHERE kind = ? AND provider IN ({marks})"
        " AND starts_at > ? AND taken < capacity ORDER BY starts_at, provider LIMIT ?",
        (kind, *providers, after, limit),
    )
    return [Slot.from_row(r) for r in rows]


def slots_of(db: Database, provider: str, day_from: str | None = None) -> list[Slot]:
    """Every slot of a provider (from ``day_from`` on), in time order."""
    rows = db.query(
        "SELECT * FROM offer_slots WHERE provider = ? AND starts_at >= ? ORDER BY starts_at",
        (provider, day_from or ""),
    )
    return [Slot.from_row(r) for r in rows]
