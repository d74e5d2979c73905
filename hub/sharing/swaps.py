"""Swaps: a household proposes one of its things for a thing listed to swap.

proposed -> accepted | declined | withdrawn. Accepting marks both things ``swapped``,
declines every other open proposal on either thing, and lets both sides see the exact
pickup places.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.errors import Conflict, NotFound
from hub.i18n.words import N_
from hub.offers.context import Context
from hub.offers.uow import new_id
from hub.sharing.common import member, notify
from hub.sharing.things import Things


class Swaps:
    """Propose, accept, decline and withdraw thing-for-thing swaps."""

    def __init__(self, ctx: Context, things: Things) -> None:
        self._ctx = ctx
        self._db = ctx.uow.db
        self._things = things

    def _row(self, conn: sqlite3.Connection, sid: str, household: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM sharing_swaps WHERE id = ?", (sid,)).fetchone()
        if row is None or household not in (row["owner"], row["proposer"]):
            raise NotFound(N_("no swap %(sid)s of yours", sid=sid))
        return row  # type: ignore[no-any-return]

    def view(self, conn: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
        """A swap with the titles of both things."""
        titles = {r["id"]: r["title"] for r in conn.execute(
            "SELECT id, title FROM sharing_things WHERE id IN (?, ?)",
            (row["thing"], row["offered"])).fetchall()}
        return {"id": row["id"], "status": row["status"], "message": row["message"],
                "thing": {"id": row["thing"], "title": titles.get(row["thing"], "")},
                "offered": {"id": row["offered"], "title": titles.get(row["offered"], "")},
                "proposer": row["proposer"], "owner": row["owner"],
                "created_at": row["created_at"], "updated_at": row["updated_at"]}

    def list(self, household: str) -> list[dict[str, Any]]:
        """The household's swaps (proposed by it or to it), newest first."""
        with self._db.snapshot() as conn:
            rows = conn.execute("SELECT * FROM sharing_swaps WHERE owner = ? OR proposer = ?"
                                " ORDER BY created_at DESC, id", (household, household))
            return [self.view(conn, r) for r in rows.fetchall()]

    def propose(self, proposer: str, tid: str, offered: str, message: str, actor: str
                ) -> dict[str, Any]:
        """Offer one's own thing for a thing listed to swap."""
        me = member(self._db, proposer)
        uow = self._ctx.uow
        with uow.tx() as conn:
            thing = self._things.row(conn, tid, me.community)
            if thing["mode"] != "swap":
                raise Conflict(N_("thing %(tid)s is to %(mode)s, not to swap", tid=tid, mode=thing['mode']))
            if thing["owner"] == proposer:
                raise Conflict(N_("thing %(tid)s is yours", tid=tid))
            mine = self._things.owned(conn, offered, proposer)
            for t in (thing, mine):
                if t["state"] != "available":
                    raise Conflict(N_("thing %(id)s is %(state)s", id=t['id'], state=t['state']))
            if conn.execute("SELECT 1 FROM sharing_swaps WHERE thing = ? AND offered = ? AND"
                            " status = 'proposed'", (tid, offered)).fetchone():
                raise Conflict(N_("you already offered %(offered)s for %(tid)s", offered=offered, tid=tid))
            sid = new_id("swp")
            now = uow.now()
            conn.execute("INSERT INTO sharing_swaps (id, thing, offered, proposer, owner,"
                         " status, message, created_at, updated_at) VALUES"
                         " (?, ?, ?, ?, ?, 'proposed', ?, ?, ?)",
                         (sid, tid, offered, proposer, thing["owner"], message, now, now))
            uow.transition(conn, "swap", sid, None, "proposed", actor)
            notify(self._ctx, conn, thing["owner"], f"swaps/{sid}",
                   {"type": "swap-proposed", "swap": sid, "thing": tid, "offered": offered,
                    "offered_title": mine["title"], "by": proposer})
            return self.view(conn, self._row(conn, sid, proposer))

    def accept(self, owner: str, sid: str, actor: str) -> dict[str, Any]:
        """The owner of the wanted thing accepts: both things change hands."""
        with self._ctx.uow.tx() as conn:
            row = self._row(conn, sid, owner)
            if row["owner"] != owner:
                raise NotFound(N_("no swap %(sid)s proposed to you", sid=sid))
            if row["status"] != "proposed":
                raise Conflict(N_("swap %(sid)s is %(status)s", sid=sid, status=row['status']))
            for tid in (row["thing"], row["offered"]):
                state = conn.execute("SELECT state FROM sharing_things WHERE id = ?",
                                     (tid,)).fetchone()["state"]
                if state != "available":
                    raise Conflict(N_("thing %(tid)s is %(state)s", tid=tid, state=state))
            self._set(conn, row, "accepted", actor)
            for tid in (row["thing"], row["offered"]):
                self._things.set_state(conn, tid, "swapped", actor, note=f"swap {sid}")
            others = conn.execute(
                "SELECT * FROM sharing_swaps WHERE status = 'proposed' AND id <> ? AND"
                " (thing IN (?, ?) OR offered IN (?, ?))",
                (sid, row["thing"], row["offered"], row["thing"], row["offered"])).fetchall()
            for other in others:
                self._set(conn, other, "declined", actor, note=f"swap {sid} went ahead")
                notify(self._ctx, conn, other["proposer"], f"swaps/{other['id']}",
                       {"type": "swap-declined", "swap": other["id"],
                        "reason": "the thing was swapped for something else"})
            notify(self._ctx, conn, row["proposer"], f"swaps/{sid}",
                   {"type": "swap-accepted", "swap": sid, "thing": row["thing"]})
            return self.view(conn, self._row(conn, sid, owner))

    def close(self, household: str, sid: str, actor: str) -> dict[str, Any]:
        """The owner declines, or the proposer withdraws, an open proposal."""
        with self._ctx.uow.tx() as conn:
            row = self._row(conn, sid, household)
            if row["status"] != "proposed":
                raise Conflict(N_("swap %(sid)s is %(status)s", sid=sid, status=row['status']))
            status = "declined" if household == row["owner"] else "withdrawn"
            self._set(conn, row, status, actor)
            other = row["proposer"] if household == row["owner"] else row["owner"]
            notify(self._ctx, conn, other, f"swaps/{sid}",
                   {"type": f"swap-{status}", "swap": sid})
            return self.view(conn, self._row(conn, sid, household))

    def _set(self, conn: sqlite3.Connection, row: sqlite3.Row, status: str, actor: str,
             note: str = "") -> None:
        conn.execute("UPDATE sharing_swaps SET status = ?, updated_at = ? WHERE id = ?",
                     (status, self._ctx.uow.now(), row["id"]))
        self._ctx.uow.transition(conn, "swap", row["id"], row["status"], status, actor,
                                 note=note)
