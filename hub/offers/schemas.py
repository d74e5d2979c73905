"""Request and response bodies of the offers API (pydantic at the edge).

Request bodies forbid unknown fields: a ``household_id``, ``status`` or ``provider_id``
smuggled into a body is refused with 422, never obeyed (identity comes from the login).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field


def _sane_year(value: datetime) -> datetime:
    # Far-off years overflow date arithmetic (a 500, not a 422) and mean nothing here.
    if not 2000 <= value.year <= 2100:
        raise ValueError("must be between the years 2000 and 2100")
    return value


#: A time with an offset, in the years 2000 to 2100 (the document says so with a pattern).
When = Annotated[AwareDatetime, AfterValidator(_sane_year),
                 Field(json_schema_extra={"pattern": r"^(20[0-9]{2}|2100)-"})]


class Body(BaseModel):
    """Base of request bodies: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


class AcceptBody(Body):
    """Accept a suggestion; ``slot`` is needed for deliveries and reschedules."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"slot": "fresh-grocer@2026-11-28T18:00:00Z"}]})
    slot: str | None = Field(default=None, min_length=1, max_length=160)


class EmptyBody(Body):
    """No fields."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}]})


class MoveBody(Body):
    """Move a booking to another slot in one step."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"slot": "fresh-grocer@2026-11-28T21:00:00Z"}]})
    slot: str = Field(min_length=1, max_length=160)


class RateBody(Body):
    """Rate a fulfilled request."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"stars": 5, "comment": "Quick and friendly"}]})
    stars: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=500)


class PlaceBody(Body):
    """Where a gathering happens: a label with coordinates, a provider's tables (with
    ``seats``), or the host's own home (``home: true``)."""

    label: str = Field(min_length=1, max_length=120)
    home: bool = False
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    provider: str | None = Field(default=None, min_length=1, max_length=128)
    seats: int | None = Field(default=None, ge=1, le=200)


class GatheringBody(Body):
    """Create a gathering."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"title": "Dinner at river-bistro", "starts_at": "2026-11-28T18:30:00Z",
         "place": {"label": "River Bistro", "provider": "river-bistro", "seats": 3},
         "invite": ["h-ben", "h-chen"]},
        {"title": "Fishing at the lake", "starts_at": "2026-11-28T09:00:00Z",
         "ends_at": "2026-11-28T14:00:00Z", "capacity": 6,
         "place": {"label": "Lake Pier", "lat": 52.1304, "lon": 5.0}, "invite": ["h-ana"]},
    ]})
    title: str = Field(min_length=1, max_length=120)
    starts_at: When
    ends_at: When | None = None
    capacity: int | None = Field(default=None, ge=1, le=500)
    place: PlaceBody
    invite: list[str] = Field(default_factory=list, max_length=100)
    suggestion: str | None = Field(default=None, min_length=1, max_length=128)


class InviteBody(Body):
    """Invite more households."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"households": ["h-chen"]}]})
    households: list[str] = Field(min_length=1, max_length=100)


class RsvpBody(Body):
    """Answer an invitation."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"going": True}]})
    going: bool


class PointBody(Body):
    """A labelled point."""

    label: str = Field(default="", max_length=120)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class RideBody(Body):
    """Offer seats for a trip (from home unless ``origin`` is given)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"destination": {"label": "Lake Pier", "lat": 52.1304, "lon": 5.0},
         "depart_earliest": "2026-11-28T08:30:00Z", "seats": 3}]})
    destination: PointBody
    origin: PointBody | None = None
    depart_earliest: When
    depart_latest: When | None = None
    seats: int = Field(ge=1, le=8)


# -- responses ------------------------------------------------------------------------

class Out(BaseModel):
    """Base of response bodies (documentation; extra keys pass through)."""

    model_config = ConfigDict(extra="allow")


class Problem(Out):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str


class SuggestionOut(Out):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "id": "sug-1", "kind": "grocery", "title": "Groceries running low: milk, eggs. Delivery?",
        "message": "", "state": "proposed", "rule_id": "pantry-low", "notice_id": None,
        "acted_ref": None, "expires_at": "2026-11-28T20:00:00Z",
        "created_at": "2026-11-28T08:00:00Z", "updated_at": "2026-11-28T08:00:00Z",
        "data": {"items": [{"name": "milk", "qty": 0.2, "unit": "l"}],
                 "slots": [{"slot": "fresh-grocer@2026-11-28T09:00:00Z",
                            "provider": "fresh-grocer", "starts_at": "2026-11-28T09:00:00Z",
                            "ends_at": "2026-11-28T10:00:00Z", "free": 5}]}}]})
    id: str
    kind: str
    title: str
    message: str
    data: dict[str, Any]
    state: str
    created_at: str


class BookingOut(Out):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "id": "bk-1", "kind": "grocery", "ref": "req-1",
        "slot": "fresh-grocer@2026-11-28T18:00:00Z", "seats": 1, "title": "Grocery delivery",
        "starts_at": "2026-11-28T18:00:00Z", "ends_at": "2026-11-28T19:00:00Z",
        "state": "active", "clash": True, "created_at": "2026-11-28T08:10:00Z"}]})
    id: str
    kind: str
    ref: str
    starts_at: str
    ends_at: str
    state: str
    clash: bool


class RequestOut(Out):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "id": "req-1", "kind": "grocery", "state": "scheduled", "provider": "fresh-grocer",
        "slot": "fresh-grocer@2026-11-28T21:00:00Z", "starts_at": "2026-11-28T21:00:00Z",
        "ends_at": "2026-11-28T22:00:00Z", "data": {"items": []}}]})
    id: str
    kind: str
    state: str


class FeedItemOut(Out):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "request": "req-1", "kind": "grocery", "state": "accepted",
        "items": [{"name": "milk", "qty": 0.2, "unit": "l"}],
        "slot": {"start": "2026-11-28T18:00:00Z", "end": "2026-11-28T19:00:00Z"},
        "address": {"street": "Elm Street 12"}, "claimed_by_you": False}]})
    request: str
    kind: str
    state: str


class GatheringOut(Out):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "id": "gth-1", "title": "Dinner at river-bistro", "host": "h-ana",
        "place": "River Bistro", "provider": "river-bistro", "capacity": 3,
        "starts_at": "2026-11-28T18:30:00Z", "ends_at": "2026-11-28T20:30:00Z",
        "state": "open", "going": ["h-ana"], "places_left": 2, "invited": ["h-ben"],
        "waitlist": []}]})
    id: str
    title: str
    host: str
    capacity: int
    state: str


class RideOut(Out):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "id": "ride-1", "driver": "h-chen", "destination": "Lake Pier", "seats": 3,
        "seats_left": 2, "depart_earliest": "2026-11-28T08:30:00Z", "state": "open",
        "riders": [{"household": "h-ana", "status": "booked",
                    "pickup_at": "2026-11-28T08:35:00Z", "pickup_label": "Elm Street 12"}],
        "waitlist": []}]})
    id: str
    driver: str
    seats: int
    seats_left: int
    state: str


class RideMatchOut(Out):
    ride: str
    driver: str
    pickup_at: str
    arrive_at: str
    seats_left: int


class RatingOut(Out):
    id: str
    subject: str
    stars: int
    hash: str
    prev_hash: str


class AcceptOut(Out):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "suggestion": "sug-1", "kind": "grocery",
        "result": {"id": "req-1", "state": "accepted"}}]})
    suggestion: str
    kind: str
    result: dict[str, Any]


class ChainOut(Out):
    ok: bool
    count: int
    broken_at: str | None = None
    reason: str = ""


class SlotOut(Out):
    id: str
    provider: str
    kind: str
    starts_at: str
    ends_at: str
    capacity: int
    free: int


def page_model(item: type[BaseModel], name: str) -> type[BaseModel]:
    """A page of ``item`` with the next cursor."""
    from pydantic import create_model

    return create_model(name, __base__=Out, items=(list[item], ...),  # type: ignore[valid-type]
                        next_cursor=(str | None, None))


SuggestionPage = page_model(SuggestionOut, "SuggestionPage")
BookingPage = page_model(BookingOut, "BookingPage")
FeedPage = page_model(FeedItemOut, "FeedPage")
GatheringPage = page_model(GatheringOut, "GatheringPage")
RidePage = page_model(RideOut, "RidePage")
RequestPage = page_model(RequestOut, "RequestPage")

