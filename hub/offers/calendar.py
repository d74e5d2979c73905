"""One calendar per household across every kind, with clash detection.

A booking is a household's place in something with a time window: a delivery slot, a
gathering, a ride, a table. Two active bookings of one household that overlap are both
flagged ``clash``; a new clash emits a ``clashing`` event and, for a delivery, raises a
suggestion to move it to a free slot that clashes with nothing.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.errors import NotFound
from hub.i18n.words import N_
from hub.offers.context import Context
from hub.offers.pagination import Page, decode_cursor, encode_cursor
from hub.offers.suggestions import Suggestions
from hub.offers.uow import new_id

#: Kinds whose bookings a household can move to another slot in one step.
MOVABLE = frozenset({"grocery", "service", "lending"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Booking:
    """A household's calendar entry."""

    id: str
    household: str
    kind: str
    ref: str
    slot: str | None
    seats: int
    title: str
    starts_at: str
    ends_at: str
    state: str
    clash: bool
    created_at: str

    @classmethod
    def from_row(cls, r: sqlite3.Row) -> Booking:
        return cls(id=r["id"], household=r["household"], kind=r["kind"], ref=r["ref"],
                   slot=r["slot"], seats=r["seats"], title=r["title"],
                   starts_at=r["starts_at"], ends_at=r["ends_at"], state=r["state"],
                   clash=bool(r["clash"]), created_at=r["created_at"])

    def marshal(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "ref": self.ref, "slot": self.slot,
                "seats": self.seats, "title": self.title, "starts_at": self.starts_at,
                "ends_at": self.ends_at, "state": self.state, "clash": self.clash,
                "created_at": self.created_at}


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def overlaps(a_start: str, a_end: str, b_start: str, b_end: str) -> bool:
    """Half-open windows overlap (a delivery ending at 19:00 and one at 19:00 do not)."""
    return a_start < b_end and b_start < a_end


class Calendar:
    """Bookings of every kind, flagged when they clash."""

    def __init__(self, ctx: Context, suggestions: Suggestions) -> None:
        self._ctx = ctx
        self._db = ctx.uow.db
        self._suggestions = suggestions

    def add(self, conn: sqlite3.Connection, *, household: str, kind: str, ref: str,
            starts_at: str, ends_at: str, title: str, slot: str | None = None,
            seats: int = 1, actor: str) -> Booking:
        """Put a booking in the household's calendar and check it for clashes."""
        uow = self._ctx.uow
        bid = new_id("bk")
        now = uow.now()
        conn.execute(
            "INSERT INTO offer_bookings (id, household, kind, ref, slot, seats, title,"
            " starts_at, ends_at, state, clash, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', 0, ?, ?)",
            (bid, household, kind, ref, slot, seats, title, starts_at, ends_at, now, now),
        )
        uow.transition(conn, "booking", bid, None, "active", actor)
        self.check_clashes(conn, household)
        return self.get_in(conn, household, bid)

    def get_in(self, conn: sqlite3.Connection, household: str, bid: str) -> Booking:
        row = conn.execute(
            "SELECT * FROM offer_bookings WHERE id = ? AND household = ?", (bid, household)
        ).fetchone()
        if row is None:
            raise NotFound(N_("no booking %(bid)s", bid=bid))
        return Booking.from_row(row)

    def get(self, household: str, bid: str) -> Booking:
        """The household's booking, or NotFound (also when it is someone else's)."""
        row = self._db.query_one(
            "SELECT * FROM offer_bookings WHERE id = ? AND household = ?", (bid, household)
        )
        if row is None:
            raise NotFound(N_("no booking %(bid)s", bid=bid))
        return Booking.from_row(row)

    def by_ref(self, conn: sqlite3.Connection, household: str, ref: str) -> Booking | None:
        """The household's active booking for an object, if any."""
        row = conn.execute(
            "SELECT * FROM offer_bookings WHERE household = ? AND ref = ? AND state = 'active'",
            (household, ref),
        ).fetchone()
        return Booking.from_row(row) if row else None

    def move(self, conn: sqlite3.Connection, booking: Booking, *, starts_at: str,
             ends_at: str, slot: str | None, actor: str) -> Booking:
        """Change a booking's window (and slot) and re-check clashes."""
        uow = self._ctx.uow
        conn.execute(
            "UPDATE offer_bookings SET starts_at = ?, ends_at = ?, slot = ?, updated_at = ?"
            " WHERE id = ?",
            (starts_at, ends_at, slot, uow.now(), booking.id),
        )
        uow.transition(conn, "booking", booking.id, "active", "active", actor,
                       note=f"moved {booking.starts_at}/{booking.ends_at} -> "
                       f"{starts_at}/{ends_at}")
        self.check_clashes(conn, booking.household)
        return self.get_in(conn, booking.household, booking.id)

    def end(self, conn: sqlite3.Connection, booking: Booking, to_state: str,
            actor: str) -> None:
        """Close a booking (``cancelled``, ``waitlisted`` ...) and re-check clashes."""
        uow = self._ctx.uow
        conn.execute(
            "UPDATE offer_bookings SET state = ?, clash = 0, updated_at = ? WHERE id = ?",
            (to_state, uow.now(), booking.id),
        )
        uow.transition(conn, "booking", booking.id, booking.state, to_state, actor)
        self.check_clashes(conn, booking.household)

    def check_clashes(self, conn: sqlite3.Connection, household: str) -> list[tuple[str, str]]:
        """Recompute the household's clash flags; react to new clashes; return them."""
        rows = [Booking.from_row(r) for r in conn.execute(
            "SELECT * FROM offer_bookings WHERE household = ? AND state = 'active'"
            " ORDER BY starts_at, id", (household,)).fetchall()]
        pairs: list[tuple[Booking, Booking]] = []
        for i, a in enumerate(rows):
            for b in rows[i + 1:]:
                if b.starts_at >= a.ends_at:
                    break  # sorted by start: nothing later can overlap a
                if overlaps(a.starts_at, a.ends_at, b.starts_at, b.ends_at):
                    pairs.append((a, b))
        clashing = {x.id for pair in pairs for x in pair}
        changed = [b for b in rows if b.clash != (b.id in clashing)]
        now = self._ctx.uow.now()
        for b in changed:
            conn.execute("UPDATE offer_bookings SET clash = ?, updated_at = ? WHERE id = ?",
                         (int(b.id in clashing), now, b.id))
        newly = {b.id for b in changed if b.id in clashing}
        for a, b in pairs:
            if a.id in newly or b.id in newly:
                self._on_clash(conn, household, a, b)
        return [(a.id, b.id) for a, b in pairs]

    def _on_clash(self, conn: sqlite3.Connection, household: str, a: Booking,
                  b: Booking) -> None:
        # Report the movable booking first: that is what a rule would suggest moving.
        first, second = (b, a) if b.kind in MOVABLE and a.kind not in MOVABLE else (a, b)
        self._ctx.emit("clashing", household, first.id, {
            "object": "booking", "type": first.kind, "title": first.title, "ref": first.ref,
            "starts": first.starts_at, "ends": first.ends_at, "movable": first.kind in MOVABLE,
            "clashes_with": {"id": second.id, "type": second.kind, "title": second.title,
                             "ref": second.ref, "starts": second.starts_at,
                             "ends": second.ends_at},
            "bookings": [a.id, b.id]})
        for movable, other in ((a, b), (b, a)):
            if movable.kind not in MOVABLE or movable.slot is None:
                continue
            alternatives = self._alternatives(conn, household, movable)
            self._suggestions.create(
                conn, household=household, kind="reschedule", key=f"clash:{movable.id}",
                title=f"Your {movable.kind} delivery clashes with {other.title or other.kind}",
                message=f"Move it from {movable.starts_at[11:16]}-{movable.ends_at[11:16]}"
                " to a free slot?",
                data={"booking": movable.id, "clashes_with": other.id,
                      "other": other.title or other.kind, "starts_at": movable.starts_at,
                      "ends_at": movable.ends_at, "alternatives": alternatives},
            )

    def _alternatives(self, conn: sqlite3.Connection, household: str, booking: Booking,
                      limit: int = 6) -> list[dict[str, Any]]:
        """Free slots of the booking's provider that clash with nothing, nearest in time first."""
        slot = conn.execute("SELECT provider, kind FROM offer_slots WHERE id = ?",
                            (booking.slot,)).fetchone()
        if slot is None:
            return []
        others = [(r["starts_at"], r["ends_at"]) for r in conn.execute(
            "SELECT starts_at, ends_at FROM offer_bookings WHERE household = ?"
            " AND state = 'active' AND id <> ?", (household, booking.id)).fetchall()]
        origin = _ts(booking.starts_at)
        found = []
        for r in conn.execute(
            "SELECT id, starts_at, ends_at FROM offer_slots WHERE provider = ? AND kind = ?"
            " AND starts_at > ? AND taken < capacity AND id <> ? ORDER BY starts_at",
            (slot["provider"], slot["kind"], self._ctx.uow.now(), booking.slot),
        ).fetchall():
            if any(overlaps(r["starts_at"], r["ends_at"], s, e) for s, e in others):
                continue
            found.append({"slot": r["id"], "starts_at": r["starts_at"], "ends_at": r["ends_at"]})
        found.sort(key=lambda f: (abs(_ts(f["starts_at"]) - origin), f["starts_at"]))
        return found[:limit]

    def page(self, household: str, *, include_ended: bool = False, cursor: str | None = None,
             limit: int = 50) -> Page:
        """The household's calendar, soonest first, one page."""
        after = decode_cursor(cursor)
        sql = "SELECT * FROM offer_bookings WHERE household = ?"
        params: list[Any] = [household]
        if not include_ended:
            sql += " AND state = 'active'"
        if after:
            sql += " AND (starts_at > ? OR (starts_at = ? AND id > ?))"
            params += [after[0], after[0], after[1]]
        sql += " ORDER BY starts_at, id LIMIT ?"
        params.append(limit + 1)
        rows = self._db.query(sql, params)
        items = [Booking.from_row(r).marshal() for r in rows[:limit]]
        nxt = encode_cursor(rows[limit - 1]["starts_at"], rows[limit - 1]["id"]) if len(
            rows) > limit else None
        return Page(items=items, next_cursor=nxt)
