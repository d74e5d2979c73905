"""REST and SSE routes of the offers package (``router``; the lead mounts it).

Every route takes the caller through the identity package's
:func:`~hub.identity.auth.current_principal`, declared once here (an app-wide
``dependency_overrides`` entry would make FastAPI rebuild every route's dependencies on
every request; tests override it in their own apps). Objects are scoped to their owner:
asking for someone else's gives 404, never their data. POSTs accept an ``Idempotency-Key``
header: a replay gets the first answer. Lists are cursor paginated (``limit`` at most 100,
larger is 422). Errors are RFC 9457 problems.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import Query, Request
from fastapi.responses import Response, StreamingResponse

from hub.errors import NotFound
from hub.i18n.words import N_
from hub.identity.auth import current_principal
from hub.offers.gatherings import Place
from hub.offers.problems import MEDIA_TYPE, problem_responses
from hub.offers.ratings import ratings_of
from hub.offers.routing import (
    AdminP,
    Cursor,
    HouseholdP,
    IdemKey,
    Limit,
    ObjId,
    Principal,
    PrincipalLike,
    ProviderP,
    actor,
    change_route,
    domain_router,
    idempotent_post,
    page,
)
from hub.offers.schemas import (
    AcceptBody,
    AcceptOut,
    BookingOut,
    BookingPage,
    ChainOut,
    EmptyBody,
    FeedItemOut,
    FeedPage,
    GatheringBody,
    GatheringOut,
    GatheringPage,
    InviteBody,
    MoveBody,
    RateBody,
    RatingOut,
    RequestOut,
    RequestPage,
    RideBody,
    RideMatchOut,
    RideOut,
    RidePage,
    RsvpBody,
    SlotOut,
    SuggestionOut,
    SuggestionPage,
)
from hub.offers.service import OffersService
from hub.offers.slots import slots_of

logger = logging.getLogger(__name__)

#: Seconds between SSE keep-alive comments.
HEARTBEAT_S = 15.0


#: The caller dependency under its former name: routes of other packages written against
#: the offers' placeholder (``Depends(get_principal)``) get the real check, with no override.
get_principal = current_principal

router = domain_router("offers")


def _svc(request: Request) -> OffersService:
    hub = request.app.state.hub
    svc: OffersService = hub.offers
    return svc


def _me(p: PrincipalLike) -> str:
    assert p.household
    return p.household


def _provider_of(p: PrincipalLike) -> str:
    assert p.provider
    return p.provider


# -- households -----------------------------------------------------------------------
# Reads are ``async``: each is a few indexed reads on this thread's own SQLite reader (a
# WAL snapshot that never waits for a writer), cheaper than the hop to the thread pool that
# FastAPI makes for a sync route. Writes stay sync: they wait for the write lock and commit.

@router.get("/suggestions", response_model=SuggestionPage, summary="My suggestions")
async def list_suggestions(request: Request, p: HouseholdP, cursor: Cursor = None,
                     limit: Limit = 50,
                     state: Annotated[str | None, Query(max_length=20)] = None) -> Any:
    assert p.household
    return page(_svc(request).suggestions.page(p.household, state=state, cursor=cursor,
                                                limit=limit))


@router.get("/suggestions/{sid}", response_model=SuggestionOut,
            responses=problem_responses(404), summary="One of my suggestions")
async def get_suggestion(request: Request, p: HouseholdP, sid: ObjId) -> Any:
    assert p.household
    return _svc(request).suggestions.get(p.household, sid).marshal()


change_route(router, "/suggestions/{sid}/accept", name="accept_suggestion", response_model=AcceptOut,
             summary="Accept a suggestion (a slot for deliveries and reschedules)",
             body=AcceptBody, body_required=True,
             run=lambda rq, p, b, sid: _svc(rq).accept_suggestion(_me(p), sid, slot=b.slot, actor=actor(p)))


change_route(router, "/suggestions/{sid}/decline", name="decline_suggestion", response_model=SuggestionOut,
             summary="Decline a suggestion",
             body=EmptyBody,
             run=lambda rq, p, _body, sid: _svc(rq).suggestions.decline(_me(p), sid, actor(p)).marshal())


@router.get("/grocery/slots", response_model=list[SlotOut],
            summary="Next free delivery slots of providers I consented to")
async def grocery_slots(request: Request, p: HouseholdP,
                  limit: Annotated[int, Query(ge=1, le=50)] = 6) -> Any:
    assert p.household
    return [{"id": s["slot"], "provider": s["provider"], "kind": "grocery",
             "starts_at": s["starts_at"], "ends_at": s["ends_at"], "capacity": s["free"],
             "free": s["free"]}
            for s in _svc(request).grocery.next_free_slots(p.household, limit)]


@router.get("/bookings", response_model=BookingPage,
            summary="My bookings of every kind, soonest first, with clash flags")
@router.get("/calendar", response_model=BookingPage,
            summary="My calendar: bookings of every kind, soonest first, with clash flags")
async def calendar(request: Request, p: HouseholdP, cursor: Cursor = None, limit: Limit = 50,
             include_ended: bool = False) -> Any:
    assert p.household
    return page(_svc(request).calendar.page(p.household, include_ended=include_ended,
                                             cursor=cursor, limit=limit))


@router.get("/bookings/{bid}", response_model=BookingOut, responses=problem_responses(404),
            summary="One of my bookings")
async def get_booking(request: Request, p: HouseholdP, bid: ObjId) -> Any:
    assert p.household
    return _svc(request).calendar.get(p.household, bid).marshal()


change_route(router, "/bookings/{bid}/move", name="move_booking", response_model=BookingOut,
             summary="Move a delivery to another slot in one step (releases the old one)",
             body=MoveBody, body_required=True,
             run=lambda rq, p, b, bid: _svc(rq).move_booking(_me(p), bid, b.slot, actor(p)))


change_route(router, "/bookings/{bid}/cancel", name="cancel_booking", response_model=BookingOut,
             summary="Cancel a booking",
             body=EmptyBody,
             run=lambda rq, p, _body, bid: _svc(rq).cancel_booking(_me(p), bid, actor(p)))


@router.get("/requests/{rid}", response_model=RequestOut, responses=problem_responses(404),
            summary="One of my delivery requests")
async def get_request(request: Request, p: HouseholdP, rid: ObjId) -> Any:
    assert p.household
    return _svc(request).grocery.get(p.household, rid)


change_route(router, "/requests/{rid}/rate", name="rate_request", response_model=RatingOut,
             summary="Rate a fulfilled request (append-only, hash-chained)",
             body=RateBody, body_required=True,
             run=lambda rq, p, b, rid: _svc(rq).grocery.rate(_me(p), rid, b.stars, b.comment, actor(p)))


@router.get("/gatherings", response_model=GatheringPage,
            summary="Gatherings I host or was invited to")
async def list_gatherings(request: Request, p: HouseholdP, cursor: Cursor = None,
                    limit: Limit = 50) -> Any:
    assert p.household
    return page(_svc(request).gatherings.page(p.household, cursor=cursor, limit=limit))


@router.post("/gatherings", response_model=GatheringOut, responses=problem_responses(404, 409),
             summary="Create a gathering (and book a provider's tables)")
def create_gathering(request: Request, p: HouseholdP, body: GatheringBody,
                     idempotency_key: IdemKey = None) -> Response:
    assert p.household
    h = p.household
    pl = body.place
    place = Place(label=pl.label, lat=pl.lat, lon=pl.lon, provider=pl.provider, seats=pl.seats,
                  home=pl.home)
    return idempotent_post(request, p, idempotency_key, body, lambda: _svc(request).gatherings.create(
        h, title=body.title, starts_at=body.starts_at, ends_at=body.ends_at,
        capacity=body.capacity, place=place, invite=body.invite, suggestion=body.suggestion,
        actor=actor(p)))


@router.get("/gatherings/{gid}", response_model=GatheringOut, responses=problem_responses(404),
            summary="A gathering I host or was invited to")
async def get_gathering(request: Request, p: HouseholdP, gid: ObjId) -> Any:
    assert p.household
    return _svc(request).gatherings.get(p.household, gid)


change_route(router, "/gatherings/{gid}/invite", name="invite", response_model=GatheringOut,
             summary="Invite more households (host)",
             body=InviteBody, body_required=True,
             run=lambda rq, p, b, gid: _svc(rq).gatherings.invite(_me(p), gid, b.households, actor(p)))


change_route(router, "/gatherings/{gid}/rsvp", name="rsvp", response_model=GatheringOut,
             summary="Answer an invitation (waitlisted when full)",
             body=RsvpBody, body_required=True,
             run=lambda rq, p, b, gid: _svc(rq).gatherings.rsvp(_me(p), gid, b.going, actor(p)))


@router.get("/rides", response_model=RidePage, summary="Rides I drive or ride in")
async def list_rides(request: Request, p: HouseholdP, cursor: Cursor = None, limit: Limit = 50
               ) -> Any:
    assert p.household
    return page(_svc(request).rides.page(p.household, cursor=cursor, limit=limit))


@router.post("/rides", response_model=RideOut, responses=problem_responses(409),
             summary="Offer seats for a trip")
def offer_ride(request: Request, p: HouseholdP, body: RideBody,
               idempotency_key: IdemKey = None) -> Response:
    assert p.household
    h = p.household
    o = body.origin
    return idempotent_post(request, p, idempotency_key, body, lambda: _svc(request).rides.offer(
        h, dest_label=body.destination.label, dest_lat=body.destination.lat,
        dest_lon=body.destination.lon, depart_earliest=body.depart_earliest,
        depart_latest=body.depart_latest, seats=body.seats,
        origin_label=o.label if o else None, origin_lat=o.lat if o else None,
        origin_lon=o.lon if o else None, actor=actor(p)))


@router.get("/rides/matches", response_model=list[RideMatchOut],
            responses=problem_responses(404),
            summary="Rides that fit a gathering I go to (time window and distance)")
async def ride_matches(request: Request, p: HouseholdP,
                 gathering: Annotated[str, Query(min_length=1, max_length=160)]) -> Any:
    assert p.household
    svc = _svc(request)
    g = svc.gatherings.get(p.household, gathering)
    if g["lat"] is None or g["lon"] is None:
        return []
    return [m.marshal() for m in svc.rides.match(p.household, dest_lat=g["lat"],
                                                 dest_lon=g["lon"], arrive_by=g["starts_at"])]


@router.get("/rides/{rid}", response_model=RideOut, responses=problem_responses(404),
            summary="A ride I drive or ride in (drivers see pickup times)")
async def get_ride(request: Request, p: HouseholdP, rid: ObjId) -> Any:
    assert p.household
    return _svc(request).rides.get(p.household, rid)


change_route(router, "/rides/{rid}/request", name="request_seat", response_model=RideOut,
             summary="Ask for a seat (booked with a pickup time, or waitlisted)",
             body=EmptyBody,
             run=lambda rq, p, _body, rid: _svc(rq).rides.request(_me(p), rid, actor(p)))


change_route(router, "/rides/{rid}/accept", name="accept_seat", response_model=RideOut,
             summary="Accept the seat the hub offered me on this ride (or ask for one)",
             body=EmptyBody,
             run=lambda rq, p, _body, rid: _svc(rq).accept_ride(_me(p), rid, actor(p)))


change_route(router, "/rides/{rid}/leave", name="leave_ride", response_model=RideOut,
             summary="Give up a seat (rider) or cancel the ride (driver)",
             body=EmptyBody,
             run=lambda rq, p, _body, rid: _svc(rq).rides.leave(_me(p), rid, actor(p)))


# -- providers ------------------------------------------------------------------------

@router.get("/provider/feed", response_model=FeedPage,
            summary="Open requests sent to me (only what households consented to share)")
async def provider_feed(request: Request, p: ProviderP, cursor: Cursor = None, limit: Limit = 50
                  ) -> Any:
    assert p.provider
    return page(_svc(request).grocery.feed(p.provider, cursor=cursor, limit=limit))


change_route(router, "/provider/requests/{rid}/claim", name="claim", response_model=FeedItemOut, caller=ProviderP,
             summary="Claim a request: exactly one provider wins, others get 409",
             body=EmptyBody,
             run=lambda rq, p, _body, rid: _svc(rq).grocery.claim(_provider_of(p), rid, actor(p)))


@router.get("/provider/schedule", response_model=FeedPage, summary="Requests I claimed")
async def provider_schedule(request: Request, p: ProviderP, cursor: Cursor = None,
                      limit: Limit = 50) -> Any:
    assert p.provider
    return page(_svc(request).grocery.schedule(p.provider, cursor=cursor, limit=limit))


change_route(router, "/provider/requests/{rid}/fulfil", name="fulfil", response_model=FeedItemOut, caller=ProviderP,
             summary="Mark a request delivered",
             body=EmptyBody,
             run=lambda rq, p, _body, rid: _svc(rq).grocery.fulfil(_provider_of(p), rid, actor(p)))


@router.get("/provider/slots", response_model=list[SlotOut], summary="My slots and capacity")
async def provider_slots(request: Request, p: ProviderP) -> Any:
    assert p.provider
    return [{"id": s.id, "provider": s.provider, "kind": s.kind, "starts_at": s.starts_at,
             "ends_at": s.ends_at, "capacity": s.capacity, "free": s.free}
            for s in slots_of(_svc(request).db, p.provider)]


@router.get("/provider/ratings", response_model=list[RatingOut], summary="Ratings of me")
async def provider_ratings(request: Request, p: ProviderP) -> Any:
    assert p.provider
    return ratings_of(_svc(request).db, p.provider)


# -- community admins -----------------------------------------------------------------

@router.get("/admin/gatherings", response_model=GatheringPage,
            summary="Every gathering of my community")
async def admin_gatherings(request: Request, p: AdminP, cursor: Cursor = None, limit: Limit = 50
                     ) -> Any:
    assert p.community
    return page(_svc(request).gatherings.list_community(p.community, cursor=cursor,
                                                         limit=limit))


@router.get("/admin/requests", response_model=RequestPage,
            summary="Every request of my community's households")
async def admin_requests(request: Request, p: AdminP, cursor: Cursor = None, limit: Limit = 50
                   ) -> Any:
    assert p.community
    return page(_svc(request).grocery.community_page(p.community, cursor=cursor, limit=limit))


@router.get("/ratings/verify", response_model=ChainOut,
            summary="Recompute the rating hash chain (anyone signed in may check it)")
def verify_ratings(request: Request, p: Principal) -> Any:
    r = _svc(request).verify_ratings()
    return {"ok": r.ok, "count": r.count, "broken_at": r.broken_at, "reason": r.reason}


# -- live updates ---------------------------------------------------------------------

def _audience(p: PrincipalLike) -> str:
    if p.role == "household" and p.household:
        return f"household:{p.household}"
    if p.role == "provider" and p.provider:
        return f"provider:{p.provider}"
    if p.role == "admin" and p.community:
        return f"community:{p.community}"
    raise NotFound(N_("no live updates for this account"))


@router.get("/events", response_class=StreamingResponse,
            responses={200: {"description": "Server-sent events for the caller",
                             "content": {"text/event-stream": {"example":
                                         "event: suggestion\ndata: {\"id\":\"sug-1\"}\n\n"}}}},
            summary="Live updates (SSE) for my household, provider or community")
async def events(request: Request, p: Principal) -> StreamingResponse:
    audience = _audience(p)
    stream = _svc(request).live.subscribe(audience)

    async def body() -> AsyncIterator[bytes]:
        try:
            yield b"event: ready\ndata: {}\n\n"
            while True:
                try:
                    event = await asyncio.wait_for(anext(stream), HEARTBEAT_S)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                except StopAsyncIteration:
                    yield b"event: dropped\ndata: {}\n\n"
                    return
                kind = str(event.get("type", "update")).replace("\n", " ")
                yield b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"
        finally:
            with contextlib.suppress(Exception):
                await stream.aclose()

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


__all__ = [
    "MEDIA_TYPE", "Cursor", "HouseholdP", "IdemKey", "Limit", "ObjId", "PrincipalLike",
    "get_principal", "router",
]
