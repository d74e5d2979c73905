"""REST routes of a person's notifications: preferences and push subscriptions.

``GET``/``PUT /me/notifications`` (channels, kinds, quiet hours, digest, language, email
address; the hub's VAPID public key for ``pushManager.subscribe``), ``POST``/``DELETE
/me/push-subscriptions`` (the browser's ``PushSubscription.toJSON()``). Households' people
only; a refusal is an RFC 9457 problem that names the field (422).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from hub.errors import NotFound
from hub.notify.prefs import Prefs, check
from hub.notify.service import Notifier
from hub.offers.api import HouseholdP
from hub.offers.problems import problem_responses
from hub.offers.schemas import Problem

JsonBody = Annotated[dict[str, Any], Body()]


class EndpointBody(BaseModel):
    """Which subscription to forget."""

    model_config = ConfigDict(extra="forbid")
    endpoint: str = Field(min_length=1, max_length=1000)

router = APIRouter(tags=["notifications"], responses=problem_responses(401, 403, 422) | {
    "default": {"model": Problem, "description": "A problem (RFC 9457)"}})


def notifier_of(request: Request) -> Notifier:
    """The hub's notifier."""
    found: Notifier = request.app.state.hub.components["notifier"]
    return found


def _view(n: Notifier, account: str, household: str) -> dict[str, Any]:
    prefs = n.prefs.get(account) or Prefs(account=account, household=household, channels=(), kinds=())
    return prefs.marshal() | {"configured": n.prefs.get(account) is not None,
                              "email_available": n.mailer is not None,
                              "push_public_key": n.push.public_key(),
                              "push_subscriptions": len(n.push.subscriptions(account))}


@router.get("/me/notifications", summary="My notification preferences")
async def get_prefs(request: Request, p: HouseholdP) -> dict[str, Any]:
    n = notifier_of(request)
    assert p.household
    return await run_in_threadpool(_view, n, p.account_id, p.household)


@router.put("/me/notifications", summary="Change my notification preferences")
async def put_prefs(request: Request, p: HouseholdP, body: JsonBody) -> dict[str, Any]:
    n = notifier_of(request)
    assert p.household
    household = p.household

    def update() -> dict[str, Any]:
        n.prefs.update(p.account_id, household, check(body))
        return _view(n, p.account_id, household)
    return await run_in_threadpool(update)


@router.post("/me/push-subscriptions", status_code=201, summary="Store this browser's push subscription")
async def subscribe(request: Request, p: HouseholdP, body: JsonBody) -> JSONResponse:
    n = notifier_of(request)
    sub = await run_in_threadpool(n.push.subscribe, p.account_id, body)
    return JSONResponse({"id": sub.id, "endpoint": sub.endpoint}, status_code=201)


@router.delete("/me/push-subscriptions", status_code=204, summary="Forget a push subscription")
async def unsubscribe(request: Request, p: HouseholdP, body: EndpointBody) -> Response:
    removed = await run_in_threadpool(notifier_of(request).push.unsubscribe, p.account_id, body.endpoint)
    if not removed:
        raise NotFound("no such subscription of yours")
    return Response(status_code=204)
