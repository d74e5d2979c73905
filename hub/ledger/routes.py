"""Shared helpers of the time-bank, projects and trust routes.

The principal dependency is the offers' placeholder (:func:`hub.offers.api.get_principal`,
which the hub overrides with the identity's), and POSTs take the same ``Idempotency-Key``
through the same store (:class:`hub.offers.idempotency.Idempotency`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response

from hub.errors import Forbidden, NotFound
from hub.offers.api import PrincipalLike, get_principal
from hub.offers.idempotency import Idempotency, fingerprint
from hub.offers.problems import problem_response

Principal = Annotated[PrincipalLike, Depends(get_principal)]


def _household(p: Principal) -> PrincipalLike:
    if p.role != "household" or not p.household:
        raise Forbidden("this route is for households")
    return p


def _provider(p: Principal) -> PrincipalLike:
    if p.role != "provider" or not p.provider:
        raise Forbidden("this route is for providers")
    return p


def _admin(p: Principal) -> PrincipalLike:
    if p.role != "admin":
        raise Forbidden("this route is for community admins")
    return p


HouseholdP = Annotated[PrincipalLike, Depends(_household)]
ProviderP = Annotated[PrincipalLike, Depends(_provider)]
AdminP = Annotated[PrincipalLike, Depends(_admin)]


def component(request: Request, name: str) -> Any:
    """A component the hub built (``hub.components[name]``), 404 when not wired."""
    found = request.app.state.hub.components.get(name)
    if found is None:
        raise NotFound(f"{name} is not enabled on this hub")
    return found


def actor(p: PrincipalLike) -> str:
    """Who did it, for the transition records."""
    return f"{p.role}:{p.account_id}"


def community_of(request: Request, p: PrincipalLike) -> str:
    """The caller's community (an admin without one administers the only community)."""
    if p.community:
        return p.community
    if p.household:
        row = request.app.state.hub.db.query_one("SELECT community FROM households WHERE id = ?",
                                                 (p.household,))
        if row is not None:
            return str(row[0])
    rows = request.app.state.hub.db.query("SELECT id FROM communities ORDER BY id LIMIT 2")
    if len(rows) == 1:
        return str(rows[0][0])
    raise NotFound("no community for this account")


def post(request: Request, p: PrincipalLike, key: str | None, body: Any, fn: Callable[[], Any],
         *, created: bool = False) -> Response:
    """Run a POST once per Idempotency-Key; 201 for a creation."""
    offers = request.app.state.hub.offers
    idem: Idempotency = offers.idempotency
    raw = body.model_dump(mode="json") if body is not None else None
    status, answer, problem = idem.run(p.account_id, key,
                                       fingerprint("POST", request.url.path, raw),
                                       request.url.path, fn)
    if problem:
        return problem_response(status, answer)
    return JSONResponse(answer, status_code=201 if created else status)
