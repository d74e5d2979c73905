"""Skills offered and requested in the time bank, and matching between the two sides.

A household lists what it can do (``offer``) or asks for help (``request``) under a
category (tutoring, repairs, visits, dog-walking, ...). A new listing is matched against
the open listings of the other side in the same community and category (and, failing
that, by shared title words); both households hear of each match.
"""

from __future__ import annotations

import re
from typing import Any

from hub.errors import NotFound
from hub.i18n.words import N_
from hub.offers.context import Context
from hub.offers.problems import Unprocessable
from hub.offers.uow import new_id

CATEGORIES = ("tutoring", "repairs", "visits", "dog-walking", "gardening", "cooking",
              "transport", "computers", "other")
_WORD = re.compile(r"[a-z0-9]{3,}")


def _row(r: Any) -> dict[str, Any]:
    return {k: r[k] for k in ("id", "household", "side", "category", "title", "description",
                              "state", "created_at")}


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


class Skills:
    """Listings and requests of skills, with matching."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.uow = ctx.uow
        self.db = ctx.uow.db

    def add(self, household: str, community: str, *, side: str, category: str, title: str,
            description: str, actor: str) -> dict[str, Any]:
        """List a skill (``offer``) or a need (``request``); return it with its matches."""
        title = title.strip()
        if not title:
            raise Unprocessable(N_("title must not be empty"))
        if side not in ("offer", "request"):
            raise Unprocessable(N_("side must be offer or request"))
        if category not in CATEGORIES:
            raise Unprocessable(N_("category must be one of %(categories)s", categories=", ".join(CATEGORIES)))
        sid = new_id("sk")
        with self.uow.tx() as conn:
            conn.execute(
                "INSERT INTO timebank_skills (id, community, household, side, category, title,"
                " description, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (sid, community, household, side, category, title, description, self.uow.now()))
            self.uow.transition(conn, "timebank_skill", sid, None, "open", actor)
            row = conn.execute("SELECT * FROM timebank_skills WHERE id = ?", (sid,)).fetchone()
            listing = _row(row)
            matches = self._matches(conn, listing, community)
            for m in matches:
                for h in {household, m["household"]}:
                    self.uow.outbox.add(conn, f"home/{h}/hub/timebank/skills/{sid}",
                                        {"id": f"{sid}-{m['id']}-{h}", "type": "timebank-skill-match",
                                         "listing": sid, "match": m["id"], "title": m["title"]})
                    self.ctx.push(f"household:{h}", {"type": "timebank-skill-match",
                                                     "listing": sid, "match": m["id"]})
        return {**listing, "matches": matches}

    def _matches(self, conn: Any, listing: dict[str, Any], community: str) -> list[dict[str, Any]]:
        other = "request" if listing["side"] == "offer" else "offer"
        rows = conn.execute(
            "SELECT * FROM timebank_skills WHERE community = ? AND side = ? AND state = 'open'"
            " AND household <> ? ORDER BY created_at, id", (community, other, listing["household"]),
        ).fetchall()
        words = _words(listing["title"] + " " + listing["description"])
        same = [_row(r) for r in rows if r["category"] == listing["category"]]
        if same:
            return same
        return [_row(r) for r in rows if words & _words(r["title"] + " " + r["description"])]

    def matches(self, household: str, sid: str) -> list[dict[str, Any]]:
        """The other side's open listings that fit one of the household's listings."""
        row = self.db.query_one("SELECT * FROM timebank_skills WHERE id = ? AND household = ?",
                                (sid, household))
        if row is None:
            raise NotFound(N_("no skill listing %(sid)s", sid=sid))
        with self.db.snapshot() as conn:
            return self._matches(conn, _row(row), row["community"])

    def list(self, community: str, *, side: str | None = None, q: str | None = None
             ) -> list[dict[str, Any]]:
        """Open listings of a community, newest first, optionally one side or matching text."""
        sql = "SELECT * FROM timebank_skills WHERE community = ? AND state = 'open'"
        params: list[Any] = [community]
        if side:
            sql += " AND side = ?"
            params.append(side)
        rows = [_row(r) for r in self.db.query(sql + " ORDER BY created_at DESC, id", params)]
        if q:
            needle = q.lower()
            rows = [r for r in rows if needle in (r["title"] + " " + r["description"] + " "
                                                  + r["category"]).lower()]
        return rows

    def close(self, household: str, sid: str, actor: str) -> dict[str, Any]:
        """Take one's own listing down."""
        with self.uow.tx() as conn:
            moved = conn.execute("UPDATE timebank_skills SET state = 'closed' WHERE id = ? AND"
                                 " household = ? AND state = 'open'", (sid, household)).rowcount
            if moved != 1:
                raise NotFound(N_("no open skill listing %(sid)s", sid=sid))
            self.uow.transition(conn, "timebank_skill", sid, "open", "closed", actor)
            return _row(conn.execute("SELECT * FROM timebank_skills WHERE id = ?",
                                     (sid,)).fetchone())
