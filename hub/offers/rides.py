"""Rides: a member offers seats for a trip; riders ask; matching by time and distance.

Plain geometry, no routing service: distances are great-circle (haversine), travel time is
distance at :data:`~hub.offers.geo.TOWN_SPEED_KMH`. A ride fits a rider when its
destination is within :data:`DEST_RADIUS_KM` of where the rider goes, the pickup detour
from the driver's origin to the rider's home is at most :data:`MAX_PICKUP_KM`, and the
estimated arrival (departure + origin->home + home->destination) is not later than the
rider needs. Each rider's pickup time is departure + origin->home travel time. A full ride
puts further riders on a waitlist; a cancellation moves the first one up.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hub.clock import iso_utc
from hub.errors import Conflict, NotFound
from hub.i18n.words import N_
from hub.offers.calendar import Calendar
from hub.offers.context import Context
from hub.offers.directory import Household
from hub.offers.directory import household as load_household
from hub.offers.geo import haversine_km, travel_minutes
from hub.offers.pagination import Page, decode_cursor, encode_cursor
from hub.offers.suggestions import Suggestions
from hub.offers.uow import new_id
from hub.storage.locks import lock_row
from hub.storage.rows import children_of

DEST_RADIUS_KM = 2.0
MAX_PICKUP_KM = 10.0
#: A gathering closer than this to a member's home raises no ride suggestion.
RIDE_WORTH_KM = 3.0
#: How early before the needed arrival a ride may leave and still count as fitting.
MAX_EARLY = timedelta(hours=3)


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True, slots=True, kw_only=True)
class RideMatch:
    """A ride that fits a rider, with the rider's pickup and arrival estimates."""

    ride: str
    driver: str
    destination: str
    pickup_at: str
    arrive_at: str
    seats_left: int
    pickup_km: float

    def marshal(self) -> dict[str, Any]:
        return {"ride": self.ride, "driver": self.driver, "destination": self.destination,
                "pickup_at": self.pickup_at, "arrive_at": self.arrive_at,
                "seats_left": self.seats_left, "pickup_km": round(self.pickup_km, 2)}


class Rides:
    """Offer rides, match them, book seats with pickup times, keep a waitlist."""

    def __init__(self, ctx: Context, calendar: Calendar, suggestions: Suggestions) -> None:
        self._ctx = ctx
        self._db = ctx.uow.db
        self._calendar = calendar
        self._suggestions = suggestions

    def _row(self, conn: sqlite3.Connection, rid: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM rides WHERE id = ?", (rid,)).fetchone()
        if row is None:
            raise NotFound(N_("no ride %(rid)s", rid=rid))
        return row  # type: ignore[no-any-return]

    def _booked(self, conn: sqlite3.Connection, rid: str) -> int:
        return int(conn.execute("SELECT COUNT(*) FROM ride_riders WHERE ride = ? AND"
                                " status = 'booked'", (rid,)).fetchone()[0])

    def view(self, conn: sqlite3.Connection, row: sqlite3.Row, viewer: str,
             riders: list[sqlite3.Row] | None = None) -> dict[str, Any]:
        """The ride; the driver sees every rider, a rider sees only their own seat.

        ``riders``: the ride's riders when the caller read them already (a page does).
        """
        if riders is None:
            riders = conn.execute(
                f"SELECT {_RIDER_FIELDS} FROM ride_riders WHERE ride = ?"
                " ORDER BY status, position, pickup_at", (row["id"],)).fetchall()
        seen = [{k: r[k] for k in _RIDER_KEYS} for r in riders
                if viewer == row["driver"] or r["household"] == viewer]
        booked = sum(1 for r in riders if r["status"] == "booked")
        return {
            "id": row["id"], "driver": row["driver"], "origin": row["origin_label"],
            "origin_lat": row["origin_lat"], "origin_lon": row["origin_lon"],
            "destination": row["dest_label"], "dest_lat": row["dest_lat"],
            "dest_lon": row["dest_lon"], "depart_earliest": row["depart_earliest"],
            "depart_latest": row["depart_latest"], "seats": row["seats"],
            "seats_left": row["seats"] - booked, "state": row["state"],
            "riders": [r for r in seen if r["status"] == "booked"],
            "waitlist": [r for r in seen if r["status"] == "waitlisted"],
            "created_at": row["created_at"],
        }

    def get(self, household: str, rid: str) -> dict[str, Any]:
        """A ride its driver or a rider may see; NotFound for anyone else."""
        with self._db.snapshot() as conn:
            row = self._row(conn, rid)
            if row["driver"] != household and conn.execute(
                "SELECT 1 FROM ride_riders WHERE ride = ? AND household = ?",
                (rid, household)).fetchone() is None:
                raise NotFound(N_("no ride %(rid)s", rid=rid))
            return self.view(conn, row, household)

    def offer(self, driver: str, *, dest_label: str, dest_lat: float, dest_lon: float,
              depart_earliest: datetime, depart_latest: datetime | None, seats: int,
              origin_label: str | None, origin_lat: float | None, origin_lon: float | None,
              actor: str) -> dict[str, Any]:
        """Offer seats for a trip (from the driver's home unless an origin is given)."""
        home = load_household(self._db, driver)
        olat = origin_lat if origin_lat is not None else home.lat
        olon = origin_lon if origin_lon is not None else home.lon
        if olat is None or olon is None:
            raise Conflict(N_("the ride needs an origin: your household has no location"))
        latest = depart_latest or depart_earliest
        if latest < depart_earliest:
            raise Conflict(N_("depart_latest is before depart_earliest"))
        if seats < 1:
            raise Conflict(N_("a ride needs at least one seat"))
        with self._ctx.uow.tx() as conn:
            uow = self._ctx.uow
            rid = new_id("ride")
            now = uow.now()
            conn.execute(
                "INSERT INTO rides (id, community, driver, origin_label, origin_lat, origin_lon,"
                " dest_label, dest_lat, dest_lon, depart_earliest, depart_latest, seats, state,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open',"
                " ?, ?)",
                (rid, home.community, driver, origin_label or home.street, olat, olon,
                 dest_label, dest_lat, dest_lon, iso_utc(depart_earliest), iso_utc(latest),
                 seats, now, now),
            )
            uow.transition(conn, "ride", rid, None, "open", actor)
            trip = travel_minutes(haversine_km(olat, olon, dest_lat, dest_lon))
            self._calendar.add(conn, household=driver, kind="ride", ref=rid,
                               starts_at=iso_utc(depart_earliest),
                               ends_at=iso_utc(latest + timedelta(minutes=max(trip, 1))),
                               title=f"Driving to {dest_label}", actor=actor)
            return self.view(conn, self._row(conn, rid), driver)

    def _fit(self, conn: sqlite3.Connection, row: sqlite3.Row, home: Household,
             dest_lat: float, dest_lon: float, arrive_by: str) -> RideMatch | None:
        assert home.lat is not None
        assert home.lon is not None
        if haversine_km(row["dest_lat"], row["dest_lon"], dest_lat, dest_lon) > DEST_RADIUS_KM:
            return None
        pickup_km = haversine_km(row["origin_lat"], row["origin_lon"], home.lat, home.lon)
        if pickup_km > MAX_PICKUP_KM:
            return None
        depart = _parse(row["depart_earliest"])
        need = _parse(arrive_by)
        if not need - MAX_EARLY <= depart <= need:
            return None
        pickup = depart + timedelta(minutes=travel_minutes(pickup_km))
        arrive = pickup + timedelta(minutes=travel_minutes(
            haversine_km(home.lat, home.lon, row["dest_lat"], row["dest_lon"])))
        if arrive > need:
            return None
        return RideMatch(ride=row["id"], driver=row["driver"], destination=row["dest_label"],
                         pickup_at=iso_utc(pickup), arrive_at=iso_utc(arrive),
                         seats_left=row["seats"] - self._booked(conn, row["id"]),
                         pickup_km=pickup_km)

    def match(self, household: str, *, dest_lat: float, dest_lon: float, arrive_by: str,
              conn: sqlite3.Connection | None = None) -> list[RideMatch]:
        """Open rides of the household's community that fit, nearest pickup first."""
        home = load_household(self._db, household)
        if home.lat is None or home.lon is None:
            return []
        if conn is None:
            with self._db.transaction() as own:
                return self.match(household, dest_lat=dest_lat, dest_lon=dest_lon,
                                  arrive_by=arrive_by, conn=own)
        rows = conn.execute(
            "SELECT * FROM rides WHERE community = ? AND state = 'open' AND driver <> ?"
            " AND id NOT IN (SELECT ride FROM ride_riders WHERE household = ? AND status IN"
            " ('booked', 'waitlisted'))", (home.community, household, household)).fetchall()
        found = [m for m in (self._fit(conn, r, home, dest_lat, dest_lon, arrive_by)
                             for r in rows) if m is not None]
        return sorted(found, key=lambda m: (m.seats_left <= 0, m.pickup_km))

    def suggest_for_gathering(self, conn: sqlite3.Connection, household: str,
                              gathering: sqlite3.Row) -> None:
        """A member is going somewhere far: offer them the best fitting ride, once."""
        home = load_household(self._db, household)
        if None in (gathering["lat"], gathering["lon"], home.lat, home.lon):
            return
        assert home.lat is not None
        assert home.lon is not None
        if haversine_km(home.lat, home.lon, gathering["lat"], gathering["lon"]) < RIDE_WORTH_KM:
            return
        matches = self.match(household, dest_lat=gathering["lat"], dest_lon=gathering["lon"],
                             arrive_by=gathering["starts_at"], conn=conn)
        if not matches:
            return
        best = matches[0]
        self._suggestions.create(
            conn, household=household, kind="ride", key=f"ride:{gathering['id']}",
            title=f"Ride to {gathering['place']} with {best.driver}",
            message=f"Pickup {best.pickup_at[11:16]} at your street; "
            f"{best.seats_left} seat(s) left.",
            data={"gathering": gathering["id"], "place": gathering["place"], **best.marshal(),
                  "alternatives": [m.marshal() for m in matches[1:4]]},
        )

    def request(self, household: str, rid: str, actor: str, *,
                suggestion: str | None = None) -> dict[str, Any]:
        """Ask for a seat: booked with a pickup time, or waitlisted when the ride is full."""
        home = load_household(self._db, household)
        with self._ctx.uow.tx() as conn:
            lock_row(conn, "rides", rid)  # the seat count below must not race
            row = self._row(conn, rid)
            if row["community"] != home.community:
                raise NotFound(N_("no ride %(rid)s", rid=rid))
            if row["driver"] == household:
                raise Conflict(N_("you are driving this ride"))
            if row["state"] != "open":
                raise Conflict(N_("ride %(rid)s is %(state)s", rid=rid, state=row['state']))
            mine = conn.execute("SELECT status FROM ride_riders WHERE ride = ? AND household = ?",
                                (rid, household)).fetchone()
            if mine is not None and mine[0] in ("booked", "waitlisted"):
                return {**self.view(conn, row, household), "you": mine[0]}
            if suggestion:
                self._suggestions.mark(conn, household, suggestion, "accepted", actor,
                                       acted_ref=rid, expect_kind="ride",
                                       event={"object": "ride", "ride": rid})
            status = "booked" if self._booked(conn, rid) < row["seats"] else "waitlisted"
            self._put_rider(conn, row, home, status, actor)
            return {**self.view(conn, self._row(conn, rid), household), "you": status}

    def _put_rider(self, conn: sqlite3.Connection, row: sqlite3.Row, home: Household,
                   status: str, actor: str) -> None:
        uow = self._ctx.uow
        now = uow.now()
        pickup = arrive = None
        if home.lat is not None and home.lon is not None:
            depart = _parse(row["depart_earliest"])
            p = depart + timedelta(minutes=travel_minutes(haversine_km(
                row["origin_lat"], row["origin_lon"], home.lat, home.lon)))
            a = p + timedelta(minutes=travel_minutes(haversine_km(
                home.lat, home.lon, row["dest_lat"], row["dest_lon"])))
            pickup, arrive = iso_utc(p), iso_utc(a)
        pos = 0
        if status == "waitlisted":
            pos = conn.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM ride_riders"
                               " WHERE ride = ?", (row["id"],)).fetchone()[0]
        conn.execute(
            "INSERT INTO ride_riders (ride, household, status, position, pickup_at, pickup_label,"
            " arrive_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (ride, household) DO UPDATE SET status = excluded.status,"
            " position = excluded.position, pickup_at = excluded.pickup_at,"
            " arrive_at = excluded.arrive_at, updated_at = excluded.updated_at",
            (row["id"], home.id, status, pos, pickup, home.street, arrive, now, now),
        )
        uow.transition(conn, "ride-seat", f"{row['id']}/{home.id}", None, status, actor)
        if status == "booked":
            self._calendar.add(conn, household=home.id, kind="ride", ref=row["id"],
                               starts_at=pickup or row["depart_earliest"],
                               ends_at=arrive or row["depart_latest"],
                               title=f"Ride to {row['dest_label']}", actor=actor)
        # The driver sees the booking and where and when to pick the rider up.
        uow.outbox.add(conn, f"home/{row['driver']}/hub/rides/{row['id']}",
                       {"type": "rider", "ride": row["id"], "household": home.id,
                        "status": status, "pickup_at": pickup, "pickup_label": home.street})
        self._ctx.push(f"household:{row['driver']}",
                       {"type": "rider", "id": row["id"], "household": home.id,
                        "status": status, "pickup_at": pickup})
        self._ctx.emit("booked" if status == "booked" else "waitlisted", home.id, row["id"],
                       {"object": "ride", "pickup_at": pickup})

    def leave(self, household: str, rid: str, actor: str) -> dict[str, Any]:
        """A rider gives up a seat (the waitlist moves up); the driver cancels the ride."""
        with self._ctx.uow.tx() as conn:
            row = self._row(conn, rid)
            uow = self._ctx.uow
            if row["driver"] == household:
                if row["state"] != "open":
                    raise Conflict(N_("ride %(rid)s is %(state)s", rid=rid, state=row['state']))
                conn.execute("UPDATE rides SET state = 'cancelled', updated_at = ? WHERE id = ?",
                             (uow.now(), rid))
                uow.transition(conn, "ride", rid, "open", "cancelled", actor)
                for r in conn.execute("SELECT household FROM ride_riders WHERE ride = ? AND"
                                      " status IN ('booked', 'waitlisted')", (rid,)).fetchall():
                    self._drop(conn, row, r[0], actor, promote=False)
                    uow.outbox.add(conn, f"home/{r[0]}/hub/rides/{rid}",
                                   {"type": "cancelled", "ride": rid})
                    self._ctx.emit("cancelled", r[0], rid, {"object": "ride"})
                booking = self._calendar.by_ref(conn, household, rid)
                if booking is not None:
                    self._calendar.end(conn, booking, "cancelled", actor)
                return self.view(conn, self._row(conn, rid), household)
            mine = conn.execute("SELECT status FROM ride_riders WHERE ride = ? AND household = ?",
                                (rid, household)).fetchone()
            if mine is None:
                raise NotFound(N_("no ride %(rid)s", rid=rid))
            if mine[0] not in ("booked", "waitlisted"):
                raise Conflict(N_("your seat is already %(mine)s", mine=mine[0]))
            self._drop(conn, row, household, actor, promote=mine[0] == "booked")
            return self.view(conn, self._row(conn, rid), household)

    def _drop(self, conn: sqlite3.Connection, row: sqlite3.Row, household: str, actor: str,
              *, promote: bool) -> None:
        uow = self._ctx.uow
        conn.execute("UPDATE ride_riders SET status = 'cancelled', updated_at = ? WHERE ride = ?"
                     " AND household = ?", (uow.now(), row["id"], household))
        uow.transition(conn, "ride-seat", f"{row['id']}/{household}", None, "cancelled", actor)
        booking = self._calendar.by_ref(conn, household, row["id"])
        if booking is not None:
            self._calendar.end(conn, booking, "cancelled", actor)
        if not promote:
            return
        nxt = conn.execute("SELECT household FROM ride_riders WHERE ride = ? AND"
                           " status = 'waitlisted' ORDER BY position LIMIT 1",
                           (row["id"],)).fetchone()
        if nxt is not None:
            self._put_rider(conn, row, load_household(self._db, nxt[0]), "booked", actor)

    def page(self, household: str, *, cursor: str | None = None, limit: int = 50) -> Page:
        """Rides the household drives or rides in, soonest first."""
        after = decode_cursor(cursor)
        sql = ("SELECT * FROM rides WHERE (driver = ? OR id IN (SELECT ride FROM ride_riders"
               " WHERE household = ?))")
        args: list[Any] = [household, household]
        if after:
            sql += " AND (depart_earliest > ? OR (depart_earliest = ? AND id > ?))"
            args += [after[0], after[0], after[1]]
        sql += " ORDER BY depart_earliest, id LIMIT ?"
        args.append(limit + 1)
        with self._db.snapshot() as conn:
            rows = conn.execute(sql, args).fetchall()
            page = rows[:limit]
            riders = _riders_of(conn, [r["id"] for r in page])
            items = [self.view(conn, r, household, riders.get(r["id"], [])) for r in page]
        nxt = encode_cursor(rows[limit - 1]["depart_earliest"], rows[limit - 1]["id"]) if len(
            rows) > limit else None
        return Page(items=items, next_cursor=nxt)


_RIDER_KEYS = ("household", "status", "position", "pickup_at", "pickup_label", "arrive_at")
_RIDER_FIELDS = ", ".join(_RIDER_KEYS)


def _riders_of(conn: sqlite3.Connection, rids: list[str]) -> dict[str, list[sqlite3.Row]]:
    """The riders of a page of rides in one query (not one per ride)."""
    return children_of(conn, f"SELECT ride, {_RIDER_FIELDS} FROM ride_riders", "ride", rids,
                       order="ride, status, position, pickup_at")
