"""Gatherings: a host, a place (a member's home, a spot, or a provider's tables), a time,
a capacity, invitations, RSVPs and a waitlist instead of overbooking.

Booking a provider's tables takes the seats from that sitting's slot, so the provider's
capacity drops by the table size. The host counts as one of the people going.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hub.clock import iso_utc
from hub.errors import Conflict, NotFound
from hub.i18n.words import N_
from hub.offers import slots
from hub.offers.calendar import Calendar
from hub.offers.context import Context
from hub.offers.directory import household as load_household
from hub.offers.directory import provider as load_provider
from hub.offers.pagination import Page, decode_cursor, encode_cursor
from hub.offers.suggestions import Suggestions
from hub.offers.uow import new_id
from hub.storage.locks import lock_row
from hub.storage.rows import children_of

DEFAULT_LENGTH = timedelta(hours=2)


@dataclass(frozen=True, slots=True, kw_only=True)
class Place:
    """Where a gathering happens: a label and, when known, coordinates or a provider."""

    label: str
    lat: float | None = None
    lon: float | None = None
    provider: str | None = None
    seats: int | None = None
    home: bool = False


class Gatherings:
    """Create gatherings, invite, RSVP, leave; the waitlist moves up when a place frees."""

    def __init__(self, ctx: Context, calendar: Calendar, suggestions: Suggestions) -> None:
        self._ctx = ctx
        self._db = ctx.uow.db
        self._calendar = calendar
        self._suggestions = suggestions
        #: Called with (conn, household, gathering row) when a member is going; rides hook in.
        self.on_going: list[Any] = []

    def _row(self, conn: sqlite3.Connection, gid: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM gatherings WHERE id = ?", (gid,)).fetchone()
        if row is None:
            raise NotFound(N_("no gathering %(gid)s", gid=gid))
        return row  # type: ignore[no-any-return]

    def _visible(self, conn: sqlite3.Connection, household: str, gid: str) -> sqlite3.Row:
        row = self._row(conn, gid)
        if row["host"] != household and conn.execute(
            "SELECT 1 FROM gathering_members WHERE gathering = ? AND household = ?",
            (gid, household)).fetchone() is None:
            raise NotFound(N_("no gathering %(gid)s", gid=gid))
        return row

    def view(self, conn: sqlite3.Connection, row: sqlite3.Row,
             members: list[sqlite3.Row] | None = None) -> dict[str, Any]:
        """The gathering as the API shows it (``members`` when the caller read them already)."""
        if members is None:
            members = conn.execute(
                "SELECT household, status, position FROM gathering_members WHERE gathering = ?"
                " ORDER BY position, household", (row["id"],)).fetchall()
        going = [m["household"] for m in members if m["status"] == "going"]
        return {
            "id": row["id"], "title": row["title"], "host": row["host"],
            "place": row["place"], "provider": row["provider"], "slot": row["slot"],
            "lat": row["lat"], "lon": row["lon"], "starts_at": row["starts_at"],
            "ends_at": row["ends_at"], "capacity": row["capacity"], "state": row["state"],
            "going": going, "places_left": row["capacity"] - len(going),
            "invited": [m["household"] for m in members if m["status"] == "invited"],
            "declined": [m["household"] for m in members if m["status"] == "declined"],
            "waitlist": [m["household"] for m in members if m["status"] == "waitlisted"],
            "suggestion": row["suggestion"], "created_at": row["created_at"],
        }

    def get(self, household: str, gid: str) -> dict[str, Any]:
        """A gathering its host or a member may see; NotFound for anyone else."""
        with self._db.snapshot() as conn:
            return self.view(conn, self._visible(conn, household, gid))

    def create(self, host: str, *, title: str, starts_at: datetime, ends_at: datetime | None,
               capacity: int | None, place: Place, invite: list[str],
               suggestion: str | None, actor: str) -> dict[str, Any]:
        """Create a gathering, book the provider's tables if any, send the invitations."""
        home = load_household(self._db, host)
        start = iso_utc(starts_at)
        with self._ctx.uow.tx() as conn:
            uow = self._ctx.uow
            gid = new_id("gth")
            slot_id: str | None = None
            lat, lon = place.lat, place.lon
            label = place.label
            if place.home:  # the host's own home: its street and coordinates
                label = label or home.street
                lat, lon = home.lat, home.lon
            end = iso_utc(ends_at) if ends_at else iso_utc(starts_at + DEFAULT_LENGTH)
            if place.provider:
                prov = load_provider(self._db, place.provider)
                seats = place.seats or capacity
                if not seats:
                    raise Conflict(N_("say how many seats to book at the provider"))
                slot_id = slots.slot_id(prov.id, start)
                slot = slots.reserve(conn, slot_id, seats)
                capacity = seats
                end = slot.ends_at if not ends_at else end
                lat, lon = lat if lat is not None else prov.lat, lon if lon is not None \
                    else prov.lon
            if not capacity or capacity < 1:
                raise Conflict(N_("a gathering needs a capacity of at least 1"))
            if end <= start:
                raise Conflict(N_("a gathering must end after it starts"))
            now = uow.now()
            conn.execute(
                "INSERT INTO gatherings (id, community, host, title, place, provider, slot, lat,"
                " lon, starts_at, ends_at, capacity, state, suggestion, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?)",
                (gid, home.community, host, title, label, place.provider, slot_id, lat, lon,
                 start, end, capacity, suggestion, now, now),
            )
            uow.transition(conn, "gathering", gid, None, "open", actor)
            if suggestion:
                self._suggestions.mark(conn, host, suggestion, "accepted", actor, acted_ref=gid,
                                       event={"object": "gathering", "title": title,
                                              "starts": start, "place": label})
            self._set_member(conn, gid, host, "going")
            self._calendar.add(conn, household=host, kind="gathering", ref=gid,
                               starts_at=start, ends_at=end, title=title, slot=None,
                               seats=capacity if place.provider else 1, actor=actor)
            self._invite(conn, self._row(conn, gid), invite, actor)
            row = self._row(conn, gid)
            self._ctx.push(f"community:{home.community}",
                           {"type": "gathering", "id": gid, "title": title, "starts_at": start})
            if place.provider:
                uow.outbox.add(conn, f"providers/{place.provider}/feed/{gid}",
                               {"type": "table-booking", "request": gid, "kind": "gathering",
                                "slot": {"start": start, "end": end}, "seats": capacity})
            return self.view(conn, row)

    def _set_member(self, conn: sqlite3.Connection, gid: str, household: str, status: str
                    ) -> None:
        pos = 0
        if status == "waitlisted":
            pos = conn.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM gathering_members"
                               " WHERE gathering = ?", (gid,)).fetchone()[0]
        conn.execute(
            "INSERT INTO gathering_members (gathering, household, status, position, updated_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (gathering, household) DO UPDATE SET"
            " status = excluded.status, position = excluded.position,"
            " updated_at = excluded.updated_at",
            (gid, household, status, pos, self._ctx.uow.now()),
        )

    def _invite(self, conn: sqlite3.Connection, row: sqlite3.Row, invite: list[str],
                actor: str) -> list[str]:
        sent = []
        for guest in dict.fromkeys(invite):
            if guest == row["host"]:
                continue
            try:
                other = load_household(self._db, guest)
            except NotFound:
                raise NotFound(N_("no household %(guest)s in your community", guest=guest)) from None
            if other.community != row["community"]:
                raise NotFound(N_("no household %(guest)s in your community", guest=guest))
            if conn.execute("SELECT 1 FROM gathering_members WHERE gathering = ? AND"
                            " household = ?", (row["id"], guest)).fetchone():
                continue
            self._set_member(conn, row["id"], guest, "invited")
            self._ctx.uow.transition(conn, "invitation", f"{row['id']}/{guest}", None,
                                     "invited", actor)
            self._ctx.uow.outbox.add(
                conn, f"home/{guest}/hub/invitations/{row['id']}",
                {"type": "invitation", "gathering": row["id"], "title": row["title"],
                 "host": row["host"], "place": row["place"], "starts_at": row["starts_at"],
                 "ends_at": row["ends_at"]})
            self._ctx.push(f"household:{guest}", {"type": "invitation", "id": row["id"],
                                                  "title": row["title"]})
            sent.append(guest)
        return sent

    def invite(self, host: str, gid: str, guests: list[str], actor: str) -> dict[str, Any]:
        """Invite more households (host only)."""
        with self._ctx.uow.tx() as conn:
            row = self._visible(conn, host, gid)
            if row["host"] != host:
                raise NotFound(N_("no gathering %(gid)s", gid=gid))
            if row["state"] != "open":
                raise Conflict(N_("gathering %(gid)s is %(state)s", gid=gid, state=row['state']))
            self._invite(conn, row, guests, actor)
            return self.view(conn, self._row(conn, gid))

    def rsvp(self, household: str, gid: str, going: bool, actor: str) -> dict[str, Any]:
        """Answer an invitation: going (or waitlisted when full), or not going."""
        with self._ctx.uow.tx() as conn:
            lock_row(conn, "gatherings", gid)  # the capacity count below must not race
            row = self._visible(conn, household, gid)
            if row["host"] == household:
                raise Conflict(N_("the host is going: cancel the gathering instead"))
            if row["state"] != "open":
                raise Conflict(N_("gathering %(gid)s is %(state)s", gid=gid, state=row['state']))
            status = conn.execute("SELECT status FROM gathering_members WHERE gathering = ?"
                                  " AND household = ?", (gid, household)).fetchone()[0]
            if going:
                if status in ("going", "waitlisted"):
                    return {**self.view(conn, row), "you": status}
                count = self._going(conn, gid)
                new = "going" if count < row["capacity"] else "waitlisted"
                self._set_member(conn, gid, household, new)
                self._ctx.uow.transition(conn, "invitation", f"{gid}/{household}", status, new,
                                         actor)
                if new == "going":
                    self._join(conn, row, household, actor)
                else:
                    self._ctx.emit("waitlisted", household, gid, {"object": "gathering"})
                return {**self.view(conn, self._row(conn, gid)), "you": new}
            self._leave(conn, row, household, status, "declined", actor)
            return {**self.view(conn, self._row(conn, gid)), "you": "declined"}

    def _going(self, conn: sqlite3.Connection, gid: str) -> int:
        return int(conn.execute("SELECT COUNT(*) FROM gathering_members WHERE gathering = ?"
                                " AND status = 'going'", (gid,)).fetchone()[0])

    def _join(self, conn: sqlite3.Connection, row: sqlite3.Row, household: str, actor: str
              ) -> None:
        self._calendar.add(conn, household=household, kind="gathering", ref=row["id"],
                           starts_at=row["starts_at"], ends_at=row["ends_at"],
                           title=row["title"], actor=actor)
        self._ctx.emit("booked", household, row["id"], {"object": "gathering"})
        self._ctx.uow.outbox.add(conn, f"home/{row['host']}/hub/gatherings/{row['id']}",
                                 {"type": "rsvp", "gathering": row["id"], "household": household,
                                  "status": "going"})
        for hook in self.on_going:
            hook(conn, household, row)

    def _leave(self, conn: sqlite3.Connection, row: sqlite3.Row, household: str, status: str,
               to_status: str, actor: str) -> None:
        self._set_member(conn, row["id"], household, to_status)
        self._ctx.uow.transition(conn, "invitation", f"{row['id']}/{household}", status,
                                 to_status, actor)
        booking = self._calendar.by_ref(conn, household, row["id"])
        if booking is not None:
            self._calendar.end(conn, booking, "cancelled", actor)
        if status == "going":
            self._promote(conn, row, actor)

    def _promote(self, conn: sqlite3.Connection, row: sqlite3.Row, actor: str) -> None:
        """A place freed up: the first on the waitlist is going."""
        if self._going(conn, row["id"]) >= row["capacity"]:
            return
        nxt = conn.execute("SELECT household FROM gathering_members WHERE gathering = ? AND"
                           " status = 'waitlisted' ORDER BY position LIMIT 1",
                           (row["id"],)).fetchone()
        if nxt is None:
            return
        self._set_member(conn, row["id"], nxt[0], "going")
        self._ctx.uow.transition(conn, "invitation", f"{row['id']}/{nxt[0]}", "waitlisted",
                                 "going", actor, note="moved up from the waitlist")
        self._join(conn, row, nxt[0], actor)

    def leave_or_cancel(self, household: str, gid: str, actor: str) -> dict[str, Any]:
        """A member leaves (the waitlist moves up); the host cancels it for everyone."""
        with self._ctx.uow.tx() as conn:
            row = self._visible(conn, household, gid)
            if row["state"] != "open":
                raise Conflict(N_("gathering %(gid)s is %(state)s", gid=gid, state=row['state']))
            if row["host"] != household:
                status = conn.execute("SELECT status FROM gathering_members WHERE gathering = ?"
                                      " AND household = ?", (gid, household)).fetchone()[0]
                self._leave(conn, row, household, status, "declined", actor)
                return self.view(conn, self._row(conn, gid))
            uow = self._ctx.uow
            conn.execute("UPDATE gatherings SET state = 'cancelled', updated_at = ? WHERE id = ?",
                         (uow.now(), gid))
            uow.transition(conn, "gathering", gid, "open", "cancelled", actor)
            if row["slot"]:
                booking = self._calendar.by_ref(conn, household, gid)
                slots.release(conn, row["slot"], booking.seats if booking else row["capacity"])
                uow.outbox.add(conn, f"providers/{row['provider']}/feed/{gid}",
                               {"type": "cancelled", "request": gid, "kind": "gathering"})
            for m in conn.execute("SELECT household FROM gathering_members WHERE gathering = ?",
                                  (gid,)).fetchall():
                booking = self._calendar.by_ref(conn, m[0], gid)
                if booking is not None:
                    self._calendar.end(conn, booking, "cancelled", actor)
                uow.outbox.add(conn, f"home/{m[0]}/hub/invitations/{gid}",
                               {"type": "cancelled", "gathering": gid})
                self._ctx.emit("cancelled", m[0], gid, {"object": "gathering"})
            return self.view(conn, self._row(conn, gid))

    def page(self, household: str, *, cursor: str | None = None, limit: int = 50) -> Page:
        """Gatherings the household hosts or was invited to, soonest first."""
        return self._page("(g.host = ? OR g.id IN (SELECT gathering FROM gathering_members"
                          " WHERE household = ?))", (household, household), cursor, limit)

    def list_community(self, community: str, *, cursor: str | None = None, limit: int = 50
                       ) -> Page:
        """Every gathering of a community (admin view), soonest first."""
        return self._page("g.community = ?", (community,), cursor, limit)

    def _page(self, where: str, params: tuple[Any, ...], cursor: str | None, limit: int
              ) -> Page:
        after = decode_cursor(cursor)
        sql = f"SELECT g.* FROM gatherings g WHERE {where}"
        args: list[Any] = list(params)
        if after:
            sql += " AND (g.starts_at > ? OR (g.starts_at = ? AND g.id > ?))"
            args += [after[0], after[0], after[1]]
        sql += " ORDER BY g.starts_at, g.id LIMIT ?"
        args.append(limit + 1)
        with self._db.snapshot() as conn:
            rows = conn.execute(sql, args).fetchall()
            page = rows[:limit]
            members = _members_of(conn, [r["id"] for r in page])
            items = [self.view(conn, r, members.get(r["id"], [])) for r in page]
        nxt = encode_cursor(rows[limit - 1]["starts_at"], rows[limit - 1]["id"]) if len(
            rows) > limit else None
        return Page(items=items, next_cursor=nxt)


def _members_of(conn: sqlite3.Connection, gids: list[str]) -> dict[str, list[sqlite3.Row]]:
    """The members of a page of gatherings in one query (not one per gathering)."""
    return children_of(conn, "SELECT gathering, household, status, position FROM gathering_members",
                       "gathering", gids, order="gathering, position, household")
