"""Suggestions: what the rules raised for a household, open until answered.

States: ``proposed`` -> ``accepted`` | ``declined`` | ``expired`` | ``cancelled``
(withdrawn because the notice that caused it was cancelled). One open suggestion per
(household, key): a rule that fires again while one is open changes nothing, and a
suggestion caused by a notice is not raised again by that notice's updates once answered.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from hub.clock import iso_utc
from hub.errors import Conflict, NotFound
from hub.i18n.words import N_
from hub.offers.context import Context
from hub.offers.pagination import Page, decode_cursor, encode_cursor
from hub.offers.uow import dumps, loads, new_id

#: The event each way out of ``proposed`` emits.
CLOSING_EVENTS = {"accepted": "accepted", "declined": "declined", "expired": "expired",
                  "cancelled": "withdrawn"}

#: How long a suggestion stays open unless the action says otherwise.
DEFAULT_TTL = timedelta(hours=12)


@dataclass(frozen=True, slots=True, kw_only=True)
class Suggestion:
    """A suggestion as households see it."""

    id: str
    household: str
    kind: str
    title: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)
    state: str
    rule_id: str = ""
    key: str = ""
    notice_id: str | None = None
    acted_ref: str | None = None
    expires_at: str | None = None
    created_at: str = ""
    updated_at: str = ""

    @classmethod
    def from_row(cls, r: sqlite3.Row) -> Suggestion:
        return cls(id=r["id"], household=r["household"], kind=r["kind"], title=r["title"],
                   message=r["message"], data=loads(r["data"]), state=r["state"],
                   rule_id=r["rule_id"], key=r["dedup_key"], notice_id=r["notice_id"],
                   acted_ref=r["acted_ref"],
                   expires_at=r["expires_at"], created_at=r["created_at"],
                   updated_at=r["updated_at"])

    def marshal(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "title": self.title,
                "message": self.message, "data": self.data, "state": self.state,
                "rule_id": self.rule_id, "key": self.key, "notice_id": self.notice_id,
                "acted_ref": self.acted_ref, "expires_at": self.expires_at,
                "created_at": self.created_at, "updated_at": self.updated_at}


def suggestion_topic(household: str, sid: str) -> str:
    """Where a household hears about a suggestion."""
    return f"home/{household}/hub/suggestions/{sid}"


class Suggestions:
    """Create, de-duplicate, answer, withdraw and expire suggestions."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._db = ctx.uow.db

    def create(
        self,
        conn: sqlite3.Connection,
        *,
        household: str,
        kind: str,
        key: str,
        title: str,
        message: str,
        data: dict[str, Any],
        rule_id: str = "",
        pack: str = "",
        notice_id: str | None = None,
        ttl: timedelta = DEFAULT_TTL,
    ) -> tuple[Suggestion, bool]:
        """Raise a suggestion unless one with the same key is open; return it and if new."""
        open_row = conn.execute(
            "SELECT * FROM offer_suggestions WHERE household = ? AND dedup_key = ?"
            " AND state = 'proposed'",
            (household, key),
        ).fetchone()
        if open_row is not None:
            return Suggestion.from_row(open_row), False
        if notice_id:
            # An updated notice re-fires its rules: a suggestion the household already
            # answered for that notice is not raised again.
            answered = conn.execute(
                "SELECT * FROM offer_suggestions WHERE household = ? AND dedup_key = ?"
                " AND notice_id = ? AND state IN ('accepted', 'declined')",
                (household, key, notice_id),
            ).fetchone()
            if answered is not None:
                return Suggestion.from_row(answered), False
        uow = self._ctx.uow
        now = uow.now()
        sid = new_id("sug")
        expires = iso_utc(uow.now_dt() + ttl)
        conn.execute(
            "INSERT INTO offer_suggestions (id, household, kind, rule_id, pack, dedup_key,"
            " title, message, data, notice_id, state, expires_at, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'proposed', ?, ?, ?)",
            (sid, household, kind, rule_id, pack, key, title, message, dumps(data), notice_id,
             expires, now, now),
        )
        uow.transition(conn, "suggestion", sid, None, "proposed", f"rule:{rule_id}" if rule_id
                       else "hub")
        sug = self._get(conn, household, sid)
        uow.outbox.add(conn, suggestion_topic(household, sid),
                       {"type": "suggestion", **sug.marshal()}, message_id=f"{sid}.proposed")
        self._ctx.push(f"household:{household}", {"type": "suggestion", **sug.marshal()})
        return sug, True

    def _get(self, conn: sqlite3.Connection, household: str, sid: str) -> Suggestion:
        row = conn.execute(
            "SELECT * FROM offer_suggestions WHERE id = ? AND household = ?", (sid, household)
        ).fetchone()
        if row is None:
            raise NotFound(N_("no suggestion %(sid)s", sid=sid))
        return Suggestion.from_row(row)

    def get(self, household: str, sid: str) -> Suggestion:
        """The household's suggestion, or NotFound (also when it is someone else's)."""
        row = self._db.query_one(
            "SELECT * FROM offer_suggestions WHERE id = ? AND household = ?", (sid, household)
        )
        if row is None:
            raise NotFound(N_("no suggestion %(sid)s", sid=sid))
        return Suggestion.from_row(row)

    def page(self, household: str, *, state: str | None = None, cursor: str | None = None,
             limit: int = 50) -> Page:
        """The household's suggestions, newest first, one page."""
        after = decode_cursor(cursor)
        sql = "SELECT * FROM offer_suggestions WHERE household = ?"
        params: list[Any] = [household]
        if state:
            sql += " AND state = ?"
            params.append(state)
        if after:
            sql += " AND (created_at < ? OR (created_at = ? AND id < ?))"
            params += [after[0], after[0], after[1]]
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
        params.append(limit + 1)
        rows = self._db.query(sql, params)
        items = [Suggestion.from_row(r).marshal() for r in rows[:limit]]
        nxt = encode_cursor(rows[limit - 1]["created_at"], rows[limit - 1]["id"]) if len(
            rows) > limit else None
        return Page(items=items, next_cursor=nxt)

    def mark(self, conn: sqlite3.Connection, household: str, sid: str, to_state: str,
             actor: str, *, acted_ref: str | None = None, expect_kind: str | None = None,
             event: dict[str, Any] | None = None) -> Suggestion:
        """Move an open suggestion to ``to_state``; Conflict when it is no longer open.

        Emits one event (``accepted``, ``declined``, ``expired``, or ``withdrawn`` for
        ``cancelled``) whose data carries the suggestion's de-dup ``key``, so that the rules
        engine may raise that key again; ``event`` adds details (the offer, the slot). The
        event's id is ``acted_ref`` (the request, ride or gathering) when there is one.
        """
        sug = self._get(conn, household, sid)
        if expect_kind is not None and sug.kind != expect_kind:
            raise Conflict(N_("suggestion %(sid)s is a %(kind)s suggestion, not %(expect_kind)s",
                              sid=sid, kind=sug.kind, expect_kind=expect_kind))
        if sug.state != "proposed":
            raise Conflict(N_("suggestion %(sid)s is already %(state)s", sid=sid, state=sug.state))
        uow = self._ctx.uow
        conn.execute(
            "UPDATE offer_suggestions SET state = ?, acted_ref = ?, updated_at = ?"
            " WHERE id = ?",
            (to_state, acted_ref, uow.now(), sid),
        )
        uow.transition(conn, "suggestion", sid, "proposed", to_state, actor)
        done = self._get(conn, household, sid)
        uow.outbox.add(conn, suggestion_topic(household, sid),
                       {"type": "suggestion", **done.marshal()},
                       message_id=f"{sid}.{to_state}")
        self._ctx.emit(CLOSING_EVENTS[to_state], household, acted_ref or sid, {
            "object": "suggestion", "suggestion": sid, "suggestion_kind": done.kind,
            "key": done.key, "rule_id": done.rule_id, "notice_id": done.notice_id,
            "title": done.title, **(event or {})})
        return done

    def decline(self, household: str, sid: str, actor: str) -> Suggestion:
        """The household says no."""
        with self._ctx.uow.tx() as conn:
            return self.mark(conn, household, sid, "declined", actor)

    def withdraw(self, conn: sqlite3.Connection, *, household: str | None,
                 notice_id: str | None, key: str | None, title: str, message: str,
                 actor: str) -> dict[str, list[str]]:
        """Withdraw open suggestions a notice caused; tell those who acted on one instead.

        Returns ``{"withdrawn": [...], "kept": [...]}`` suggestion ids.
        """
        sql = "SELECT * FROM offer_suggestions WHERE "
        params: list[Any] = []
        if notice_id:
            sql += "notice_id = ?"
            params.append(notice_id)
        elif key:
            sql += "dedup_key = ?"
            params.append(key)
        else:
            return {"withdrawn": [], "kept": []}
        if household:
            sql += " AND household = ?"
            params.append(household)
        withdrawn, kept = [], []
        uow = self._ctx.uow
        for row in conn.execute(sql, params).fetchall():
            sug = Suggestion.from_row(row)
            if sug.state == "proposed":
                self.mark(conn, sug.household, sug.id, "cancelled", actor)
                withdrawn.append(sug.id)
            elif sug.state == "accepted":
                # Someone acted on it: what they booked stays, and they are told why.
                uow.outbox.add(
                    conn, suggestion_topic(sug.household, sug.id),
                    {"type": "notice-cancelled", "suggestion": sug.id, "notice_id": notice_id,
                     "title": title or "The outage was cancelled",
                     "message": message or "The notice was cancelled; what you booked stays.",
                     "acted_ref": sug.acted_ref},
                    message_id=f"{sug.id}.notice-cancelled",
                )
                self._ctx.push(f"household:{sug.household}",
                               {"type": "notice-cancelled", "id": sug.id,
                                "notice_id": notice_id})
                kept.append(sug.id)
        return {"withdrawn": withdrawn, "kept": kept}

    def expire_due(self) -> list[str]:
        """Expire open suggestions whose time is up; return their ids."""
        uow = self._ctx.uow
        now = uow.now()
        with uow.tx() as conn:
            rows = conn.execute(
                "SELECT household, id, kind FROM offer_suggestions WHERE state = 'proposed'"
                " AND expires_at IS NOT NULL AND expires_at <= ?",
                (now,),
            ).fetchall()
            for r in rows:
                self.mark(conn, r["household"], r["id"], "expired", "hub")
        return [r["id"] for r in rows]
