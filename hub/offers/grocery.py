"""Requests to providers (grocery delivery, a service, lending): accept a slot, providers
claim, move, cancel, fulfil, rate.

Offer states: ``accepted`` (sent to the feeds) -> ``claimed`` -> ``scheduled`` ->
``fulfilled`` -> ``rated``; ``cancelled`` from any state before ``fulfilled``.
The accepted slot's place is reserved at once; if another provider than the slot's own
claims the request, the reservation moves to the claimer's slot at the same time.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import dataclass
from typing import Any

import orjson

from hub.errors import Conflict, NotFound, PayloadRejected
from hub.i18n.words import N_
from hub.offers import slots
from hub.offers.calendar import Booking, Calendar
from hub.offers.context import Context
from hub.offers.directory import household as load_household
from hub.offers.directory import providers_of_kind
from hub.offers.feeds import Feeds, feed_topic
from hub.offers.pagination import Page, decode_cursor, encode_cursor
from hub.offers.ratings import append_rating
from hub.offers.suggestions import Suggestions
from hub.offers.uow import dumps, loads, new_id
from hub.storage.locks import lock_row

logger = logging.getLogger(__name__)

KIND = "grocery"
SAFE_ID = re.compile(r"[A-Za-z0-9._:@-]{1,128}")
#: Request kinds that run this flow: a provider (or a neighbour registered as one) with
#: slots of the same kind claims them. Lending uses its slot as the pickup window.
REQUEST_KINDS = ("grocery", "service", "lending")
OPEN_STATES = ("accepted", "claimed", "scheduled")
TITLES = {"grocery": "Grocery delivery", "service": "Service visit", "lending": "Item pickup"}


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimResult:
    """The outcome of a command received over MQTT (a claim, an accept).

    Attributes:
        status: ``claimed`` (this provider won) or ``accepted``; ``conflict`` (already
            claimed, no room, not open any more), ``not-found`` (no such request or
            suggestion for this sender), ``duplicate`` (this message id was handled
            before; nothing changed).
        request: the request (or suggestion) id the payload named.
        message: a sentence for logs and the provider.
    """

    status: str
    request: str | None
    message: str


def parse_command(payload: bytes, required: tuple[str, ...], optional: tuple[str, ...]
                  ) -> dict[str, str]:
    """Parse an MQTT command: a JSON object of safe string ids.

    Raises:
        PayloadRejected: not JSON, not an object, or a field missing or unsafe.
    """
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise PayloadRejected(f"command is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise PayloadRejected("command must be a JSON object")
    out: dict[str, str] = {}
    for name in required + optional:
        value = body.get(name)
        if value is None and name in optional:
            continue
        # Ids end up in topics: no MQTT wildcards, separators or control characters.
        if not isinstance(value, str) or not SAFE_ID.fullmatch(value):
            raise PayloadRejected(f"command needs a string {name!r} of 1-128 characters"
                                  " from A-Z a-z 0-9 . _ : @ -")
        out[name] = value
    return out


def mark_seen(conn: sqlite3.Connection, message_id: str, at: float) -> bool:
    """Record an inbound message id; False when it was seen before (a redelivery)."""
    cur = conn.execute(
        "INSERT INTO inbox_seen (message_id, seen_at) VALUES (?, ?)"
        " ON CONFLICT (message_id) DO NOTHING", (message_id, at))
    return cur.rowcount == 1


def offer_view(row: sqlite3.Row) -> dict[str, Any]:
    """An offer as its household sees it."""
    return {"id": row["id"], "kind": row["kind"], "state": row["state"],
            "provider": row["provider"], "slot": row["slot"], "starts_at": row["starts_at"],
            "ends_at": row["ends_at"], "data": loads(row["data"]),
            "suggestion": row["suggestion"], "created_at": row["created_at"],
            "updated_at": row["updated_at"]}


class Grocery:
    """The grocery delivery flow."""

    def __init__(self, ctx: Context, suggestions: Suggestions, calendar: Calendar,
                 feeds: Feeds) -> None:
        self._ctx = ctx
        self._db = ctx.uow.db
        self._suggestions = suggestions
        self._calendar = calendar
        self._feeds = feeds

    # -- helpers ----------------------------------------------------------------------

    def consented_providers(self, household: str, kind: str = KIND) -> list[str]:
        """Providers of ``kind`` serving the household that a consent covers, by id."""
        home = load_household(self._db, household)
        return [p.id for p in providers_of_kind(self._db, kind) if p.serves(home)
                and self._feeds.allowed_fields(household, p.id, kind)]

    def next_free_slots(self, household: str, limit: int = 6, kind: str = KIND
                        ) -> list[dict[str, Any]]:
        """The next free slots of consented providers of ``kind``, soonest first."""
        found = slots.free_slots(self._db, kind, self.consented_providers(household, kind),
                                 self._ctx.uow.now(), limit)
        return [{"slot": s.id, "provider": s.provider, "starts_at": s.starts_at,
                 "ends_at": s.ends_at, "free": s.free} for s in found]

    def _offer(self, conn: sqlite3.Connection, oid: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM offers WHERE id = ?", (oid,)).fetchone()
        if row is None:
            raise NotFound(N_("no request %(oid)s", oid=oid))
        return row  # type: ignore[no-any-return]

    def _own_offer(self, conn: sqlite3.Connection, household: str, oid: str) -> sqlite3.Row:
        row = self._offer(conn, oid)
        if row["household"] != household:
            raise NotFound(N_("no request %(oid)s", oid=oid))
        return row

    def _set_state(self, conn: sqlite3.Connection, row: sqlite3.Row, to_state: str,
                   actor: str, note: str = "", **cols: Any) -> sqlite3.Row:
        uow = self._ctx.uow
        sets = ", ".join(f"{c} = ?" for c in cols)
        conn.execute(
            f"UPDATE offers SET state = ?, updated_at = ?{', ' + sets if sets else ''}"
            " WHERE id = ?",
            (to_state, uow.now(), *cols.values(), row["id"]),
        )
        uow.transition(conn, "offer", row["id"], row["state"], to_state, actor, note)
        return self._offer(conn, row["id"])

    def _notify_household(self, conn: sqlite3.Connection, row: sqlite3.Row, kind: str) -> None:
        self._ctx.uow.outbox.add(
            conn, f"home/{row['household']}/hub/offers/{row['id']}",
            {"type": kind, **offer_view(row)},
        )

    # -- household side ---------------------------------------------------------------

    def accept(self, household: str, suggestion_id: str, slot_id: str, actor: str
               ) -> dict[str, Any]:
        """Accept a grocery suggestion for a slot: reserve it, send the request out."""
        with self._ctx.uow.tx() as conn:
            lock_row(conn, "offer_suggestions", suggestion_id)  # accepted once, by one worker
            sug = self._suggestions.get(household, suggestion_id)
            kind = sug.kind
            if kind not in REQUEST_KINDS:
                raise Conflict(N_("suggestion %(suggestion_id)s is not a request for a provider",
                                  suggestion_id=suggestion_id))
            if sug.state != "proposed":
                raise Conflict(N_("suggestion %(suggestion_id)s is already %(state)s",
                                  suggestion_id=suggestion_id, state=sug.state))
            slot = slots.get_slot(self._db, slot_id)
            if slot.kind != kind:
                raise Conflict(N_("slot %(slot_id)s is not a %(kind)s slot", slot_id=slot_id, kind=kind))
            if slot.starts_at <= self._ctx.uow.now():
                raise Conflict(N_("slot %(slot_id)s has already started", slot_id=slot_id))
            consented = self.consented_providers(household, kind)
            if slot.provider not in consented:
                raise Conflict(N_("no consent covers provider %(provider)s", provider=slot.provider))
            slots.reserve(conn, slot_id)
            uow = self._ctx.uow
            oid = new_id("req")
            now = uow.now()
            data = {"items": sug.data.get("items", []), "title": sug.title}
            conn.execute(
                "INSERT INTO offers (id, kind, household, suggestion, provider, state, slot,"
                " starts_at, ends_at, data, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, NULL, 'accepted', ?, ?, ?, ?, ?, ?)",
                (oid, kind, household, sug.id, slot_id, slot.starts_at, slot.ends_at,
                 dumps(data), now, now),
            )
            uow.transition(conn, "offer", oid, None, "accepted", actor)
            self._calendar.add(conn, household=household, kind=kind, ref=oid,
                               starts_at=slot.starts_at, ends_at=slot.ends_at,
                               title=TITLES.get(kind, kind), slot=slot_id, actor=actor)
            # The slot's own provider first, then others with room at the same time.
            targets = [slot.provider] + [
                p for p in consented if p != slot.provider and self._room_at(
                    conn, p, kind, slot.starts_at)]
            row = self._offer(conn, oid)
            reached = self._feeds.publish_request(conn, row, targets)
            self._notify_household(conn, row, "accepted")
            self._suggestions.mark(conn, household, sug.id, "accepted", actor, acted_ref=oid,
                                   event={"object": "offer", "kind": kind, "slot": slot_id,
                                          "starts": slot.starts_at, "ends": slot.ends_at,
                                          "providers": reached})
            return offer_view(row)

    def _room_at(self, conn: sqlite3.Connection, provider: str, kind: str, starts_at: str
                 ) -> bool:
        r = conn.execute(
            "SELECT 1 FROM offer_slots WHERE provider = ? AND kind = ? AND starts_at = ?"
            " AND taken < capacity", (provider, kind, starts_at)).fetchone()
        return r is not None

    def get(self, household: str, oid: str) -> dict[str, Any]:
        """The household's request, or NotFound."""
        row = self._db.query_one("SELECT * FROM offers WHERE id = ? AND household = ?",
                                 (oid, household))
        if row is None:
            raise NotFound(N_("no request %(oid)s", oid=oid))
        return offer_view(row)

    def move(self, household: str, booking: Booking, slot_id: str, actor: str
             ) -> dict[str, Any]:
        """Move a delivery to another slot in one step; the old slot's place is released."""
        with self._ctx.uow.tx() as conn:
            row = self._own_offer(conn, household, booking.ref)
            if row["state"] not in OPEN_STATES:
                raise Conflict(N_("request %(id)s is %(state)s and cannot move", id=row['id'], state=row['state']))
            new = slots.get_slot(self._db, slot_id)
            if new.kind != row["kind"]:
                raise Conflict(N_("slot %(slot_id)s is not a %(kind)s slot", slot_id=slot_id, kind=row['kind']))
            if new.id == row["slot"]:
                raise Conflict(N_("the delivery is already in slot %(slot_id)s", slot_id=slot_id))
            if new.starts_at <= self._ctx.uow.now():
                raise Conflict(N_("slot %(slot_id)s has already started", slot_id=slot_id))
            if row["provider"] and new.provider != row["provider"]:
                raise Conflict(N_("%(provider)s claimed this delivery: pick one of its slots",
                                  provider=row['provider']))
            if not row["provider"] and new.provider not in self._feeds.recipients(conn,
                                                                                  row["id"]):
                raise Conflict(N_("the request was not sent to %(provider)s", provider=new.provider))
            slots.reserve(conn, new.id)
            slots.release(conn, row["slot"])
            old = {"slot": row["slot"], "starts_at": row["starts_at"], "ends_at": row["ends_at"]}
            row = self._set_state(conn, row, row["state"], actor,
                                  note=f"moved from {old['slot']} to {new.id}", slot=new.id,
                                  starts_at=new.starts_at, ends_at=new.ends_at)
            self._calendar.move(conn, booking, starts_at=new.starts_at, ends_at=new.ends_at,
                                slot=new.id, actor=actor)
            self._close_reschedule(conn, household, booking.id, row["id"], actor)
            told = [row["provider"]] if row["provider"] else self._feeds.recipients(
                conn, row["id"])
            self._feeds.publish_update(conn, row, told, "update")
            self._notify_household(conn, row, "moved")
            self._ctx.emit("moved", household, row["id"],
                           {"object": "offer", "kind": row["kind"], "from": old,
                            "to": {"slot": new.id, "starts_at": new.starts_at,
                                   "ends_at": new.ends_at}, "booking": booking.id})
            return offer_view(row)

    def _close_reschedule(self, conn: sqlite3.Connection, household: str, booking_id: str,
                          ref: str, actor: str) -> None:
        row = conn.execute(
            "SELECT id FROM offer_suggestions WHERE household = ? AND dedup_key = ?"
            " AND state = 'proposed'", (household, f"clash:{booking_id}")).fetchone()
        if row is not None:
            self._suggestions.mark(conn, household, row["id"], "accepted", actor, acted_ref=ref)

    def cancel(self, household: str, booking: Booking, actor: str) -> dict[str, Any]:
        """Cancel a delivery: release the slot's place and tell the provider(s)."""
        with self._ctx.uow.tx() as conn:
            row = self._own_offer(conn, household, booking.ref)
            if row["state"] not in OPEN_STATES:
                raise Conflict(N_("request %(id)s is %(state)s and cannot be cancelled",
                                  id=row['id'], state=row['state']))
            told = [row["provider"]] if row["provider"] else self._feeds.recipients(
                conn, row["id"])
            slots.release(conn, row["slot"])
            row = self._set_state(conn, row, "cancelled", actor)
            self._calendar.end(conn, booking, "cancelled", actor)
            self._feeds.publish_update(conn, row, told, "cancelled")
            self._notify_household(conn, row, "cancelled")
            self._ctx.emit("cancelled", household, row["id"], {"object": "offer",
                                                                 "kind": row["kind"]})
            return offer_view(row)

    def expire_due(self) -> list[str]:
        """Requests nobody claimed before their slot began: expire, release, tell everyone."""
        uow = self._ctx.uow
        with uow.tx() as conn:
            marks = ", ".join("?" for _ in REQUEST_KINDS)
            rows = conn.execute(f"SELECT * FROM offers WHERE kind IN ({marks})"
                                " AND state = 'accepted' AND starts_at <= ?",
                                (*REQUEST_KINDS, uow.now())).fetchall()
            for row in rows:
                told = self._feeds.recipients(conn, row["id"])
                slots.release(conn, row["slot"])
                row = self._set_state(conn, row, "expired", "hub", note="no provider claimed it")
                booking = self._calendar.by_ref(conn, row["household"], row["id"])
                if booking is not None:
                    self._calendar.end(conn, booking, "expired", "hub")
                for provider in told:
                    self._feeds.publish_bare(conn, row, provider, "expired", "slot began")
                self._notify_household(conn, row, "expired")
                self._ctx.emit("expired", row["household"], row["id"],
                               {"object": "offer", "kind": row["kind"]})
        return [r["id"] for r in rows]

    def rate(self, household: str, oid: str, stars: int, comment: str, actor: str
             ) -> dict[str, Any]:
        """Rate a fulfilled delivery (once); the rating joins the hash chain."""
        if not 1 <= stars <= 5:
            raise Conflict(N_("stars must be 1 to 5"))
        with self._ctx.uow.tx() as conn:
            row = self._own_offer(conn, household, oid)
            if row["state"] != "fulfilled":
                raise Conflict(N_("request %(oid)s is %(state)s: only a fulfilled one is rated",
                                  oid=oid, state=row['state']))
            rating = append_rating(conn, household=household, subject=row["provider"],
                                   offer=oid, stars=stars, comment=comment,
                                   at=self._ctx.uow.now())
            self._set_state(conn, row, "rated", actor)
            self._ctx.emit("rated", household, oid, {"object": "offer", "stars": stars,
                                                     "provider": row["provider"]})
            return rating

    # -- provider side ----------------------------------------------------------------

    def claim(self, provider: str, oid: str, actor: str) -> dict[str, Any]:
        """Claim a request from the feed. Exactly one provider wins; the rest get Conflict."""
        with self._ctx.uow.tx() as conn:
            return self._claim(conn, provider, oid, actor)

    def _claim(self, conn: sqlite3.Connection, provider: str, oid: str, actor: str
               ) -> dict[str, Any]:
        if provider not in self._feeds.recipients(conn, oid):
            raise NotFound(N_("no request %(oid)s", oid=oid))
        row = self._offer(conn, oid)
        if row["state"] != "accepted":
            if row["provider"] == provider and row["state"] in ("claimed", "scheduled"):
                raise Conflict(N_("request %(oid)s is already claimed by you", oid=oid))
            raise Conflict(f"request {oid} is already claimed" if row["provider"]
                           else f"request {oid} is {row['state']}")
        # The conditional UPDATE is the arbiter: only one claimer can see state 'accepted'.
        cur = conn.execute(
            "UPDATE offers SET state = 'claimed', provider = ?, updated_at = ?"
            " WHERE id = ? AND state = 'accepted'", (provider, self._ctx.uow.now(), oid))
        if cur.rowcount != 1:
            raise Conflict(N_("request %(oid)s is already claimed", oid=oid))
        uow = self._ctx.uow
        uow.transition(conn, "offer", oid, "accepted", "claimed", actor)
        row = self._offer(conn, oid)
        slot = slots.get_slot(self._db, row["slot"])
        if slot.provider != provider:
            mine = slots.slot_id(provider, slot.starts_at)
            try:
                same_kind = slots.get_slot(self._db, mine).kind == slot.kind
            except NotFound:
                same_kind = False
            if not same_kind:
                raise Conflict(N_("%(provider)s has no %(kind)s slot at %(starts_at)s",
                                  provider=provider, kind=slot.kind, starts_at=slot.starts_at))
            slots.reserve(conn, mine)  # Conflict (and rollback) when it has no room
            slots.release(conn, slot.id)
            conn.execute("UPDATE offers SET slot = ? WHERE id = ?", (mine, oid))
            conn.execute("UPDATE offer_bookings SET slot = ? WHERE ref = ? AND state = 'active'",
                         (mine, oid))
            row = self._offer(conn, oid)
        row = self._set_state(conn, row, "scheduled", actor)
        self._feeds.publish_update(conn, row, [provider], "claimed")
        for other in self._feeds.recipients(conn, oid):
            if other != provider:
                self._feeds.publish_bare(conn, row, other, "taken", "claimed by another provider")
        self._notify_household(conn, row, "scheduled")
        self._ctx.emit("claimed", row["household"], oid, {"object": "offer", "kind": row["kind"],
                                                          "provider": provider})
        self._ctx.emit("scheduled", row["household"], oid,
                       {"object": "offer", "kind": row["kind"], "provider": provider,
                        "starts_at": row["starts_at"], "ends_at": row["ends_at"]})
        view = self._feeds.provider_view(row, provider) or {"request": oid}
        view["state"] = row["state"]
        return view

    def handle_claim(self, provider: str, payload: bytes) -> ClaimResult:
        """Handle a message on ``providers/<provider>/claims``.

        The provider comes from the topic (the broker's ACL pins it to the login), never
        from the payload. The payload is ``{"request": id, "id": message-id}``. The message
        id is recorded in ``inbox_seen`` in the same transaction as the claim and its
        replies, so a redelivered message changes nothing; ack it after this returns.

        Raises:
            PayloadRejected: the payload is not such an object.
        """
        body = parse_command(payload, ("request", "id"), ())
        request, mid = body["request"], body["id"]
        with self._ctx.uow.tx() as conn:
            if not mark_seen(conn, f"claims/{provider}/{mid}", self._ctx.uow.clock.timestamp()):
                return ClaimResult(status="duplicate", request=request,
                                   message=f"claim message {mid} was handled before")
            try:
                with self._ctx.uow.savepoint(conn, "claim"):
                    self._claim(conn, provider, request, f"provider:{provider}")
            except (Conflict, NotFound) as exc:
                status = "conflict" if isinstance(exc, Conflict) else "not-found"
                self._ctx.uow.outbox.add(
                    conn, feed_topic(provider, request),
                    {"type": "claim-rejected", "request": request, "claim": mid,
                     "reason": str(exc)})
                return ClaimResult(status=status, request=request, message=str(exc))
            return ClaimResult(status="claimed", request=request,
                               message=f"{provider} claimed {request}")

    def fulfil(self, provider: str, oid: str, actor: str) -> dict[str, Any]:
        """The provider delivered."""
        with self._ctx.uow.tx() as conn:
            row = self._offer(conn, oid)
            if row["provider"] != provider:
                raise NotFound(N_("no request %(oid)s", oid=oid))
            if row["state"] != "scheduled":
                raise Conflict(N_("request %(oid)s is %(state)s, not scheduled", oid=oid, state=row['state']))
            row = self._set_state(conn, row, "fulfilled", actor)
            self._notify_household(conn, row, "fulfilled")
            self._ctx.emit("fulfilled", row["household"], oid,
                           {"object": "offer", "kind": row["kind"], "provider": provider})
            view = self._feeds.provider_view(row, provider) or {"request": oid}
            view["state"] = row["state"]
            return view

    def feed(self, provider: str, *, cursor: str | None = None, limit: int = 50) -> Page:
        """Open requests sent to the provider, newest first, consent-filtered."""
        return self._provider_page(
            provider, "o.state = 'accepted' AND o.id IN (SELECT offer FROM offer_recipients"
            " WHERE provider = ?)", (provider,), cursor, limit)

    def schedule(self, provider: str, *, cursor: str | None = None, limit: int = 50) -> Page:
        """Requests the provider claimed (scheduled, fulfilled, rated), soonest first."""
        after = decode_cursor(cursor)
        sql = ("SELECT * FROM offers WHERE provider = ? AND state IN"
               " ('scheduled', 'fulfilled', 'rated')")
        args: list[Any] = [provider]
        if after:
            sql += " AND (starts_at > ? OR (starts_at = ? AND id > ?))"
            args += [after[0], after[0], after[1]]
        sql += " ORDER BY starts_at, id LIMIT ?"
        args.append(limit + 1)
        rows = self._db.query(sql, args)
        items = [v for v in (self._feeds.provider_view(r, provider) for r in rows[:limit])
                 if v is not None]
        nxt = encode_cursor(rows[limit - 1]["starts_at"], rows[limit - 1]["id"]) if len(
            rows) > limit else None
        return Page(items=items, next_cursor=nxt)

    def community_page(self, community: str, *, cursor: str | None = None, limit: int = 50
                       ) -> Page:
        """Every request of a community's households (admin view), newest first."""
        after = decode_cursor(cursor)
        sql = ("SELECT o.* FROM offers o JOIN households h ON h.id = o.household"
               " WHERE h.community = ?")
        args: list[Any] = [community]
        if after:
            sql += " AND (o.created_at < ? OR (o.created_at = ? AND o.id < ?))"
            args += [after[0], after[0], after[1]]
        sql += " ORDER BY o.created_at DESC, o.id DESC LIMIT ?"
        args.append(limit + 1)
        rows = self._db.query(sql, args)
        nxt = encode_cursor(rows[limit - 1]["created_at"], rows[limit - 1]["id"]) if len(
            rows) > limit else None
        return Page(items=[offer_view(r) for r in rows[:limit]], next_cursor=nxt)

    def _provider_page(self, provider: str, where: str, params: tuple[Any, ...],
                       cursor: str | None, limit: int) -> Page:
        after = decode_cursor(cursor)
        sql = f"SELECT o.* FROM offers o WHERE {where}"
        args: list[Any] = list(params)
        if after:
            sql += " AND (o.created_at < ? OR (o.created_at = ? AND o.id < ?))"
            args += [after[0], after[0], after[1]]
        sql += " ORDER BY o.created_at DESC, o.id DESC LIMIT ?"
        args.append(limit + 1)
        rows = self._db.query(sql, args)
        items = []
        for r in rows[:limit]:
            view = self._feeds.provider_view(r, provider)
            if view is not None:
                items.append(view)
        nxt = encode_cursor(rows[limit - 1]["created_at"], rows[limit - 1]["id"]) if len(
            rows) > limit else None
        return Page(items=items, next_cursor=nxt)
