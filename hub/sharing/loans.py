"""Loans: request -> accept or decline -> handover confirmed by both -> return confirmed by
both (with a condition note) -> ratings both ways.

One calendar per thing: an accepted loan holds its period, so another request or accept
that overlaps it is refused with 409 naming the clashing period. Accepting first takes a
write lock on the thing's row (an UPDATE, portable to PostgreSQL) and then re-checks the
calendar inside the same transaction, so concurrent accepts have exactly one winner.
Accepted loans join both households' calendars (:class:`hub.offers.calendar.Calendar`):
the borrower holds the whole period, the owner the handover and the return.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

from hub.errors import Conflict, NotFound
from hub.i18n.words import N_
from hub.offers.calendar import Booking, Calendar
from hub.offers.context import Context
from hub.offers.pagination import Page, decode_cursor, encode_cursor
from hub.offers.problems import Unprocessable
from hub.offers.ratings import append_rating
from hub.offers.uow import loads, new_id
from hub.sharing.common import PeriodTaken, check_window, iso, member, notify, parse
from hub.sharing.reminders import Reminders
from hub.sharing.things import Things
from hub.sharing.wanted import Wanted

#: Statuses that hold a period in the thing's calendar.
HOLDING = ("accepted", "out")
#: How long the owner's handover and return entries last in the owner's calendar.
HANDOVER = timedelta(minutes=15)


class Loans:
    """The loan life cycle, scoped to its two households (404 for anyone else)."""

    def __init__(self, ctx: Context, things: Things, calendar: Calendar,
                 reminders: Reminders, wanted: Wanted) -> None:
        self._ctx = ctx
        self._db = ctx.uow.db
        self._things = things
        self._calendar = calendar
        self._reminders = reminders
        self._wanted = wanted

    # -- reading ----------------------------------------------------------------------

    def _loan(self, conn: sqlite3.Connection, lid: str, household: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM sharing_loans WHERE id = ?", (lid,)).fetchone()
        if row is None or household not in (row["owner"], row["borrower"]):
            raise NotFound(N_("no loan %(lid)s of yours", lid=lid))
        return row  # type: ignore[no-any-return]

    def view(self, conn: sqlite3.Connection, row: sqlite3.Row, viewer: str) -> dict[str, Any]:
        """A loan as one of its households sees it."""
        thing = conn.execute("SELECT title, pickup_place, owner FROM sharing_things WHERE"
                             " id = ?", (row["thing"],)).fetchone()
        owner = conn.execute("SELECT name, street FROM households WHERE id = ?",
                             (row["owner"],)).fetchone()
        borrower = conn.execute("SELECT name FROM households WHERE id = ?",
                                (row["borrower"],)).fetchone()
        place = None
        if row["status"] in HOLDING or viewer == row["owner"]:
            place = (thing["pickup_place"] or owner["street"]) if thing and owner else None
        rated = {r["household"]: r["stars"] for r in conn.execute(
            "SELECT household, stars FROM offer_ratings WHERE offer IN (?, ?)",
            (f"{row['id']}/{row['owner']}", f"{row['id']}/{row['borrower']}")).fetchall()}
        now = self._ctx.uow.now()
        return {
            "id": row["id"], "thing": {"id": row["thing"], "title": thing["title"] if thing
                                       else ""},
            "owner": row["owner"], "owner_name": owner["name"] if owner else "",
            "borrower": row["borrower"], "borrower_name": borrower["name"] if borrower else "",
            "role": "owner" if viewer == row["owner"] else "borrower",
            "start": row["starts_at"], "end": row["ends_at"], "status": row["status"],
            "message": row["message"], "pickup_place": place,
            "handover": {"owner": row["handover_owner"], "borrower": row["handover_borrower"]},
            "return": {"owner": row["return_owner"], "borrower": row["return_borrower"]},
            "condition_note": row["condition_note"], "problem": row["problem"] or None,
            "overdue": row["status"] == "out" and row["ends_at"] < now,
            "clash": self._clash(conn, row) if row["status"] == "requested" else None,
            "ratings": {"by_owner": rated.get(row["owner"]),
                        "by_borrower": rated.get(row["borrower"])},
            "wanted": row["wanted"], "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }

    def get(self, household: str, lid: str) -> dict[str, Any]:
        """One of the household's loans (as owner or borrower)."""
        with self._db.snapshot() as conn:
            return self.view(conn, self._loan(conn, lid, household), household)

    def page(self, household: str, *, role: str | None = None, status: str | None = None,
             thing: str | None = None, cursor: str | None = None, limit: int = 50) -> Page:
        """The household's loans, newest first; ``role`` is ``owner`` or ``borrower``."""
        if role not in (None, "owner", "borrower"):
            raise Unprocessable(N_("role must be owner or borrower"))
        sql = "SELECT * FROM sharing_loans WHERE "
        params: list[Any] = []
        if role is None:
            sql += "(owner = ? OR borrower = ?)"
            params += [household, household]
        else:
            sql += f"{role} = ?"
            params.append(household)
        if status:
            sql += " AND status = ?"
            params.append(status)
        if thing:
            sql += " AND thing = ?"
            params.append(thing)
        after = decode_cursor(cursor)
        if after:
            sql += " AND (created_at < ? OR (created_at = ? AND id > ?))"
            params += [after[0], after[0], after[1]]
        sql += " ORDER BY created_at DESC, id LIMIT ?"
        params.append(limit + 1)
        with self._db.snapshot() as conn:
            rows = conn.execute(sql, params).fetchall()
            items = [self.view(conn, r, household) for r in rows[:limit]]
        nxt = encode_cursor(rows[limit - 1]["created_at"], rows[limit - 1]["id"]) if len(
            rows) > limit else None
        return Page(items=items, next_cursor=nxt)

    # -- the thing's calendar ---------------------------------------------------------

    def _clash(self, conn: sqlite3.Connection, loan: sqlite3.Row) -> dict[str, Any] | None:
        found = self.clash_with(conn, loan["thing"], loan["starts_at"], loan["ends_at"],
                                exclude=loan["id"])
        return found

    def clash_with(self, conn: sqlite3.Connection, thing: str, start: str, end: str, *,
                   exclude: str | None = None) -> dict[str, Any] | None:
        """The accepted loan or blocked day that the period overlaps, if any."""
        row = conn.execute(
            "SELECT id, starts_at, ends_at FROM sharing_loans WHERE thing = ? AND status IN"
            " ('accepted', 'out') AND starts_at < ? AND ? < ends_at AND id <> ?"
            " ORDER BY starts_at LIMIT 1", (thing, end, start, exclude or "")).fetchone()
        if row is not None:
            return {"kind": "loan", "loan": row["id"], "start": row["starts_at"],
                    "end": row["ends_at"]}
        t = conn.execute("SELECT blocked_days FROM sharing_things WHERE id = ?",
                         (thing,)).fetchone()
        for day in loads(t["blocked_days"]) if t else []:
            day_start, day_end = f"{day}T00:00:00Z", _next_day(day)
            if start < day_end and day_start < end:
                return {"kind": "blocked-day", "day": day, "start": day_start, "end": day_end}
        return None

    def _refuse_clash(self, conn: sqlite3.Connection, thing: str, start: str, end: str,
                      exclude: str | None = None) -> None:
        clash = self.clash_with(conn, thing, start, end, exclude=exclude)
        if clash is None:
            return
        if clash["kind"] == "loan":
            raise PeriodTaken(N_("%(start)s/%(end)s overlaps the accepted loan %(loan)s (%(start2)s/%(end2)s)",
                                 start=start, end=end, loan=clash['loan'], start2=clash['start'],
                                 end2=clash['end']), clash)
        raise PeriodTaken(N_("%(start)s/%(end)s overlaps %(day)s, a day the owner blocked",
                             start=start, end=end, day=clash['day']),
                          clash)

    # -- the life cycle ---------------------------------------------------------------

    def request(self, borrower: str, tid: str, start: datetime, end: datetime, *,
                message: str = "", wanted: str | None = None, actor: str) -> dict[str, Any]:
        """Ask to borrow a thing for a period (201 ``requested``)."""
        me = member(self._db, borrower)
        uow = self._ctx.uow
        s, e = check_window(uow.now_dt(), start, end)
        with uow.tx() as conn:
            thing = self._things.row(conn, tid, me.community)
            if thing["owner"] == borrower:
                raise Conflict(N_("thing %(tid)s is yours: block days instead of borrowing it", tid=tid))
            if thing["mode"] != "lend":
                raise Conflict(N_("thing %(tid)s is to %(mode)s, not to lend", tid=tid, mode=thing['mode']))
            if thing["state"] != "available":
                raise Conflict(N_("thing %(tid)s is %(state)s", tid=tid, state=thing['state']))
            _check_length(thing, start, end)
            self._refuse_clash(conn, tid, s, e)
            lid = new_id("loan")
            now = uow.now()
            conn.execute(
                "INSERT INTO sharing_loans (id, thing, owner, borrower, starts_at, ends_at,"
                " status, message, wanted, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 'requested', ?, ?, ?, ?)",
                (lid, tid, thing["owner"], borrower, s, e, message, wanted, now, now))
            uow.transition(conn, "loan", lid, None, "requested", actor)
            notify(self._ctx, conn, thing["owner"], f"loans/{lid}",
                   {"type": "loan-requested", "loan": lid, "thing": tid,
                    "title": thing["title"], "borrower": borrower, "start": s, "end": e})
            return self.view(conn, self._loan(conn, lid, borrower), borrower)

    def accept(self, owner: str, lid: str, actor: str) -> dict[str, Any]:
        """The owner accepts: the period is held, both calendars get the loan."""
        uow = self._ctx.uow
        with uow.tx() as conn:
            row = self._loan(conn, lid, owner)
            if row["owner"] != owner:
                raise NotFound(N_("no loan %(lid)s of yours to accept", lid=lid))
            # Lock the thing's row first: concurrent accepts of one thing queue here.
            conn.execute("UPDATE sharing_things SET updated_at = ? WHERE id = ?",
                         (uow.now(), row["thing"]))
            row = self._loan(conn, lid, owner)
            if row["status"] != "requested":
                raise Conflict(N_("loan %(lid)s is %(status)s, not requested", lid=lid, status=row['status']))
            self._refuse_clash(conn, row["thing"], row["starts_at"], row["ends_at"],
                               exclude=lid)
            self._set(conn, row, "accepted", actor)
            thing = conn.execute("SELECT title FROM sharing_things WHERE id = ?",
                                 (row["thing"],)).fetchone()
            self._book(conn, row, thing["title"], actor)
            self._reminders.plan(conn, lid, row["starts_at"], row["ends_at"])
            if row["wanted"]:
                self._wanted.fulfil(conn, row["wanted"], actor)
            view = self.view(conn, self._loan(conn, lid, owner), row["borrower"])
            notify(self._ctx, conn, row["borrower"], f"loans/{lid}",
                   {"type": "loan-accepted", "loan": lid, "thing": row["thing"],
                    "title": thing["title"], "start": row["starts_at"], "end": row["ends_at"],
                    "pickup_place": view["pickup_place"]})
            return self.view(conn, self._loan(conn, lid, owner), owner)

    def decline(self, owner: str, lid: str, reason: str, actor: str) -> dict[str, Any]:
        """The owner declines a request."""
        with self._ctx.uow.tx() as conn:
            row = self._loan(conn, lid, owner)
            if row["owner"] != owner:
                raise NotFound(N_("no loan %(lid)s of yours to decline", lid=lid))
            if row["status"] != "requested":
                raise Conflict(N_("loan %(lid)s is %(status)s, not requested", lid=lid, status=row['status']))
            self._set(conn, row, "declined", actor, note=reason)
            notify(self._ctx, conn, row["borrower"], f"loans/{lid}",
                   {"type": "loan-declined", "loan": lid, "thing": row["thing"],
                    "reason": reason})
            return self.view(conn, self._loan(conn, lid, owner), owner)

    def cancel(self, household: str, lid: str, reason: str, actor: str) -> dict[str, Any]:
        """Either side cancels before the handover; the period and the calendars free up."""
        with self._ctx.uow.tx() as conn:
            row = self._loan(conn, lid, household)
            if row["status"] not in ("requested", "accepted"):
                raise Conflict(N_("loan %(lid)s is %(status)s: only a requested or accepted loan can be cancelled",
                                  lid=lid, status=row['status']))
            self._set(conn, row, "cancelled", actor, note=reason)
            self._unbook(conn, lid, "cancelled", actor)
            self._reminders.drop(conn, lid)
            other = row["owner"] if household == row["borrower"] else row["borrower"]
            notify(self._ctx, conn, other, f"loans/{lid}",
                   {"type": "loan-cancelled", "loan": lid, "thing": row["thing"],
                    "by": household, "reason": reason})
            return self.view(conn, self._loan(conn, lid, household), household)

    def handover(self, household: str, lid: str, actor: str) -> dict[str, Any]:
        """One side confirms the handover; with both confirmations the thing is out."""
        uow = self._ctx.uow
        with uow.tx() as conn:
            row = self._loan(conn, lid, household)
            if row["status"] != "accepted":
                raise Conflict(N_("loan %(lid)s is %(status)s: a handover needs an accepted loan",
                                  lid=lid, status=row['status']))
            column = "handover_owner" if household == row["owner"] else "handover_borrower"
            if row[column] is None:
                conn.execute(f"UPDATE sharing_loans SET {column} = ?, updated_at = ? WHERE"
                             " id = ?", (uow.now(), uow.now(), lid))
            row = self._loan(conn, lid, household)
            if row["handover_owner"] and row["handover_borrower"]:
                self._set(conn, row, "out", actor)
            self._tell_other(conn, row, household, "loan-handover")
            return self.view(conn, self._loan(conn, lid, household), household)

    def return_(self, household: str, lid: str, condition_note: str, actor: str
                ) -> dict[str, Any]:
        """One side confirms the return (with a condition note); with both it is returned."""
        uow = self._ctx.uow
        with uow.tx() as conn:
            row = self._loan(conn, lid, household)
            if row["status"] != "out":
                raise Conflict(N_("loan %(lid)s is %(status)s: only a loan that is out can be returned",
                                  lid=lid, status=row['status']))
            column = "return_owner" if household == row["owner"] else "return_borrower"
            note = row["condition_note"]
            if condition_note:
                who = "owner" if household == row["owner"] else "borrower"
                note = (note + "\n" if note else "") + f"{who}: {condition_note}"
            conn.execute(f"UPDATE sharing_loans SET {column} = COALESCE({column}, ?),"
                         " condition_note = ?, updated_at = ? WHERE id = ?",
                         (uow.now(), note, uow.now(), lid))
            row = self._loan(conn, lid, household)
            if row["return_owner"] and row["return_borrower"]:
                self._set(conn, row, "returned", actor)
                self._unbook(conn, lid, "fulfilled", actor)
                self._reminders.drop(conn, lid)
            self._tell_other(conn, row, household, "loan-return")
            return self.view(conn, self._loan(conn, lid, household), household)

    def extend(self, household: str, lid: str, end: datetime, actor: str) -> dict[str, Any]:
        """Move the end of an accepted or running loan later, if the thing is free then."""
        uow = self._ctx.uow
        with uow.tx() as conn:
            row = self._loan(conn, lid, household)
            if row["status"] not in HOLDING:
                raise Conflict(N_("loan %(lid)s is %(status)s: only an accepted or running loan can be extended",
                                  lid=lid, status=row['status']))
            new_end = iso(end)
            if new_end <= row["ends_at"]:
                raise Unprocessable(N_("the new end %(new_end)s is not after the current end %(ends_at)s",
                                       new_end=new_end, ends_at=row['ends_at']))
            conn.execute("UPDATE sharing_things SET updated_at = ? WHERE id = ?",
                         (uow.now(), row["thing"]))
            thing = conn.execute("SELECT * FROM sharing_things WHERE id = ?",
                                 (row["thing"],)).fetchone()
            _check_length(thing, parse(row["starts_at"]), end)
            self._refuse_clash(conn, row["thing"], row["ends_at"], new_end, exclude=lid)
            old_end = row["ends_at"]
            conn.execute("UPDATE sharing_loans SET ends_at = ?, updated_at = ? WHERE id = ?",
                         (new_end, uow.now(), lid))
            uow.transition(conn, "loan", lid, row["status"], row["status"], actor,
                           note=f"extended {old_end} -> {new_end}")
            self._move_bookings(conn, lid, old_end, new_end, actor)
            self._reminders.plan(conn, lid, row["starts_at"], new_end)
            row = self._loan(conn, lid, household)
            self._tell_other(conn, row, household, "loan-extended")
            return self.view(conn, row, household)

    def report_problem(self, household: str, lid: str, text: str, actor: str
                       ) -> dict[str, Any]:
        """Record a problem (damage, no-show, late) and tell the other side."""
        uow = self._ctx.uow
        with uow.tx() as conn:
            row = self._loan(conn, lid, household)
            if row["status"] not in ("accepted", "out", "returned"):
                raise Conflict(N_("loan %(lid)s is %(status)s: nothing to report on", lid=lid, status=row['status']))
            conn.execute("UPDATE sharing_loans SET problem = ?, updated_at = ? WHERE id = ?",
                         (text, uow.now(), lid))
            uow.transition(conn, "loan", lid, row["status"], row["status"], actor,
                           note=f"problem: {text}")
            self._tell_other(conn, self._loan(conn, lid, household), household,
                             "loan-problem", problem=text)
            return self.view(conn, self._loan(conn, lid, household), household)

    def rate(self, household: str, lid: str, stars: int, comment: str, actor: str
             ) -> dict[str, Any]:
        """Rate the other side of a returned loan, once (into the hash-chained ratings)."""
        uow = self._ctx.uow
        with uow.tx() as conn:
            row = self._loan(conn, lid, household)
            if row["status"] != "returned":
                raise Conflict(N_("loan %(lid)s is %(status)s: rate it once it is returned",
                                  lid=lid, status=row['status']))
            key = f"{lid}/{household}"
            if conn.execute("SELECT 1 FROM offer_ratings WHERE offer = ?", (key,)).fetchone():
                raise Conflict(N_("you already rated loan %(lid)s: ratings are append-only", lid=lid))
            other = row["owner"] if household == row["borrower"] else row["borrower"]
            rating = append_rating(conn, household=household, subject=other, offer=key,
                                   stars=stars, comment=comment, at=uow.now())
            uow.transition(conn, "loan", lid, "returned", "returned", actor,
                           note=f"rated {other} {stars}/5")
            notify(self._ctx, conn, other, f"loans/{lid}",
                   {"type": "loan-rated", "loan": lid, "by": household, "stars": stars})
            return {k: rating[k] for k in ("id", "household", "subject", "offer", "stars",
                                            "comment", "created_at", "prev_hash", "hash")}

    # -- helpers ----------------------------------------------------------------------

    def _set(self, conn: sqlite3.Connection, row: sqlite3.Row, status: str, actor: str,
             note: str = "") -> None:
        conn.execute("UPDATE sharing_loans SET status = ?, updated_at = ? WHERE id = ?",
                     (status, self._ctx.uow.now(), row["id"]))
        self._ctx.uow.transition(conn, "loan", row["id"], row["status"], status, actor,
                                 note=note)

    def _tell_other(self, conn: sqlite3.Connection, row: sqlite3.Row, household: str,
                    kind: str, **extra: Any) -> None:
        other = row["owner"] if household == row["borrower"] else row["borrower"]
        body = {"type": kind, "loan": row["id"], "thing": row["thing"], "by": household,
                "status": row["status"], "start": row["starts_at"], "end": row["ends_at"],
                **extra}
        notify(self._ctx, conn, other, f"loans/{row['id']}", body)
        self._ctx.push(f"household:{household}", {**body, "type": f"sharing.{kind}"})

    def _book(self, conn: sqlite3.Connection, row: sqlite3.Row, title: str, actor: str
              ) -> None:
        start, end = row["starts_at"], row["ends_at"]
        names = {r["id"]: r["name"] for r in conn.execute(
            "SELECT id, name FROM households WHERE id IN (?, ?)",
            (row["owner"], row["borrower"])).fetchall()}
        self._calendar.add(conn, household=row["borrower"], kind="loan", ref=row["id"],
                           starts_at=start, ends_at=end, actor=actor,
                           title=f"Borrowing {title} from {names.get(row['owner'], '')}")
        who = names.get(row["borrower"], "")
        for label, (s, e) in _owner_windows(start, end).items():
            self._calendar.add(conn, household=row["owner"], kind="lend", ref=row["id"],
                               starts_at=s, ends_at=e, actor=actor,
                               title=f"{label} {title} {'to' if label == 'Hand over' else 'from'}"
                               f" {who}")

    def _bookings(self, conn: sqlite3.Connection, lid: str) -> list[Booking]:
        return [Booking.from_row(r) for r in conn.execute(
            "SELECT * FROM offer_bookings WHERE ref = ? AND state = 'active' ORDER BY"
            " starts_at, id", (lid,)).fetchall()]

    def _unbook(self, conn: sqlite3.Connection, lid: str, state: str, actor: str) -> None:
        for booking in self._bookings(conn, lid):
            self._calendar.end(conn, booking, state, actor)

    def _move_bookings(self, conn: sqlite3.Connection, lid: str, old_end: str, new_end: str,
                       actor: str) -> None:
        delta = parse(new_end) - parse(old_end)
        for b in self._bookings(conn, lid):
            if b.kind == "loan":
                self._calendar.move(conn, b, starts_at=b.starts_at, ends_at=new_end,
                                    slot=None, actor=actor)
            elif b.ends_at == old_end:  # the owner's return entry moves with the end
                self._calendar.move(conn, b, starts_at=iso(parse(b.starts_at) + delta),
                                    ends_at=new_end, slot=None, actor=actor)


def _owner_windows(start: str, end: str) -> dict[str, tuple[str, str]]:
    """The owner's calendar entries: the handover at the start, the return at the end."""
    s, e = parse(start), parse(end)
    if e - s <= 2 * HANDOVER:
        return {"Lend": (start, end)}
    return {"Hand over": (start, iso(s + HANDOVER)), "Take back": (iso(e - HANDOVER), end)}


def _next_day(day: str) -> str:
    return iso(datetime.fromisoformat(f"{day}T00:00:00+00:00") + timedelta(days=1))


def _check_length(thing: sqlite3.Row, start: datetime, end: datetime) -> None:
    max_days = loads(thing["terms"]).get("max_days")
    if max_days and end - start > timedelta(days=int(max_days)):
        raise Unprocessable(N_("thing %(id)s is lent for at most %(max_days)s days", id=thing['id'], max_days=max_days))
