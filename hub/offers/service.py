"""The offers package's facade: builds the services and routes requests by kind."""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.clock import Clock
from hub.errors import Conflict, NotFound
from hub.i18n.words import N_
from hub.offers.calendar import Calendar
from hub.offers.consent import AllowAll, ConsentPort
from hub.offers.context import Context, LivePort
from hub.offers.events import EventCallback
from hub.offers.feeds import Feeds
from hub.offers.gatherings import Gatherings
from hub.offers.grocery import REQUEST_KINDS, ClaimResult, Grocery, mark_seen, parse_command
from hub.offers.idempotency import Idempotency
from hub.offers.live import LiveUpdates
from hub.offers.ratings import ChainReport, verify_chain
from hub.offers.rides import Rides
from hub.offers.sink import OffersSink
from hub.offers.suggestions import Suggestions, suggestion_topic
from hub.offers.uow import UnitOfWork
from hub.storage.database import Database
from hub.storage.outbox import Outbox


class OffersService:
    """Everything about offers, bookings, gatherings, rides and ratings.

    Args:
        db: the hub's database (migration 0030 applied).
        outbox: the transactional outbox.
        clock: the hub's clock.
        consent: answers ``allowed(household, provider, provider_kinds, purpose, signal)``;
            defaults to allowing everything (unit tests only).
        on_event: called with each :class:`~hub.offers.events.OfferEvent` after commit.
        live: where live updates for the web UI go (``publish(audience, event)``); a
            :class:`~hub.offers.live.LiveUpdates` is created when not given.
    """

    def __init__(self, db: Database, outbox: Outbox, clock: Clock, *,
                 consent: ConsentPort | None = None, on_event: EventCallback | None = None,
                 live: LivePort | None = None) -> None:
        self.db = db
        self.uow = UnitOfWork(db, outbox, clock)
        self.live: LiveUpdates = live if isinstance(live, LiveUpdates) else LiveUpdates()
        self.ctx = Context(uow=self.uow, consent=consent or AllowAll(), on_event=on_event,
                           live=live or self.live)
        self.idempotency = Idempotency(self.uow)
        self.suggestions = Suggestions(self.ctx)
        self.calendar = Calendar(self.ctx, self.suggestions)
        self.feeds = Feeds(self.ctx)
        self.grocery = Grocery(self.ctx, self.suggestions, self.calendar, self.feeds)
        self.rides = Rides(self.ctx, self.calendar, self.suggestions)
        self.gatherings = Gatherings(self.ctx, self.calendar, self.suggestions)
        self.gatherings.on_going.append(self.rides.suggest_for_gathering)
        self.sink = OffersSink(self.ctx, self.suggestions, self.grocery)

    # -- wiring -----------------------------------------------------------------------

    def close(self) -> None:
        """Deliver events still waiting for a joined transaction, stop the worker thread."""
        self.uow.close()

    def set_consent(self, consent: ConsentPort) -> None:
        """Swap in the identity package's consent port."""
        self.ctx.consent = consent

    def set_on_event(self, on_event: EventCallback | None) -> None:
        """Swap in the rules engine's event listener."""
        self.ctx.on_event = on_event

    def set_live(self, live: LiveUpdates) -> None:
        """Swap in the live-update broadcaster (the SSE route reads ``self.live``)."""
        self.live = live
        self.ctx.live = live

    def handle_claim(self, provider: str, payload: bytes) -> ClaimResult:
        """A message on ``providers/<provider>/claims``; see :meth:`Grocery.handle_claim`."""
        return self.grocery.handle_claim(provider, payload)

    def handle_accept(self, household: str, payload: bytes) -> ClaimResult:
        """A household's accept over MQTT (the household comes from the topic and login).

        The payload is ``{"suggestion": id, "slot": slot-id (optional), "id": message-id}``.
        Like :meth:`handle_claim`, the message id is recorded in ``inbox_seen`` in the same
        transaction as the accept; a refusal is answered on the suggestion's topic.
        Returns a result with status ``accepted``, ``conflict``, ``not-found`` or
        ``duplicate``.

        Raises:
            PayloadRejected: the payload is not such an object.
        """
        body = parse_command(payload, ("suggestion", "id"), ("slot",))
        sid, mid, slot = body["suggestion"], body["id"], body.get("slot")
        with self.uow.tx() as conn:
            if not mark_seen(conn, f"accepts/{household}/{mid}", self.uow.clock.timestamp()):
                return ClaimResult(status="duplicate", request=sid,
                                   message=f"accept message {mid} was handled before")
            try:
                with self.uow.savepoint(conn, "accept"):
                    self.accept_suggestion(household, sid, slot=slot,
                                           actor=f"household:{household}")
            except (Conflict, NotFound) as exc:
                self.uow.outbox.add(conn, suggestion_topic(household, sid),
                                    {"type": "accept-rejected", "suggestion": sid,
                                     "accept": mid, "reason": str(exc)})
                return ClaimResult(status="conflict" if isinstance(exc, Conflict)
                                   else "not-found", request=sid, message=str(exc))
            return ClaimResult(status="accepted", request=sid,
                               message=f"{household} accepted {sid}")

    def consent_revoked(self, household: str, provider: str) -> int:
        """Stop the flow of a household's data to a provider now; see :meth:`Feeds.revoke`."""
        return self.feeds.revoke(household, provider)

    def drop_unsent_feed(self, conn: sqlite3.Connection, household: str,
                         providers: list[str] | None = None) -> int:
        """Inside a revoking transaction: drop or narrow the household's waiting feed
        messages that consent no longer covers; see :meth:`Feeds.drop_unsent`."""
        return self.feeds.drop_unsent(conn, household, providers)

    def expire_due(self) -> list[str]:
        """Expire open suggestions whose time is up and requests nobody claimed before
        their slot began (call every minute); return the ids expired."""
        return self.suggestions.expire_due() + self.grocery.expire_due()

    def verify_ratings(self) -> ChainReport:
        """Check the rating hash chain."""
        return verify_chain(self.db)

    # -- requests routed by kind ------------------------------------------------------

    def accept_suggestion(self, household: str, sid: str, *, slot: str | None, actor: str
                          ) -> dict[str, Any]:
        """Accept a suggestion; what that means depends on its kind.

        grocery, service, lending: book ``slot`` and send the request to providers.
        ride: ask for the seat. reschedule: move the clashing delivery to ``slot``.
        Anything else: acknowledged.
        """
        sug = self.suggestions.get(household, sid)
        if sug.kind in REQUEST_KINDS:
            if not slot:
                raise Conflict(N_("pick a slot to accept this %(kind)s request", kind=sug.kind))
            return {"suggestion": sid, "kind": sug.kind,
                    "result": self.grocery.accept(household, sid, slot, actor)}
        if sug.kind == "ride":
            ride = str(sug.data.get("ride", ""))
            return {"suggestion": sid, "kind": sug.kind,
                    "result": self.rides.request(household, ride, actor, suggestion=sid)}
        if sug.kind == "reschedule":
            if not slot:
                raise Conflict(N_("pick a slot to move the delivery to"))
            booking = str(sug.data.get("booking", ""))
            return {"suggestion": sid, "kind": sug.kind,
                    "result": self.move_booking(household, booking, slot, actor)}
        if sug.kind == "gathering":
            # Accepting means creating the gathering, which needs a title, time and guests.
            raise Conflict(N_("create the gathering (POST /gatherings) with this suggestion's id"))
        with self.uow.tx() as conn:
            done = self.suggestions.mark(conn, household, sid, "accepted", actor)
        return {"suggestion": sid, "kind": sug.kind, "result": done.marshal()}

    def accept_ride(self, household: str, ride: str, actor: str) -> dict[str, Any]:
        """Take a seat on a ride, closing the ride suggestion that offered it, if open."""
        offered = [s for s in self.suggestions.page(household, state="proposed",
                                                    limit=100).items
                   if s["kind"] == "ride" and s["data"].get("ride") == ride]
        return self.rides.request(household, ride, actor,
                                  suggestion=offered[0]["id"] if offered else None)

    def move_booking(self, household: str, booking_id: str, slot: str, actor: str
                     ) -> dict[str, Any]:
        """Move a booking to another slot in one step (deliveries)."""
        booking = self.calendar.get(household, booking_id)
        if booking.state != "active":
            raise Conflict(N_("booking %(booking_id)s is %(state)s", booking_id=booking_id, state=booking.state))
        if booking.kind not in REQUEST_KINDS:
            raise Conflict(N_("a %(kind)s booking cannot be moved to a slot", kind=booking.kind))
        self.grocery.move(household, booking, slot, actor)
        return self.calendar.get(household, booking_id).marshal()

    def cancel_booking(self, household: str, booking_id: str, actor: str) -> dict[str, Any]:
        """Cancel a booking of any kind; capacity goes back and providers are told."""
        booking = self.calendar.get(household, booking_id)
        if booking.state != "active":
            raise Conflict(N_("booking %(booking_id)s is %(state)s", booking_id=booking_id, state=booking.state))
        if booking.kind in REQUEST_KINDS:
            self.grocery.cancel(household, booking, actor)
        elif booking.kind == "gathering":
            self.gatherings.leave_or_cancel(household, booking.ref, actor)
        elif booking.kind == "ride":
            self.rides.leave(household, booking.ref, actor)
        else:
            raise Conflict(N_("a %(kind)s booking cannot be cancelled here", kind=booking.kind))
        return self.calendar.get(household, booking_id).marshal()
