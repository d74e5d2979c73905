"""REST routes of the time bank (OpenAPI tag ``timebank``; CONTRACTS.md "Sharing").

Reads are ``async`` (a few indexed reads on this thread's own SQLite reader, no hop to the
thread pool), as the offers' are; writes, and the ledger check that walks the whole chain,
stay sync.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from hub.ledger.amounts import two_decimals
from hub.ledger.chain import verify_ledger
from hub.ledger.routes import (
    AdminP,
    HouseholdP,
    IdemKey,
    ObjId,
    Principal,
    PrincipalLike,
    actor,
    change_route,
    community_of,
    component,
    domain_router,
    post,
)
from hub.ledger.skills import CATEGORIES, Skills
from hub.ledger.timebank import TimeBank
from hub.offers.problems import problem_responses
from hub.offers.ratings import verify_chain

router = domain_router("timebank")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


if TYPE_CHECKING:
    Hours = Decimal
    CreditLimit = Decimal
    Grant = Decimal
else:
    Hours = two_decimals(gt=0, le=1000, description="More than 0, at most two decimals")
    CreditLimit = two_decimals(ge=-1000, le=0)
    Grant = two_decimals(ge=0, le=1000)


class TransferBody(_Strict):
    to: str = Field(min_length=1, max_length=160, description="The household that helped",
                    examples=["h-chen"])
    hours: Hours = Field(examples=[1.5])
    note: str = Field(default="", max_length=500, examples=["fixed my bike"])


class TransferOut(BaseModel):
    id: str
    payer: str
    to: str
    hours: float
    hundredths: int
    note: str
    status: Literal["pending", "confirmed", "declined", "cancelled", "reversed"]
    entry: str | None
    reversal: str | None
    created_at: str
    decided_at: str | None


class BalanceOut(BaseModel):
    household: str
    community: str
    hours: float
    hundredths: int
    credit_limit: float
    available: float
    pending_out: float
    pending_in: float


class EntryOut(BaseModel):
    id: str
    community: str
    kind: str
    debit: str
    credit: str
    cents: int
    transfer: str
    note: str
    created_at: str
    prev_hash: str
    hash: str
    hours: float
    balance: float
    hundredths: int
    balance_hundredths: int
    counterpart: str


class SettingsBody(_Strict):
    credit_limit: CreditLimit = Field(examples=[-10])
    welcome_grant: Grant = Field(default=Decimal(0), examples=[0])


class SettingsOut(BaseModel):
    community: str
    credit_limit: float
    welcome_grant: float
    credit_limit_hundredths: int
    welcome_grant_hundredths: int


class SkillBody(_Strict):
    side: Literal["offer", "request"]
    category: Literal[CATEGORIES]  # type: ignore[valid-type]
    title: str = Field(min_length=1, max_length=200, examples=["Bike repairs"])
    description: str = Field(default="", max_length=2000)


class SkillOut(BaseModel):
    id: str
    household: str
    side: str
    category: str
    title: str
    description: str
    state: str
    created_at: str


class SkillCreated(SkillOut):
    matches: list[SkillOut]


class LedgerOut(BaseModel):
    community: str
    entries: int
    hours_moved: float
    accounts: int
    sum: float
    hours_in_credit: float
    head: str
    ledger_ok: bool
    ledger_checked: int
    ratings_ok: bool
    ratings_checked: int
    broken_at: str | None


def _tb(request: Request) -> TimeBank:
    tb: TimeBank = component(request, "timebank")
    return tb


def _skills(request: Request) -> Skills:
    sk: Skills = component(request, "timebank_skills")
    return sk


def _me(p: PrincipalLike) -> str:
    assert p.household
    return p.household


change_route(router, "/timebank/transfers", name="record_transfer", response_model=TransferOut, created=True,
             summary="Record hours I owe a helper (pending until the helper confirms)",
             body=TransferBody, body_required=True,
             run=lambda rq, p, b: _tb(rq).record(_me(p), b.to, b.hours, b.note, actor(p)))
change_route(router, "/timebank/transfers/{tid}/confirm", name="confirm_transfer", response_model=TransferOut,
             summary="Confirm hours paid to me (helper only): the ledger moves",
             run=lambda rq, p, _body, tid: _tb(rq).confirm(_me(p), tid, actor(p)))
change_route(router, "/timebank/transfers/{tid}/decline", name="decline_transfer", response_model=TransferOut,
             summary="Decline (helper) or withdraw (payer) a pending transfer",
             run=lambda rq, p, _body, tid: _tb(rq).decline(_me(p), tid, actor(p)))
change_route(router, "/timebank/transfers/{tid}/reverse", name="reverse_transfer", response_model=TransferOut,
             summary="Give the hours of a confirmed transfer back (helper): a reversal entry",
             run=lambda rq, p, _body, tid: _tb(rq).reverse(_me(p), tid, actor(p)))
change_route(router, "/timebank/skills/{sid}/close", name="close_skill", response_model=SkillOut,
             summary="Take one of my listings down", responses=(404,),
             run=lambda rq, p, _body, sid: _skills(rq).close(_me(p), sid, actor(p)))




@router.get("/timebank/transfers", response_model=list[TransferOut],
            summary="My transfers, paid and received, newest first")
async def list_transfers(request: Request, p: HouseholdP,
                   limit: Annotated[int, Query(ge=1, le=100)] = 100) -> Any:
    assert p.household
    return _tb(request).transfers(p.household, limit)


@router.get("/timebank/transfers/{tid}", response_model=TransferOut,
            responses=problem_responses(404), summary="One of my transfers")
async def get_transfer(request: Request, p: HouseholdP, tid: ObjId) -> Any:
    assert p.household
    return _tb(request).get(p.household, tid)








@router.get("/timebank/balance", response_model=BalanceOut, summary="My balance in hours")
async def balance(request: Request, p: HouseholdP) -> Any:
    assert p.household
    tb = _tb(request)
    # Read-only once the account is open; opening it (the first call) is a write.
    return tb.balance_if_open(p.household) or await run_in_threadpool(tb.balance, p.household)


@router.get("/timebank/statement", response_model=list[EntryOut],
            summary="My ledger entries with the running balance")
async def statement(request: Request, p: HouseholdP) -> Any:
    assert p.household
    return _tb(request).statement(p.household)


@router.get("/timebank/statement.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "The statement as CSV"}},
            summary="My statement as CSV")
async def statement_csv(request: Request, p: HouseholdP) -> Response:
    assert p.household
    return Response(_tb(request).statement_csv(p.household), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="timebank-{p.household}.csv"'})


@router.get("/timebank/settings", response_model=SettingsOut,
            summary="My community's credit limit and welcome grant")
async def get_settings(request: Request, p: Principal) -> Any:
    return _tb(request).settings(community_of(request, p))


@router.put("/timebank/settings", response_model=SettingsOut,
            summary="Set the community's credit limit and welcome grant (admin)")
def put_settings(request: Request, p: AdminP, body: SettingsBody) -> Any:
    return _tb(request).set_settings(community_of(request, p), credit_limit=body.credit_limit,
                                     welcome_grant=body.welcome_grant)


@router.get("/timebank/ledger", response_model=LedgerOut,
            summary="The community's ledger totals and chain head, verified (anyone signed in)")
def ledger(request: Request, p: Principal) -> Any:
    tb = _tb(request)
    totals = tb.totals(community_of(request, p))
    report = verify_ledger(tb.db)
    ratings = verify_chain(tb.db)
    return {**totals, "head": report.head, "ledger_ok": report.ok,
            "ledger_checked": report.count, "ratings_ok": ratings.ok,
            "ratings_checked": ratings.count, "broken_at": report.broken_at or ratings.broken_at}


@router.post("/timebank/skills", status_code=201, response_model=SkillCreated,
             summary="Offer a skill or ask for help; answers the matches found")
def add_skill(request: Request, p: HouseholdP, body: SkillBody,
              idempotency_key: IdemKey = None) -> Response:
    assert p.household
    h, c = p.household, community_of(request, p)
    return post(request, p, idempotency_key, body, lambda: _skills(request).add(
        h, c, side=body.side, category=body.category, title=body.title,
        description=body.description, actor=actor(p)), created=True)


@router.get("/timebank/skills", response_model=list[SkillOut],
            summary="Open skill offers and requests of my community")
async def list_skills(request: Request, p: Principal,
                side: Annotated[Literal["offer", "request"] | None, Query()] = None,
                q: Annotated[str | None, Query(max_length=200)] = None) -> Any:
    return _skills(request).list(community_of(request, p), side=side, q=q)


@router.get("/timebank/skills/{sid}/matches", response_model=list[SkillOut],
            responses=problem_responses(404), summary="Listings that fit one of mine")
async def skill_matches(request: Request, p: HouseholdP, sid: ObjId) -> Any:
    assert p.household
    return _skills(request).matches(p.household, sid)
