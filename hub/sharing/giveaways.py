"""Give-aways: first come, or a draw among claimants at a deadline; the winner picks the
thing up by a pickup deadline, after which the next claimant gets it.

Claims are ordered by ``position``. At most one claim is ``won`` at a time; the others
wait. :meth:`Giveaways.run_due` (the hub's periodic runner) holds the draws whose time
came and passes a thing on when its winner's pickup deadline passed.
"""

from __future__ import annotations

import secrets
import sqlite3
from datetime import timedelta
from typing import Any

from hub.errors import Conflict, NotFound
from hub.i18n.words import N_
from hub.offers.context import Context
from hub.sharing.common import iso, member, notify
from hub.sharing.things import Things


class Giveaways:
    """Claim, withdraw, hand over; draws and lapsed pickups."""

    def __init__(self, ctx: Context, things: Things) -> None:
        self._ctx = ctx
        self._db = ctx.uow.db
        self._things = things
        self._random = secrets.SystemRandom()

    def claims(self, viewer: str, tid: str) -> dict[str, Any]:
        """The claims of a give-away: all of them for its owner, one's own for others."""
        me = member(self._db, viewer)
        with self._db.snapshot() as conn:
            thing = self._things.row(conn, tid, me.community)
            if thing["mode"] != "give":
                raise Conflict(N_("thing %(tid)s is to %(mode)s, not a give-away", tid=tid, mode=thing['mode']))
            return self._view(conn, thing, viewer)

    def _view(self, conn: sqlite3.Connection, thing: sqlite3.Row, viewer: str
              ) -> dict[str, Any]:
        rows = conn.execute("SELECT * FROM sharing_claims WHERE thing = ? ORDER BY position",
                            (thing["id"],)).fetchall()
        mine = [r for r in rows if r["household"] == viewer]
        shown = rows if viewer == thing["owner"] else mine
        return {
            "thing": thing["id"], "title": thing["title"], "policy": thing["give_policy"],
            "claim_until": thing["claim_until"], "state": thing["state"],
            "claimants": len([r for r in rows if r["status"] in ("waiting", "won")]),
            "you": mine[0]["status"] if mine else None,
            "claims": [{"household": r["household"], "position": r["position"],
                        "status": r["status"], "pickup_by": r["pickup_by"],
                        "created_at": r["created_at"]} for r in shown],
        }

    def claim(self, household: str, tid: str, actor: str) -> dict[str, Any]:
        """Claim a give-away: the first claimant wins at once, unless it goes by draw."""
        me = member(self._db, household)
        uow = self._ctx.uow
        with uow.tx() as conn:
            conn.execute("UPDATE sharing_things SET updated_at = updated_at WHERE id = ?",
                         (tid,))  # serialise claims of one thing (a row lock)
            thing = self._things.row(conn, tid, me.community)
            if thing["mode"] != "give":
                raise Conflict(N_("thing %(tid)s is to %(mode)s, not a give-away", tid=tid, mode=thing['mode']))
            if thing["owner"] == household:
                raise Conflict(N_("thing %(tid)s is yours", tid=tid))
            if thing["state"] != "available":
                raise Conflict(N_("thing %(tid)s is %(state)s", tid=tid, state=thing['state']))
            now = uow.now()
            if thing["give_policy"] == "draw" and thing["claim_until"] and \
                    thing["claim_until"] <= now:
                raise Conflict(N_("the draw for thing %(tid)s was held at %(claim_until)s",
                                  tid=tid, claim_until=thing['claim_until']))
            if conn.execute("SELECT 1 FROM sharing_claims WHERE thing = ? AND household = ?",
                            (tid, household)).fetchone():
                return self._view(conn, thing, household)
            pos = conn.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM sharing_claims"
                               " WHERE thing = ?", (tid,)).fetchone()[0]
            conn.execute("INSERT INTO sharing_claims (thing, household, position, status,"
                         " created_at, updated_at) VALUES (?, ?, ?, 'waiting', ?, ?)",
                         (tid, household, pos, now, now))
            uow.transition(conn, "claim", f"{tid}/{household}", None, "waiting", actor)
            notify(self._ctx, conn, thing["owner"], f"things/{tid}",
                   {"type": "giveaway-claimed", "thing": tid, "title": thing["title"],
                    "by": household, "position": pos})
            if thing["give_policy"] == "first_come" and not self._winner(conn, tid):
                self._award(conn, thing, household, actor)
            return self._view(conn, self._things.row(conn, tid, me.community), household)

    def withdraw(self, household: str, tid: str, actor: str) -> dict[str, Any]:
        """Withdraw one's claim; a winner's withdrawal passes the thing on."""
        me = member(self._db, household)
        with self._ctx.uow.tx() as conn:
            thing = self._things.row(conn, tid, me.community)
            row = conn.execute("SELECT status FROM sharing_claims WHERE thing = ? AND"
                               " household = ?", (tid, household)).fetchone()
            if row is None or row["status"] not in ("waiting", "won"):
                raise NotFound(N_("no open claim of yours on thing %(tid)s", tid=tid))
            self._set(conn, tid, household, "withdrawn", actor)
            if row["status"] == "won":
                self._pass_on(conn, thing, actor)
            return self._view(conn, thing, household)

    def handed_over(self, owner: str, tid: str, actor: str) -> dict[str, Any]:
        """The owner confirms the winner collected it: the thing is given."""
        me = member(self._db, owner)
        with self._ctx.uow.tx() as conn:
            thing = self._things.owned(conn, tid, owner)
            winner = self._winner(conn, tid)
            if winner is None:
                raise Conflict(N_("nobody has won thing %(tid)s yet", tid=tid))
            self._set(conn, tid, winner, "collected", actor)
            self._things.set_state(conn, tid, "given", actor, note=f"to {winner}")
            notify(self._ctx, conn, winner, f"things/{tid}",
                   {"type": "giveaway-collected", "thing": tid, "title": thing["title"]})
            return self._view(conn, self._things.row(conn, tid, me.community), owner)

    def run_due(self) -> list[str]:
        """Hold due draws and pass on lapsed pickups; return the things that changed."""
        uow = self._ctx.uow
        now = uow.now()
        changed: list[str] = []
        with uow.tx() as conn:
            draws = conn.execute(
                "SELECT * FROM sharing_things WHERE mode = 'give' AND state = 'available'"
                " AND give_policy = 'draw' AND claim_until <= ?", (now,)).fetchall()
            for thing in draws:
                if self._winner(conn, thing["id"]) is None and self._waiting(conn, thing["id"]):
                    self._pass_on(conn, thing, "hub", draw=True)
                    changed.append(thing["id"])
            lapsed = conn.execute(
                "SELECT c.household, t.* FROM sharing_claims c JOIN sharing_things t ON"
                " t.id = c.thing WHERE c.status = 'won' AND c.pickup_by <= ? AND"
                " t.state = 'available'", (now,)).fetchall()
            for row in lapsed:
                self._set(conn, row["id"], row["household"], "lapsed", "hub")
                notify(self._ctx, conn, row["household"], f"things/{row['id']}",
                       {"type": "giveaway-lapsed", "thing": row["id"], "title": row["title"]})
                self._pass_on(conn, row, "hub")
                changed.append(row["id"])
        return changed

    # -- helpers ----------------------------------------------------------------------

    def _winner(self, conn: sqlite3.Connection, tid: str) -> str | None:
        row = conn.execute("SELECT household FROM sharing_claims WHERE thing = ? AND"
                           " status = 'won'", (tid,)).fetchone()
        return str(row["household"]) if row else None

    def _waiting(self, conn: sqlite3.Connection, tid: str) -> list[str]:
        return [r["household"] for r in conn.execute(
            "SELECT household FROM sharing_claims WHERE thing = ? AND status = 'waiting'"
            " ORDER BY position", (tid,)).fetchall()]

    def _pass_on(self, conn: sqlite3.Connection, thing: sqlite3.Row, actor: str, *,
                 draw: bool = False) -> None:
        waiting = self._waiting(conn, thing["id"])
        if not waiting:
            notify(self._ctx, conn, thing["owner"], f"things/{thing['id']}",
                   {"type": "giveaway-unclaimed", "thing": thing["id"],
                    "title": thing["title"]})
            return
        chosen = self._random.choice(waiting) if draw else waiting[0]
        self._award(conn, thing, chosen, actor)

    def _award(self, conn: sqlite3.Connection, thing: sqlite3.Row, household: str,
               actor: str) -> None:
        uow = self._ctx.uow
        # The owner's own deadline ("by Monday evening") while it lies ahead, else hours.
        until = thing["pickup_until"]
        pickup_by = until if until and until > uow.now() else \
            iso(uow.now_dt() + timedelta(hours=int(thing["pickup_hours"])))
        conn.execute("UPDATE sharing_claims SET status = 'won', pickup_by = ?, updated_at = ?"
                     " WHERE thing = ? AND household = ?",
                     (pickup_by, uow.now(), thing["id"], household))
        uow.transition(conn, "claim", f"{thing['id']}/{household}", "waiting", "won", actor)
        owner = conn.execute("SELECT street FROM households WHERE id = ?",
                             (thing["owner"],)).fetchone()
        notify(self._ctx, conn, household, f"things/{thing['id']}",
               {"type": "giveaway-won", "thing": thing["id"], "title": thing["title"],
                "pickup_by": pickup_by,
                "pickup_place": thing["pickup_place"] or (owner["street"] if owner else "")})
        notify(self._ctx, conn, thing["owner"], f"things/{thing['id']}",
               {"type": "giveaway-winner", "thing": thing["id"], "title": thing["title"],
                "winner": household, "pickup_by": pickup_by})

    def _set(self, conn: sqlite3.Connection, tid: str, household: str, status: str,
             actor: str) -> None:
        old = conn.execute("SELECT status FROM sharing_claims WHERE thing = ? AND"
                           " household = ?", (tid, household)).fetchone()
        conn.execute("UPDATE sharing_claims SET status = ?, updated_at = ? WHERE thing = ? AND"
                     " household = ?", (status, self._ctx.uow.now(), tid, household))
        self._ctx.uow.transition(conn, "claim", f"{tid}/{household}",
                                 old["status"] if old else None, status, actor)
