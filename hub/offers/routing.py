"""What the REST routers of the domain packages share: the caller, the role checks, the
common parameters, the idempotent POST and the page shape.

The offers, sharing, time-bank, projects and trust routers are all written with these, so
that a route shape (who may call, how a POST replays, how errors answer) is written once.

- The caller comes from the identity package's
  :func:`~hub.identity.auth.current_principal`, declared here and never overridden app-wide
  (an ``app.dependency_overrides`` entry makes FastAPI rebuild every route's dependencies on
  every request; tests override it in their own apps).
- The role checks are ``async``: they never block, and a sync dependency costs a hop to the
  thread pool on every request. Each carries ``roles`` so that
  :func:`hub.identity.auth.route_security` (and the OpenAPI document) know who may call.
- :func:`idempotent_post` runs a change once per ``Idempotency-Key``: a replay gets the first
  answer, a domain error is an RFC 9457 problem (replayed too).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from hub.errors import Forbidden
from hub.i18n.words import N_
from hub.identity.auth import current_principal
from hub.offers.idempotency import Idempotency, fingerprint
from hub.offers.pagination import MAX_PAGE, Page
from hub.offers.problems import detail_for, problem_response, problem_responses
from hub.offers.schemas import Problem


class PrincipalLike(Protocol):
    """Who is calling (the identity package's principal has these attributes)."""

    @property
    def account_id(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def household(self) -> str | None: ...
    @property
    def provider(self) -> str | None: ...
    @property
    def community(self) -> str | None: ...


#: The caller (401 without a live token).
Principal = Annotated[PrincipalLike, Depends(current_principal)]


def _role_check(role: str, who: str, scoped_by: str | None) -> Callable[..., Awaitable[PrincipalLike]]:
    """A dependency admitting callers of ``role`` whose ``scoped_by`` attribute is set."""

    async def check(p: Principal) -> PrincipalLike:
        if p.role != role or (scoped_by is not None and not getattr(p, scoped_by)):
            raise Forbidden(N_("this route is for %(who)s", who=who))
        return p

    check.roles = frozenset({role})  # type: ignore[attr-defined]
    check.__name__ = f"require_{role}" + (f"_with_{scoped_by}" if scoped_by else "")
    return check


#: A household (403 for other roles).
HouseholdP = Annotated[PrincipalLike, Depends(_role_check("household", "households", "household"))]
#: A provider (403 for other roles).
ProviderP = Annotated[PrincipalLike, Depends(_role_check("provider", "providers", "provider"))]
#: A community admin of a community (403 for other roles).
AdminP = Annotated[PrincipalLike, Depends(_role_check("admin", "community admins", "community"))]
#: Any community admin (one without a community administers the only community).
AnyAdminP = Annotated[PrincipalLike, Depends(_role_check("admin", "community admins", None))]

IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200,
                                       pattern=r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$",
                                       description="Replays with the same key get the "
                                       "first answer.", examples=["7d1c0f4e-accept-1"])]
Cursor = Annotated[str | None, Query(max_length=300, description="From `next_cursor`.")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"At most {MAX_PAGE}.")]
ObjId = Annotated[str, Path(min_length=1, max_length=160)]


def domain_router(tag: str, *statuses: int) -> APIRouter:
    """A router of one OpenAPI tag whose operations may all answer ``statuses`` (default
    401, 403, 422) as problems."""
    return APIRouter(tags=[tag], responses=problem_responses(*(statuses or (401, 403, 422))) | {
        "default": {"model": Problem, "description": "A problem (RFC 9457)"}})


def actor(p: PrincipalLike) -> str:
    """Who did it, for the transition records."""
    return f"{p.role}:{p.account_id}"


def page(result: Page) -> dict[str, Any]:
    """A page as the API answers it."""
    return {"items": result.items, "next_cursor": result.next_cursor}


def idempotent_post(request: Request, p: PrincipalLike, key: str | None, body: Any,
                    fn: Callable[[], Any], *, created: bool = False) -> Response:
    """Run ``fn`` once per (caller, ``Idempotency-Key``) and answer its result.

    A replay gets the first answer (a problem stays that problem); ``created`` answers 201
    instead of 200 for a change that made something. Without a key ``fn`` runs and its
    domain errors propagate to the app's problem handlers.
    """
    idem: Idempotency = request.app.state.hub.offers.idempotency
    raw = body.model_dump(mode="json") if body is not None else None
    status, answer, problem = idem.run(
        p.account_id, key, fingerprint("POST", request.url.path, raw), request.url.path, fn,
        lambda exc: detail_for(request, exc))
    if problem:
        return problem_response(status, answer)
    return JSONResponse(answer, status_code=201 if created and status == 200 else status)


def change_route(router: APIRouter, path: str, run: Callable[..., Any], *, name: str, summary: str,
                 response_model: Any, caller: Any = HouseholdP, body: type[BaseModel] | None = None,
                 body_required: bool = False, created: bool = False,
                 responses: tuple[int, ...] = (404, 409)) -> None:
    """Declare ``POST path``: the caller changes something, once per ``Idempotency-Key``.

    The shape of most POSTs of the domain routers, written once: the caller checked by
    ``caller`` (a role dependency), the path's ids as ``ObjId`` parameters, an optional (or,
    with ``body_required``, a required) JSON ``body`` of that model, and
    ``run(request, caller, body, **ids)`` called through :func:`idempotent_post` (201 for
    ``created``). ``name`` names the operation as a hand-written function would.
    """
    ids = re.findall(r"\{(\w+)\}", path)

    def endpoint(request: Request, p: PrincipalLike, idempotency_key: str | None = None,
                 body: BaseModel | None = None, **path_ids: str) -> Response:
        return idempotent_post(request, p, idempotency_key, body,
                               lambda: run(request, p, body, **path_ids), created=created)

    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter("request", keyword, annotation=Request),
              inspect.Parameter("p", keyword, annotation=caller)]
    params += [inspect.Parameter(i, keyword, annotation=ObjId) for i in ids]
    if body is not None:
        params.append(inspect.Parameter("body", keyword, annotation=body) if body_required else
                      inspect.Parameter("body", keyword, annotation=body | None, default=None))
    params.append(inspect.Parameter("idempotency_key", keyword, annotation=IdemKey, default=None))
    endpoint.__signature__ = inspect.Signature(params, return_annotation=Response)  # type: ignore[attr-defined]
    endpoint.__name__ = endpoint.__qualname__ = name
    router.post(path, status_code=201 if created else 200, response_model=response_model,
                responses=problem_responses(*responses), summary=summary)(endpoint)


__all__ = [
    "AdminP", "AnyAdminP", "Cursor", "HouseholdP", "IdemKey", "Limit", "ObjId", "Principal",
    "PrincipalLike", "ProviderP", "actor", "change_route", "domain_router", "idempotent_post", "page",
]
