"""Wanted posts ("a ladder, Saturday morning"), matched to what the street owns.

A post is matched, when it is made, to the community's listed things (lend or give,
free for the period) and to households that own a matching device (a smart plug named
"Carpet cleaner") without listing it. Both sides are told: the poster gets the matches,
each owner a "lend yours?" notice. A thing listed later that matches an open post is
matched too. Posts expire by date (:meth:`Wanted.run_due`); a loan requested for the
post and accepted fulfils it.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

from hub.errors import Conflict, NotFound
from hub.i18n.words import N_
from hub.offers.context import Context
from hub.offers.problems import Unprocessable
from hub.offers.uow import dumps, loads, new_id
from hub.sharing.common import iso, member, notify
from hub.sharing.things import Things, text_clause

#: Words that say nothing about what is wanted.
_STOP = """a an the and or for of to in on at by with my your our some any
one need needs needed want wanted wanting looking borrow lend please today tomorrow
morning afternoon evening night monday tuesday wednesday thursday friday saturday sunday
this next week weekend hour hours day days"""
STOPWORDS = frozenset(_STOP.split())
DEFAULT_LIFETIME = timedelta(days=3)


def keywords(text: str) -> list[str]:
    """The words of a post that name the thing ("Wanted: a drill, today" -> ["drill"])."""
    words = ["".join(ch for ch in w.lower() if ch.isalnum()) for w in text.split()]
    return list(dict.fromkeys(w for w in words if len(w) >= 3 and w not in STOPWORDS
                              and not w.isdigit()))[:6]


class Wanted:
    """Post, match, close and expire wanted posts."""

    def __init__(self, ctx: Context, things: Things) -> None:
        self._ctx = ctx
        self._db = ctx.uow.db
        self._things = things
        #: Called with (conn, post view, matches) after a post matched something; the
        #: rules bridge hooks in here.
        self.on_match: list[Any] = []

    def _row(self, conn: sqlite3.Connection, wid: str, community: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM sharing_wanted WHERE id = ?", (wid,)).fetchone()
        if row is None or row["community"] != community:
            raise NotFound(N_("no wanted post %(wid)s in your community", wid=wid))
        return row  # type: ignore[no-any-return]

    def view(self, conn: sqlite3.Connection, row: sqlite3.Row, viewer: str) -> dict[str, Any]:
        """A post; its matches are shown to the poster only."""
        name = conn.execute("SELECT name FROM households WHERE id = ?",
                            (row["household"],)).fetchone()
        return {"id": row["id"], "household": row["household"],
                "name": name["name"] if name else "", "text": row["text"],
                "category": row["category"], "start": row["starts_at"], "end": row["ends_at"],
                "expires_at": row["expires_at"], "state": row["state"],
                "mine": row["household"] == viewer,
                "matches": loads(row["matches"]) if row["household"] == viewer else None,
                "created_at": row["created_at"]}

    def get(self, viewer: str, wid: str) -> dict[str, Any]:
        me = member(self._db, viewer)
        with self._db.snapshot() as conn:
            return self.view(conn, self._row(conn, wid, me.community), viewer)

    def list_open(self, viewer: str) -> list[dict[str, Any]]:
        """The community's open posts, soonest to expire first."""
        me = member(self._db, viewer)
        with self._db.snapshot() as conn:
            rows = conn.execute("SELECT * FROM sharing_wanted WHERE community = ? AND"
                                " state = 'open' ORDER BY expires_at, id", (me.community,))
            return [self.view(conn, r, viewer) for r in rows.fetchall()]

    def post(self, household: str, text: str, *, category: str | None,
             start: datetime | None, end: datetime | None, expires_at: datetime | None,
             actor: str) -> dict[str, Any]:
        """Post what is wanted; match it now and tell both sides."""
        me = member(self._db, household)
        uow = self._ctx.uow
        now = uow.now_dt()
        if not keywords(text):
            raise Unprocessable(N_("text: say what you need (a word of three letters or more)"))
        if (start is None) != (end is None):
            raise Unprocessable(N_("give both start and end, or neither"))
        if start and end and end <= start:
            raise Unprocessable(N_("the period ends (%(end)s) before it starts (%(start)s)",
                                   end=iso(end), start=iso(start)))
        expires = expires_at or end or now + DEFAULT_LIFETIME
        if expires <= now:
            raise Unprocessable(N_("the post would expire in the past (%(expires)s)", expires=iso(expires)))
        with uow.tx() as conn:
            wid = new_id("wnt")
            stamp = uow.now()
            conn.execute(
                "INSERT INTO sharing_wanted (id, community, household, text, category,"
                " starts_at, ends_at, expires_at, state, matches, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', '[]', ?, ?)",
                (wid, me.community, household, text, category, iso(start) if start else None,
                 iso(end) if end else None, iso(expires), stamp, stamp))
            uow.transition(conn, "wanted", wid, None, "open", actor)
            row = self._row(conn, wid, me.community)
            self._match(conn, row, self._candidates(conn, row))
            self._ctx.push(f"community:{me.community}",
                           {"type": "sharing.wanted", "id": wid, "text": text})
            return self.view(conn, self._row(conn, wid, me.community), household)

    def close(self, household: str, wid: str, state: str, actor: str) -> dict[str, Any]:
        """The poster closes an open post (``fulfilled`` or ``withdrawn``)."""
        me = member(self._db, household)
        with self._ctx.uow.tx() as conn:
            row = self._row(conn, wid, me.community)
            if row["household"] != household:
                raise NotFound(N_("no wanted post %(wid)s of yours", wid=wid))
            if row["state"] != "open":
                raise Conflict(N_("wanted post %(wid)s is %(state)s", wid=wid, state=row['state']))
            self._set(conn, row, state, actor)
            return self.view(conn, self._row(conn, wid, me.community), household)

    def fulfil(self, conn: sqlite3.Connection, wid: str, actor: str) -> None:
        """A loan for the post was accepted (inside the caller's transaction)."""
        row = conn.execute("SELECT * FROM sharing_wanted WHERE id = ?", (wid,)).fetchone()
        if row is not None and row["state"] == "open":
            self._set(conn, row, "fulfilled", actor)

    def thing_listed(self, conn: sqlite3.Connection, thing: sqlite3.Row) -> None:
        """A new thing: match it to the community's open posts it fits."""
        if thing["mode"] not in ("lend", "give"):
            return
        posts = conn.execute("SELECT * FROM sharing_wanted WHERE community = ? AND"
                             " state = 'open' AND household <> ? AND expires_at > ?",
                             (thing["community"], thing["owner"], self._ctx.uow.now()))
        for post in posts.fetchall():
            words = keywords(post["text"])
            hay = f"{thing['title']} {thing['description']} {thing['category']}".lower()
            if any(w in hay for w in words):
                self._match(conn, post, [self._thing_match(thing)])

    def run_due(self) -> list[str]:
        """Expire open posts whose date passed; tell their posters."""
        uow = self._ctx.uow
        with uow.tx() as conn:
            rows = conn.execute("SELECT * FROM sharing_wanted WHERE state = 'open' AND"
                                " expires_at <= ?", (uow.now(),)).fetchall()
            for row in rows:
                self._set(conn, row, "expired", "hub")
                notify(self._ctx, conn, row["household"], f"wanted/{row['id']}",
                       {"type": "wanted-expired", "wanted": row["id"], "text": row["text"]})
        return [r["id"] for r in rows]

    # -- matching ---------------------------------------------------------------------

    def _candidates(self, conn: sqlite3.Connection, post: sqlite3.Row) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        listed_by: set[str] = set()
        for word in keywords(post["text"]):
            where, args = text_clause(word)
            rows = conn.execute(
                f"SELECT * FROM sharing_things WHERE community = ? AND owner <> ? AND"
                f" state = 'available' AND mode IN ('lend', 'give') AND {where}",
                (post["community"], post["household"], *args)).fetchall()
            for thing in rows:
                if post["starts_at"] and thing["mode"] == "lend" and self._taken(
                        conn, thing["id"], post["starts_at"], post["ends_at"]):
                    continue
                if all(f.get("thing") != thing["id"] for f in found):
                    found.append(self._thing_match(thing))
                    listed_by.add(thing["owner"])
            devices = conn.execute(
                "SELECT d.household, d.device, d.name FROM devices d JOIN households h ON"
                " h.id = d.household WHERE h.community = ? AND d.household <> ? AND"
                " LOWER(COALESCE(d.name, '')) LIKE ?",
                (post["community"], post["household"], f"%{word}%")).fetchall()
            for d in devices:
                if d["household"] not in listed_by and all(
                        f.get("household") != d["household"] for f in found):
                    found.append({"kind": "owner", "household": d["household"],
                                  "device": d["device"], "title": d["name"]})
        return found

    def _taken(self, conn: sqlite3.Connection, tid: str, start: str, end: str) -> bool:
        return conn.execute(
            "SELECT 1 FROM sharing_loans WHERE thing = ? AND status IN ('accepted', 'out')"
            " AND starts_at < ? AND ? < ends_at", (tid, end, start)).fetchone() is not None

    @staticmethod
    def _thing_match(thing: sqlite3.Row) -> dict[str, Any]:
        return {"kind": "thing", "thing": thing["id"], "title": thing["title"],
                "mode": thing["mode"], "household": thing["owner"]}

    def _match(self, conn: sqlite3.Connection, post: sqlite3.Row,
               matches: list[dict[str, Any]]) -> None:
        known = loads(post["matches"]) or []
        new = [m for m in matches if m not in known]
        if not new:
            return
        conn.execute("UPDATE sharing_wanted SET matches = ?, updated_at = ? WHERE id = ?",
                     (dumps(known + new), self._ctx.uow.now(), post["id"]))
        name = conn.execute("SELECT name FROM households WHERE id = ?",
                            (post["household"],)).fetchone()
        who = name["name"] if name else post["household"]
        when = ""
        if post["starts_at"]:
            when = f" {post['starts_at'][11:16]}-{post['ends_at'][11:16]}"
        notify(self._ctx, conn, post["household"], f"wanted/{post['id']}",
               {"type": "wanted-matched", "wanted": post["id"], "text": post["text"],
                "matches": new})
        day = self._day(post["starts_at"])
        for m in new:
            need = (keywords(post["text"]) or [m["title"]])[0]
            self._ctx.emit("wanted-match", m["household"], post["id"], {
                "object": "wanted", "wanted": post["id"], "text": post["text"],
                "by": post["household"], "by_name": who, "title": m["title"],
                "thing": m.get("thing"), "device": m.get("device"),
                "start": post["starts_at"], "end": post["ends_at"], "when": when.strip(),
                "need": need, "day": day})
            notify(self._ctx, conn, m["household"], f"wanted/{post['id']}",
                   {"type": "wanted-match", "wanted": post["id"], "text": post["text"],
                    "by": post["household"], "thing": m.get("thing"),
                    "device": m.get("device"), "start": post["starts_at"],
                    "end": post["ends_at"],
                    "message": f"{who} needs a {need}{' ' + day if day else ''}{when};"
                               f" lend your {m['title'] or need}?"})
        for hook in self.on_match:
            hook(conn, dict(post), new)

    def _day(self, start: str | None) -> str:
        """"today", "tomorrow" or the weekday of a post's start ("" without one)."""
        if not start:
            return ""
        today = self._ctx.uow.now()[:10]
        day = datetime.fromisoformat(start.replace("Z", "+00:00"))
        if start[:10] == today:
            return "today"
        if (day.date() - datetime.fromisoformat(today).date()).days == 1:
            return "tomorrow"
        return day.strftime("%A")

    def _set(self, conn: sqlite3.Connection, row: sqlite3.Row, state: str, actor: str) -> None:
        conn.execute("UPDATE sharing_wanted SET state = ?, updated_at = ? WHERE id = ?",
                     (state, self._ctx.uow.now(), row["id"]))
        self._ctx.uow.transition(conn, "wanted", row["id"], row["state"], state, actor)
