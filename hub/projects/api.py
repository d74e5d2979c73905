"""REST routes of pooled projects (OpenAPI tag ``projects``; CONTRACTS.md "Sharing").

Reads are ``async`` (indexed reads on this thread's own SQLite reader), writes sync.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from hub.errors import Forbidden, NotFound
from hub.i18n.words import N_
from hub.ledger.amounts import two_decimals
from hub.ledger.routes import (
    IdemKey,
    ObjId,
    Principal,
    ProviderP,
    actor,
    community_of,
    component,
    domain_router,
    post,
)
from hub.offers.problems import problem_responses
from hub.offers.schemas import When
from hub.projects.service import Projects

router = domain_router("projects")


if TYPE_CHECKING:
    GoalAmount = Decimal
    Money = Decimal
else:
    GoalAmount = two_decimals(ge=0, le=10**9)
    Money = two_decimals(gt=0, le=10**9)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProjectBody(_Strict):
    title: str = Field(min_length=1, max_length=200, examples=["Heating pellets, bulk"])
    goal_pledges: int = Field(ge=1, le=10000, examples=[6])
    deadline: When = Field(examples=["2026-12-04T18:00:00Z"])
    description: str = Field(default="", max_length=4000)
    options: list[Annotated[str, Field(min_length=1, max_length=120)]] = Field(
        default_factory=list, max_length=10, examples=[["6 mm pellets", "8 mm pellets"]])
    goal_amount: GoalAmount = Decimal(0)
    provider: str | None = Field(default=None, max_length=160, examples=["fresh-grocer"])
    split: dict[Annotated[str, Field(min_length=1, max_length=40)],
                Annotated[int, Field(ge=0, le=1000)]] | None = Field(
        default=None, max_length=10,
        examples=[{"buyers": 3, "organiser": 3, "community_fund": 3, "provider": 1}])


class PledgeBody(_Strict):
    amount: Money = Field(examples=[1])
    option: str | None = Field(default=None, max_length=120)


class BidBody(_Strict):
    price: Money = Field(examples=[1450])
    note: str = Field(default="", max_length=1000)


class ProjectOut(BaseModel):
    id: str
    community: str
    proposer_kind: str
    proposer: str
    title: str
    description: str
    options: list[str]
    goal_pledges: int
    goal_amount: float
    provider: str | None
    split: dict[str, int]
    deadline: str
    state: Literal["open", "met", "missed"]
    pledges: int
    pledged_amount: float
    progress: float
    votes: dict[str, int]
    bids: list[dict[str, Any]]
    my_pledge: dict[str, Any] | None = None
    outcome: dict[str, Any]
    created_at: str
    closed_at: str | None
    pledgers: list[dict[str, Any]] | None = None


def _projects(request: Request) -> Projects:
    p: Projects = component(request, "projects")
    return p


def _proposer(p: Any) -> tuple[str, str]:
    if p.role == "household" and p.household:
        return "household", p.household
    if p.role == "provider" and p.provider:
        return "provider", p.provider
    if p.role == "admin":
        return "community", p.account_id
    raise NotFound(N_("this account cannot propose projects"))


@router.post("/projects", status_code=201, response_model=ProjectOut,
             responses=problem_responses(404),
             summary="Propose a pooled project (household, provider or community admin)")
def propose(request: Request, p: Principal, body: ProjectBody,
            idempotency_key: IdemKey = None) -> Response:
    kind, who = _proposer(p)
    community = community_of(request, p)
    return post(request, p, idempotency_key, body, lambda: _projects(request).propose(
        community, proposer_kind=kind, proposer=who, title=body.title,
        goal_pledges=body.goal_pledges, deadline=body.deadline.isoformat(), description=body.description,
        options=body.options, goal_amount=body.goal_amount, provider=body.provider,
        split=body.split, actor=actor(p)), created=True)


@router.get("/projects", response_model=list[ProjectOut], summary="My community's projects")
async def list_projects(request: Request, p: Principal,
                  state: Annotated[Literal["open", "met", "missed"] | None, Query()] = None) -> Any:
    return _projects(request).of_community(community_of(request, p), p.household, state=state)


@router.get("/projects/{pid}", response_model=ProjectOut, responses=problem_responses(404),
            summary="One project, with its progress (providers see pledgers as consented)")
async def get_project(request: Request, p: Principal, pid: ObjId) -> Any:
    svc = _projects(request)
    community = community_of(request, p)
    if p.role == "provider" and p.provider:
        row = request.app.state.hub.db.query_one("SELECT kinds FROM providers WHERE id = ?",
                                                 (p.provider,))
        kinds = json.loads(row[0]) if row else []
        return svc.provider_view(p.provider, kinds, community, pid)
    return svc.get(community, pid, p.household)


@router.post("/projects/{pid}/pledges", status_code=201, response_model=ProjectOut,
             responses=problem_responses(404, 409),
             summary="Pledge to a project: all or nothing, settled at the deadline")
def pledge(request: Request, p: Principal, pid: ObjId, body: PledgeBody,
           idempotency_key: IdemKey = None) -> Response:
    if p.role != "household" or not p.household:
        raise Forbidden(N_("only households pledge"))
    h, community = p.household, community_of(request, p)
    return post(request, p, idempotency_key, body, lambda: _projects(request).pledge(
        h, community, pid, amount=body.amount, option=body.option, actor=actor(p)), created=True)


@router.post("/projects/{pid}/bids", status_code=201, response_model=ProjectOut,
             responses=problem_responses(404, 409),
             summary="Bid to serve a project (providers): the cheapest bid wins at the deadline")
def bid(request: Request, p: ProviderP, pid: ObjId, body: BidBody,
        idempotency_key: IdemKey = None) -> Response:
    assert p.provider
    prov, community = p.provider, community_of(request, p)
    return post(request, p, idempotency_key, body, lambda: _projects(request).bid(
        prov, community, pid, price=body.price, note=body.note, actor=actor(p)), created=True)
