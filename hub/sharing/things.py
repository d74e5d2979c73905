"""Things a household lists to lend, give away or swap, and the community's library.

A thing belongs to one household and is seen only inside its community (404 elsewhere).
Where it is picked up is shown at street level (the owner's street) until a loan, claim or
swap of the viewer's is accepted; then the viewer sees the exact pickup place.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from hub.errors import Conflict, NotFound
from hub.i18n.words import N_
from hub.offers.context import Context
from hub.offers.directory import Household
from hub.offers.geo import haversine_km
from hub.offers.pagination import Page
from hub.offers.problems import Unprocessable
from hub.offers.uow import dumps, loads, new_id
from hub.sharing.common import member

MODES = ("lend", "give", "swap")
CATEGORIES = ("tools", "garden", "kitchen", "cleaning", "kids", "sports", "electronics",
              "books", "household", "vehicles", "other")
CONDITIONS = ("new", "good", "fair", "worn")
GIVE_POLICIES = ("first_come", "draw")
#: Loan statuses and claim/swap statuses after which the other side sees the exact place.
_PLACE_LOANS = ("accepted", "out")


@dataclass(frozen=True, slots=True, kw_only=True)
class Terms:
    """On what terms a thing is shared.

    ``timebank_hours`` is recorded and shown; it is charged once the time bank exists.
    """

    free: bool = True
    timebank_hours: float | None = None
    deposit: str = ""
    max_days: int | None = None

    def marshal(self) -> dict[str, Any]:
        return {"free": self.free, "timebank_hours": self.timebank_hours,
                "deposit": self.deposit, "max_days": self.max_days}


@dataclass(frozen=True, slots=True, kw_only=True)
class NewThing:
    """What a household says about a thing it lists."""

    title: str
    category: str = "other"
    description: str = ""
    condition: str = "good"
    mode: str = "lend"
    terms: Terms = field(default_factory=Terms)
    blocked_days: tuple[str, ...] = ()
    pickup_place: str = ""
    give_policy: str = "first_come"
    claim_until: str | None = None
    pickup_hours: int = 48
    pickup_until: str | None = None
    device: str | None = None
    suggestion: str | None = None


def _like(word: str) -> str:
    escaped = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def text_clause(q: str, prefix: str = "") -> tuple[str, list[str]]:
    """SQL matching every word of ``q`` in a thing's title, description or category."""
    parts, args = [], []
    for word in q.split()[:8]:
        parts.append(f"(LOWER({prefix}title) LIKE ? ESCAPE '\\' OR LOWER({prefix}description)"
                     f" LIKE ? ESCAPE '\\' OR LOWER({prefix}category) LIKE ? ESCAPE '\\')")
        args += [_like(word)] * 3
    return (" AND ".join(parts) or "1 = 1"), args


class Things:
    """List, change, withdraw and find things."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._db = ctx.uow.db

    # -- reading ----------------------------------------------------------------------

    def row(self, conn: sqlite3.Connection, tid: str, community: str) -> sqlite3.Row:
        """The thing if it is of ``community``; NotFound saying so otherwise."""
        row = conn.execute("SELECT * FROM sharing_things WHERE id = ?", (tid,)).fetchone()
        if row is None or row["community"] != community:
            raise NotFound(N_("no thing %(tid)s in your community", tid=tid))
        return row  # type: ignore[no-any-return]

    def owned(self, conn: sqlite3.Connection, tid: str, owner: str) -> sqlite3.Row:
        """The owner's thing; NotFound for anyone else's."""
        row = conn.execute("SELECT * FROM sharing_things WHERE id = ? AND owner = ?",
                           (tid, owner)).fetchone()
        if row is None:
            raise NotFound(N_("no thing %(tid)s of yours", tid=tid))
        return row  # type: ignore[no-any-return]

    def _sees_place(self, conn: sqlite3.Connection, row: sqlite3.Row, viewer: str) -> bool:
        if viewer == row["owner"]:
            return True
        marks = ",".join("?" * len(_PLACE_LOANS))
        if conn.execute(f"SELECT 1 FROM sharing_loans WHERE thing = ? AND borrower = ? AND"
                        f" status IN ({marks})", (row["id"], viewer, *_PLACE_LOANS)).fetchone():
            return True
        if conn.execute("SELECT 1 FROM sharing_claims WHERE thing = ? AND household = ? AND"
                        " status = 'won'", (row["id"], viewer)).fetchone():
            return True
        return conn.execute("SELECT 1 FROM sharing_swaps WHERE (thing = ? OR offered = ?) AND"
                            " (proposer = ? OR owner = ?) AND status = 'accepted'",
                            (row["id"], row["id"], viewer, viewer)).fetchone() is not None

    def view(self, conn: sqlite3.Connection, row: sqlite3.Row, viewer: Household
             ) -> dict[str, Any]:
        """The thing as ``viewer`` may see it."""
        owner = conn.execute("SELECT name, street, lat, lon FROM households WHERE id = ?",
                             (row["owner"],)).fetchone()
        distance = None
        if owner and None not in (owner["lat"], owner["lon"], viewer.lat, viewer.lon):
            distance = round(haversine_km(owner["lat"], owner["lon"], viewer.lat or 0.0,
                                          viewer.lon or 0.0), 2)
        exact = self._sees_place(conn, row, viewer.id)
        photos = [{"id": p["id"], "url": f"/things/{row['id']}/photos/{p['id']}",
                   "media_type": p["media_type"], "width": p["width"], "height": p["height"]}
                  for p in conn.execute("SELECT * FROM sharing_photos WHERE thing = ?"
                                        " ORDER BY created_at, id", (row["id"],)).fetchall()]
        out: dict[str, Any] = {
            "id": row["id"], "title": row["title"], "category": row["category"],
            "description": row["description"], "condition": row["condition"],
            "mode": row["mode"], "terms": loads(row["terms"]),
            "blocked_days": loads(row["blocked_days"]) or [], "state": row["state"],
            "owner": row["owner"], "owner_name": owner["name"] if owner else "",
            "mine": row["owner"] == viewer.id, "photos": photos, "distance_km": distance,
            "pickup": {"level": "exact" if exact else "street",
                       "street": _street(owner["street"] if owner else ""),
                       "place": (row["pickup_place"] or (owner["street"] if owner else ""))
                       if exact else None},
            "device": row["device"] if row["owner"] == viewer.id else None,
            "created_at": row["created_at"], "updated_at": row["updated_at"],
        }
        if row["mode"] == "give":
            out["give"] = {"policy": row["give_policy"], "claim_until": row["claim_until"],
                           "pickup_hours": row["pickup_hours"],
                           "pickup_until": row["pickup_until"]}
        return out

    def get(self, viewer: str, tid: str) -> dict[str, Any]:
        """A thing of the viewer's community."""
        me = member(self._db, viewer)
        with self._db.snapshot() as conn:
            return self.view(conn, self.row(conn, tid, me.community), me)

    def search(self, viewer: str, *, q: str = "", category: str | None = None,
               mode: str | None = None, max_km: float | None = None, mine: bool = False,
               include_withdrawn: bool = False, offset: int = 0, limit: int = 50) -> Page:
        """Things of the viewer's community matching every word of ``q``, newest first."""
        me = member(self._db, viewer)
        where, args = text_clause(q)
        sql = f"SELECT * FROM sharing_things WHERE community = ? AND {where}"
        params: list[Any] = [me.community, *args]
        if not include_withdrawn:
            sql += " AND state = 'available'"
        if category:
            sql += " AND category = ?"
            params.append(category)
        if mode:
            sql += " AND mode = ?"
            params.append(mode)
        if mine:
            sql += " AND owner = ?"
            params.append(viewer)
        sql += " ORDER BY created_at DESC, id"
        with self._db.snapshot() as conn:
            views = [self.view(conn, r, me) for r in conn.execute(sql, params).fetchall()]
        if max_km is not None:
            views = [v for v in views if v["distance_km"] is not None
                     and v["distance_km"] <= max_km]
        page = views[offset:offset + limit]
        more = len(views) > offset + limit
        return Page(items=page, next_cursor=str(offset + limit) if more else None)

    # -- changing ---------------------------------------------------------------------

    def create(self, owner: str, new: NewThing, actor: str) -> dict[str, Any]:
        """List a thing (available at once)."""
        _validate(new)
        me = member(self._db, owner)
        uow = self._ctx.uow
        with uow.tx() as conn:
            tid = new_id("thg")
            now = uow.now()
            conn.execute(
                "INSERT INTO sharing_things (id, community, owner, title, category, description,"
                " condition, mode, terms, blocked_days, pickup_place, state, give_policy,"
                " claim_until, pickup_hours, pickup_until, device, suggestion, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'available', ?, ?, ?, ?,"
                " ?, ?, ?, ?)",
                (tid, me.community, owner, new.title.strip(), new.category, new.description,
                 new.condition, new.mode, dumps(new.terms.marshal()),
                 dumps(sorted(set(new.blocked_days))), new.pickup_place, new.give_policy,
                 new.claim_until, new.pickup_hours, new.pickup_until, new.device, new.suggestion, now, now))
            uow.transition(conn, "thing", tid, None, "available", actor)
            row = self.owned(conn, tid, owner)
            self._ctx.push(f"community:{me.community}", {"type": "sharing.thing", "id": tid,
                                                         "title": row["title"],
                                                         "mode": new.mode})
            return self.view(conn, row, me)

    def update(self, owner: str, tid: str, changes: dict[str, Any], actor: str
               ) -> dict[str, Any]:
        """Change a thing's description, terms or blocked days (owner only)."""
        me = member(self._db, owner)
        allowed = {"title", "category", "description", "condition", "terms", "blocked_days",
                   "pickup_place"}
        unknown = set(changes) - allowed
        if unknown:
            raise Unprocessable(N_("cannot change %(fields)s", fields=', '.join(sorted(unknown))))
        uow = self._ctx.uow
        with uow.tx() as conn:
            row = self.owned(conn, tid, owner)
            values = {k: row[k] for k in allowed}
            for key, value in changes.items():
                if key == "terms":
                    value = dumps(value.marshal() if isinstance(value, Terms) else value)
                elif key == "blocked_days":
                    value = dumps(sorted(set(value)))
                values[key] = value
            if not str(values["title"]).strip():
                raise Unprocessable(N_("title: a thing needs a title"))
            conn.execute(
                "UPDATE sharing_things SET title = ?, category = ?, description = ?,"
                " condition = ?, terms = ?, blocked_days = ?, pickup_place = ?, updated_at = ?"
                " WHERE id = ?",
                (str(values["title"]).strip(), values["category"], values["description"],
                 values["condition"], values["terms"], values["blocked_days"],
                 values["pickup_place"], uow.now(), tid))
            uow.transition(conn, "thing", tid, row["state"], row["state"], actor,
                           note="changed " + ", ".join(sorted(changes)))
            return self.view(conn, self.owned(conn, tid, owner), me)

    def withdraw(self, owner: str, tid: str, actor: str) -> dict[str, Any]:
        """Take a thing off the library; refused while a loan is accepted or out."""
        me = member(self._db, owner)
        uow = self._ctx.uow
        with uow.tx() as conn:
            row = self.owned(conn, tid, owner)
            busy = conn.execute("SELECT id, status FROM sharing_loans WHERE thing = ? AND"
                                " status IN ('accepted', 'out')", (tid,)).fetchone()
            if busy is not None:
                raise Conflict(N_("loan %(id)s is %(status)s: finish or cancel it first",
                                  id=busy['id'], status=busy['status']))
            if row["state"] != "withdrawn":
                conn.execute("UPDATE sharing_things SET state = 'withdrawn', updated_at = ?"
                             " WHERE id = ?", (uow.now(), tid))
                uow.transition(conn, "thing", tid, row["state"], "withdrawn", actor)
            return self.view(conn, self.owned(conn, tid, owner), me)

    def set_state(self, conn: sqlite3.Connection, tid: str, state: str, actor: str,
                  note: str = "") -> None:
        """Move a thing to ``state`` (given, swapped) inside the caller's transaction."""
        row = conn.execute("SELECT state FROM sharing_things WHERE id = ?", (tid,)).fetchone()
        conn.execute("UPDATE sharing_things SET state = ?, updated_at = ? WHERE id = ?",
                     (state, self._ctx.uow.now(), tid))
        self._ctx.uow.transition(conn, "thing", tid, row["state"] if row else None, state,
                                 actor, note=note)


def _street(address: str) -> str:
    """The street of an address without its house number ("Mill Lane 3" -> "Mill Lane")."""
    words = address.split()
    while words and any(ch.isdigit() for ch in words[-1]):
        words.pop()
    return " ".join(words) or address


def _validate(new: NewThing) -> None:
    if not new.title.strip():
        raise Unprocessable(N_("title: a thing needs a title"))
    if new.mode not in MODES:
        raise Unprocessable(N_("mode must be one of %(modes)s, not %(mode)r", modes=', '.join(MODES), mode=new.mode))
    if new.give_policy not in GIVE_POLICIES:
        raise Unprocessable(N_("give_policy must be one of %(policies)s", policies=', '.join(GIVE_POLICIES)))
    if new.give_policy == "draw" and not new.claim_until:
        raise Unprocessable(N_("a draw needs claim_until: when the draw among claimants happens"))
