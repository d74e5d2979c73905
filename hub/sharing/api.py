"""REST routes of the sharing package: ``things`` and ``loans`` (CONTRACTS.md "Sharing").

Households only (providers and admins get 403). A thing of another community is 404, a
loan is seen only by its two households. POSTs accept an ``Idempotency-Key``
(:func:`hub.offers.routing.idempotent_post`). Errors are RFC 9457 problems; a period that
is taken is a 409 whose ``clash`` member names it. Reads are ``async``: a few indexed reads
in one snapshot on this thread's own SQLite reader (no write lock, no hop to the thread
pool), as the offers' reads do.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from hub.errors import Forbidden
from hub.i18n.words import N_
from hub.offers.problems import problem_responses
from hub.offers.routing import (
    Cursor,
    HouseholdP,
    IdemKey,
    Limit,
    ObjId,
    PrincipalLike,
    actor,
    change_route,
    domain_router,
    idempotent_post,
    page,
)
from hub.offers.schemas import EmptyBody
from hub.sharing.common import iso
from hub.sharing.schemas import (
    CloseWantedBody,
    ExtendBody,
    LoanBody,
    LoanRateBody,
    Out,
    PageOut,
    ProblemBody,
    ReasonBody,
    ReturnBody,
    SwapBody,
    ThingBody,
    ThingPatch,
    WantedBody,
)
from hub.sharing.service import SharingService
from hub.sharing.things import NewThing, Terms

things_router = domain_router("things")
loans_router = domain_router("loans")


def svc(request: Request) -> SharingService:
    """The hub's sharing service."""
    service: SharingService = request.app.state.hub.sharing
    return service


def me(p: PrincipalLike) -> str:
    assert p.household
    return p.household


# -- things ---------------------------------------------------------------------------

@things_router.post("/things", status_code=201, response_model=Out,
                    responses=problem_responses(404, 409),
                    summary="List a thing to lend, give away or swap")
def create_thing(request: Request, p: HouseholdP, body: ThingBody,
                 idempotency_key: IdemKey = None) -> Response:
    new = NewThing(
        title=body.title, category=body.category, description=body.description,
        condition=body.condition, mode=body.mode, terms=Terms(**body.terms.model_dump()),
        blocked_days=tuple(d.isoformat() for d in body.blocked_days),
        pickup_place=body.pickup_place, give_policy=body.give_policy,
        claim_until=iso(body.claim_until) if body.claim_until else None,
        pickup_hours=body.pickup_hours,
        pickup_until=iso(body.pickup_until) if body.pickup_until else None,
        device=body.device, suggestion=body.suggestion)
    h = me(p)
    return idempotent_post(request, p, idempotency_key, body, lambda: svc(request).create_thing(
        h, new, actor(p)), created=True)


@things_router.get("/things", response_model=PageOut,
                   summary="The community library: things matching text, category, mode,"
                   " distance")
async def search_things(request: Request, p: HouseholdP,
                  q: Annotated[str, Query(max_length=200)] = "",
                  category: Annotated[str | None, Query(max_length=40)] = None,
                  mode: Annotated[str | None, Query(pattern="^(lend|give|swap)$")] = None,
                  max_km: Annotated[float | None, Query(gt=0, le=100)] = None,
                  mine: bool = False, include_withdrawn: bool = False,
                  cursor: Annotated[str | None, Query(pattern="^[0-9]{0,6}$")] = None,  # "": the first page
                  limit: Limit = 50) -> Any:
    return page(svc(request).things.search(
        me(p), q=q, category=category, mode=mode, max_km=max_km, mine=mine,
        include_withdrawn=include_withdrawn and mine, offset=int(cursor or 0), limit=limit))


@things_router.get("/things/{tid}", response_model=Out, responses=problem_responses(404),
                   summary="A thing of my community")
async def get_thing(request: Request, p: HouseholdP, tid: ObjId) -> Any:
    return svc(request).things.get(me(p), tid)


@things_router.patch("/things/{tid}", response_model=Out, responses=problem_responses(404),
                     summary="Change my thing (description, terms, blocked days)")
def patch_thing(request: Request, p: HouseholdP, tid: ObjId, body: ThingPatch) -> Any:
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "terms" in changes and body.terms is not None:
        changes["terms"] = Terms(**body.terms.model_dump())
    if "blocked_days" in changes and body.blocked_days is not None:
        changes["blocked_days"] = [d.isoformat() for d in body.blocked_days]
    return svc(request).things.update(me(p), tid, changes, actor(p))




_IMAGE_TYPES: dict[str, Any] = {t: {"schema": {"type": "string", "format": "binary"}}
                for t in ("image/jpeg", "image/png", "image/webp")}


def _photo_responses() -> dict[int | str, dict[str, Any]]:
    out: dict[int | str, dict[str, Any]] = {200: {"description": "The photo",
                                                  "content": _IMAGE_TYPES}}
    return out | problem_responses(404)


@things_router.post("/things/{tid}/photos", status_code=201, response_model=Out,
                    responses=problem_responses(404, 409, 413),
                    openapi_extra={"requestBody": {"required": True, "content": _IMAGE_TYPES}},
                    summary="Add a photo (the image bytes as the body; JPEG, PNG or WebP,"
                    " checked by content, metadata stripped)")
async def add_photo(request: Request, p: HouseholdP, tid: ObjId) -> Any:
    data = await request.body()
    h = me(p)
    return await run_in_threadpool(svc(request).photos.add, h, tid, data, actor(p))


@things_router.get("/things/{tid}/photos/{pid}", response_class=Response,
                   responses=_photo_responses(),
                   summary="A photo of a thing of my community")
def get_photo(request: Request, p: HouseholdP, tid: ObjId, pid: ObjId) -> Response:
    data, media_type = svc(request).photos.read(me(p), tid, pid)
    return Response(data, media_type=media_type, headers={
        "Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'"})


@things_router.delete("/things/{tid}/photos/{pid}", status_code=204, response_class=Response,
                      responses=problem_responses(404), summary="Remove a photo of my thing")
def delete_photo(request: Request, p: HouseholdP, tid: ObjId, pid: ObjId) -> Response:
    svc(request).photos.remove(me(p), tid, pid, actor(p))
    return Response(status_code=204)


change_route(things_router, "/things/{tid}/withdraw", name="withdraw_thing", response_model=Out,
             summary="Take my thing off the library", body=EmptyBody,
             run=lambda rq, p, _body, tid: svc(rq).things.withdraw(me(p), tid, actor(p)))


# -- loans ----------------------------------------------------------------------------



@loans_router.get("/loans", response_model=PageOut,
                  summary="My loans: borrowed and lent, newest first")
async def list_loans(request: Request, p: HouseholdP,
               role: Annotated[str | None, Query(pattern="^(owner|borrower)$")] = None,
               status: Annotated[str | None, Query(max_length=20)] = None,
               cursor: Cursor = None, limit: Limit = 50) -> Any:
    return page(svc(request).loans.page(me(p), role=role, status=status, cursor=cursor,
                                        limit=limit))


@loans_router.get("/loans/{lid}", response_model=Out, responses=problem_responses(404),
                  summary="One of my loans")
async def get_loan(request: Request, p: HouseholdP, lid: ObjId) -> Any:
    return svc(request).loans.get(me(p), lid)


def _owner_only(request: Request, household: str, lid: str) -> None:
    loan = svc(request).loans.get(household, lid)
    if loan["owner"] != household:
        raise Forbidden(N_("only the owner of %(title)r answers this request", title=loan['thing']['title']))


@loans_router.post("/loans/{lid}/accept", response_model=Out,
                   responses=problem_responses(404, 409),
                   summary="Accept a request (owner; 409 when the period was taken)")
def accept_loan(request: Request, p: HouseholdP, lid: ObjId, body: EmptyBody | None = None,
                idempotency_key: IdemKey = None) -> Response:
    h = me(p)
    _owner_only(request, h, lid)
    return idempotent_post(request, p, idempotency_key, body, lambda: svc(request).loans.accept(
        h, lid, actor(p)))


@loans_router.post("/loans/{lid}/decline", response_model=Out,
                   responses=problem_responses(404, 409), summary="Decline a request (owner)")
def decline_loan(request: Request, p: HouseholdP, lid: ObjId, body: ReasonBody | None = None,
                 idempotency_key: IdemKey = None) -> Response:
    h = me(p)
    _owner_only(request, h, lid)
    reason = body.reason if body else ""
    return idempotent_post(request, p, idempotency_key, body, lambda: svc(request).loans.decline(
        h, lid, reason, actor(p)))














change_route(loans_router, "/things/{tid}/loans", name="request_loan", response_model=Out, created=True,
             summary="Ask to borrow a thing for a period (409 when the period is taken)",
             body=LoanBody, body_required=True,
             run=lambda rq, p, b, tid: svc(rq).loans.request(me(p), tid, b.start, b.end, message=b.message,
                                                             wanted=b.wanted, actor=actor(p)))
change_route(loans_router, "/loans/{lid}/cancel", name="cancel_loan", response_model=Out,
             summary="Cancel a requested or accepted loan (either side)", body=ReasonBody,
             run=lambda rq, p, b, lid: svc(rq).loans.cancel(me(p), lid, b.reason if b else "", actor(p)))
change_route(loans_router, "/loans/{lid}/handover", name="handover_loan", response_model=Out,
             summary="Confirm the handover (both sides; then the thing is out)", body=EmptyBody,
             run=lambda rq, p, _body, lid: svc(rq).loans.handover(me(p), lid, actor(p)))
change_route(loans_router, "/loans/{lid}/return", name="return_loan", response_model=Out,
             summary="Confirm the return with a condition note (both sides)", body=ReturnBody,
             run=lambda rq, p, b, lid: svc(rq).loans.return_(me(p), lid, b.condition_note if b else "",
                                                             actor(p)))
change_route(loans_router, "/loans/{lid}/extend", name="extend_loan", response_model=Out,
             summary="Extend a loan (409 when the thing is taken then)", body=ExtendBody, body_required=True,
             run=lambda rq, p, b, lid: svc(rq).loans.extend(me(p), lid, b.end, actor(p)))
change_route(loans_router, "/loans/{lid}/problem", name="report_problem", response_model=Out,
             summary="Report a problem (damage, late, no-show); the other side is told",
             body=ProblemBody, body_required=True,
             run=lambda rq, p, b, lid: svc(rq).loans.report_problem(me(p), lid, b.text, actor(p)))
change_route(loans_router, "/loans/{lid}/rate", name="rate_loan", response_model=Out,
             summary="Rate the other side of a returned loan (hash-chained)", body=LoanRateBody,
             body_required=True,
             run=lambda rq, p, b, lid: svc(rq).loans.rate(me(p), lid, b.stars, b.comment, actor(p)))


# -- give-aways, swaps, wanted posts --------------------------------------------------

@things_router.get("/things/{tid}/claims", response_model=Out,
                   responses=problem_responses(404, 409),
                   summary="Claims on a give-away (all for its owner, mine for others)")
async def giveaway_claims(request: Request, p: HouseholdP, tid: ObjId) -> Any:
    return svc(request).giveaways.claims(me(p), tid)










@things_router.get("/swaps", response_model=list[Out], summary="Swaps proposed by me or to me")
async def list_swaps(request: Request, p: HouseholdP) -> Any:
    return svc(request).swaps.list(me(p))








@things_router.get("/wanted", response_model=list[Out],
                   summary="Open wanted posts of my community")
async def list_wanted(request: Request, p: HouseholdP) -> Any:
    return svc(request).wanted.list_open(me(p))


@things_router.get("/wanted/{wid}", response_model=Out, responses=problem_responses(404),
                   summary="A wanted post of my community (its matches if it is mine)")
async def get_wanted(request: Request, p: HouseholdP, wid: ObjId) -> Any:
    return svc(request).wanted.get(me(p), wid)




change_route(things_router, "/things/{tid}/claims", name="claim_giveaway", response_model=Out, created=True,
             summary="Claim a give-away (first come, or a place in the draw)", body=EmptyBody,
             run=lambda rq, p, _body, tid: svc(rq).giveaways.claim(me(p), tid, actor(p)))
change_route(things_router, "/things/{tid}/claims/withdraw", name="withdraw_claim", response_model=Out,
             summary="Withdraw my claim (the next claimant gets it)", body=EmptyBody,
             run=lambda rq, p, _body, tid: svc(rq).giveaways.withdraw(me(p), tid, actor(p)))
change_route(things_router, "/things/{tid}/given", name="giveaway_collected", response_model=Out,
             summary="Confirm the winner collected my give-away", body=EmptyBody,
             run=lambda rq, p, _body, tid: svc(rq).giveaways.handed_over(me(p), tid, actor(p)))
change_route(things_router, "/things/{tid}/swaps", name="propose_swap", response_model=Out, created=True,
             summary="Propose one of my things for a thing listed to swap", body=SwapBody, body_required=True,
             run=lambda rq, p, b, tid: svc(rq).swaps.propose(me(p), tid, b.offered, b.message, actor(p)))
change_route(things_router, "/swaps/{sid}/accept", name="accept_swap", response_model=Out,
             summary="Accept a swap proposed to me (both things change hands)", body=EmptyBody,
             run=lambda rq, p, _body, sid: svc(rq).swaps.accept(me(p), sid, actor(p)))
change_route(things_router, "/swaps/{sid}/close", name="close_swap", response_model=Out,
             summary="Decline (owner) or withdraw (proposer) an open swap", body=EmptyBody,
             run=lambda rq, p, _body, sid: svc(rq).swaps.close(me(p), sid, actor(p)))
change_route(things_router, "/wanted", name="post_wanted", response_model=Out, created=True,
             summary="Post what I need; matched to listed things and their owners", body=WantedBody,
             body_required=True,
             run=lambda rq, p, b: svc(rq).wanted.post(me(p), b.text, category=b.category, start=b.start,
                                                      end=b.end, expires_at=b.expires_at, actor=actor(p)))
change_route(things_router, "/wanted/{wid}/close", name="close_wanted", response_model=Out,
             summary="Close my wanted post", body=CloseWantedBody,
             run=lambda rq, p, b, wid: svc(rq).wanted.close(me(p), wid, b.state if b else "fulfilled",
                                                            actor(p)))


routers = [things_router, loans_router]
