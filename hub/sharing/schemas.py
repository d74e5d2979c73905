"""Request bodies of the sharing API (pydantic at the edge; unknown fields are refused)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hub.offers.schemas import Body, When

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Text = Annotated[str, StringConstraints(max_length=2000)]
Note = Annotated[str, StringConstraints(max_length=500)]
Mode = Literal["lend", "give", "swap"]
Category = Literal["tools", "garden", "kitchen", "cleaning", "kids", "sports", "electronics",
                   "books", "household", "vehicles", "other"]
Condition = Literal["new", "good", "fair", "worn"]


class TermsBody(Body):
    """On what terms: free, a time-bank price (charged once the time bank exists), a
    deposit note, the longest loan."""

    free: bool = True
    timebank_hours: float | None = Field(default=None, gt=0, le=100)
    deposit: Note = ""
    max_days: int | None = Field(default=None, ge=1, le=365)


class ThingBody(Body):
    """A thing to list."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "title": "Cordless drill", "category": "tools", "mode": "lend",
        "description": "18 V, two batteries", "terms": {"free": True, "max_days": 3}}]})
    title: Title
    category: Category = "other"
    description: Text = ""
    condition: Condition = "good"
    mode: Mode = "lend"
    terms: TermsBody = Field(default_factory=TermsBody)
    blocked_days: list[date] = Field(default_factory=list, max_length=366)
    pickup_place: Annotated[str, StringConstraints(max_length=200)] = ""
    give_policy: Literal["first_come", "draw"] = "first_come"
    claim_until: When | None = None
    pickup_hours: int = Field(default=48, ge=1, le=336)
    pickup_until: When | None = None
    device: Annotated[str, StringConstraints(min_length=1, max_length=160)] | None = None
    suggestion: Annotated[str, StringConstraints(min_length=1, max_length=160)] | None = None


class ThingPatch(Body):
    """What the owner can change later."""

    title: Title | None = None
    category: Category | None = None
    description: Text | None = None
    condition: Condition | None = None
    terms: TermsBody | None = None
    blocked_days: list[date] | None = Field(default=None, max_length=366)
    pickup_place: Annotated[str, StringConstraints(max_length=200)] | None = None


class LoanBody(Body):
    """Ask to borrow a thing for a period."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "start": "2026-11-29T10:00:00+00:00", "end": "2026-11-29T12:00:00+00:00"}]})
    start: When
    end: When
    message: Note = ""
    wanted: Annotated[str, StringConstraints(min_length=1, max_length=160)] | None = None


class ReasonBody(Body):
    """An optional reason (decline, cancel)."""

    reason: Note = ""


class ReturnBody(Body):
    """Confirm the return, saying in what condition the thing came back."""

    condition_note: Note = ""


class ExtendBody(Body):
    """Move the end of a loan later."""

    end: When


class ProblemBody(Body):
    """Report a problem with a loan."""

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class LoanRateBody(Body):
    """Rate the other side of a returned loan."""

    stars: int = Field(ge=1, le=5)
    comment: Note = ""


class WantedBody(Body):
    """What a household needs, and when."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "text": "Wanted: a drill", "start": "2026-11-29T10:00:00+00:00",
        "end": "2026-11-29T12:00:00+00:00"}]})
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    category: Category | None = None
    start: When | None = None
    end: When | None = None
    expires_at: When | None = None


class CloseWantedBody(Body):
    """Close a wanted post."""

    state: Literal["fulfilled", "withdrawn"] = "fulfilled"


class SwapBody(Body):
    """Offer one of my things for a thing listed to swap."""

    offered: Annotated[str, StringConstraints(min_length=1, max_length=160)]
    message: Note = ""


class Out(BaseModel):
    """An answer object (documented loosely: its fields are described in the README)."""

    model_config = ConfigDict(extra="allow")


class PageOut(BaseModel):
    """One page of a list."""

    items: list[dict[str, Any]]
    next_cursor: str | None = None
