"""REST routes for notices (mounted by the lead; ``router``).

* ``GET /communities/{community}/notices``: the community's active notices.
* ``GET /households/{household}/notices``: the active notices delivered to a household
  (``?language=`` picks the variant).
* ``POST /communities/{community}/notices``: a community admin posts a notice, either as a
  JSON body (:class:`NoticeIn`, unknown fields refused) or as raw CAP XML with
  ``Content-Type: application/cap+xml`` (also ``application/xml``, ``text/xml``).

Authorisation: the POST route is for community admins (:func:`require_admin`; the admin's
name becomes the notice's ``sender``). The GET routes need a login: a community's notices
are for its members, a household's for that household (others get 404, as if absent).

The book is reached as ``request.app.state.hub.notices`` (:class:`NoticeBook`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from hub.errors import NoticeRejected
from hub.identity.accounts import Principal
from hub.identity.auth import current_principal, require_role
from hub.notices.book import NoticeBook
from hub.notices.model import Area, Notice, NoticeInfo
from hub.notices.parse import DEFAULT_MAX_BYTES
from hub.offers.problems import problem_responses

router = APIRouter(tags=["notices"])

CAP_CONTENT_TYPES = {"application/cap+xml", "application/xml", "text/xml"}
CapCategory = Literal[
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
]


def _other() -> list[CapCategory]:
    return ["Other"]


_admin = require_role("admin")


def require_admin(principal: Annotated[Principal, Depends(_admin)]) -> str:
    """Only a community admin may post notices; returns the admin's name (the sender)."""
    return principal.username


def _member(principal: Principal, community: str) -> None:
    """404 unless the caller belongs to ``community`` (or administers it)."""
    if principal.role != "admin" and principal.community != community:
        raise HTTPException(status_code=404, detail="no such community")


async def get_book(request: Request) -> NoticeBook:
    """The hub's notice book (``app.state.hub.notices``)."""
    book: NoticeBook = request.app.state.hub.notices
    return book


class AreaIn(BaseModel):
    """Where a posted notice applies; empty means the whole community."""

    model_config = ConfigDict(extra="forbid")

    description: str = Field(default="", max_length=2000)
    codes: dict[str, list[str]] = Field(default_factory=dict)
    polygons: list[list[tuple[float, float]]] = Field(default_factory=list, max_length=50)
    circles: list[tuple[float, float, float]] = Field(default_factory=list, max_length=50)

    @field_validator("polygons")
    @classmethod
    def _rings(cls, rings: list[list[tuple[float, float]]]) -> list[list[tuple[float, float]]]:
        for ring in rings:
            if not 3 <= len(ring) <= 1000:
                raise ValueError("a polygon needs 3 to 1000 points")
            for lat, lon in ring:
                _check_point(lat, lon)
        return rings

    @field_validator("circles")
    @classmethod
    def _circles(
        cls, circles: list[tuple[float, float, float]]
    ) -> list[tuple[float, float, float]]:
        for lat, lon, radius in circles:
            _check_point(lat, lon)
            if not 0 <= radius <= 1000:
                raise ValueError("a circle radius is 0 to 1000 km")
        return circles

    def to_area(self) -> Area:
        rings = []
        for ring in self.polygons:
            points = [(float(lat), float(lon)) for lat, lon in ring]
            if points[0] != points[-1]:
                points.append(points[0])
            rings.append(tuple(points))
        return Area(
            description=self.description,
            codes={k: tuple(v) for k, v in self.codes.items()},
            polygons=tuple(rings),
            circles=tuple(self.circles),
        )


def _check_point(lat: float, lon: float) -> None:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"({lat}, {lon}) is not a WGS 84 lat/lon")


class NoticeIn(BaseModel):
    """A notice posted by a community admin (the CAP fields that matter to a community)."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[^\s,<&]+$")
    msg_type: Literal["alert", "update", "cancel"] = "alert"
    references: list[str] = Field(default_factory=list, max_length=50)
    status: Literal["Actual", "Exercise", "System", "Test", "Draft"] = "Actual"
    event: str = Field(min_length=1, max_length=200)
    category: list[CapCategory] = Field(default_factory=_other, min_length=1)
    severity: Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"] = "Unknown"
    urgency: Literal["Immediate", "Expected", "Future", "Past", "Unknown"] = "Unknown"
    certainty: Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"] = "Unknown"
    headline: str = Field(default="", max_length=500)
    description: str = Field(default="", max_length=20000)
    instruction: str = Field(default="", max_length=5000)
    language: str = Field(default="en", min_length=2, max_length=35)
    onset: AwareDatetime | None = None
    expires: AwareDatetime | None = None
    area: AreaIn = Field(default_factory=AreaIn)

    def to_notice(self, *, community: str, sender: str, sent: datetime) -> Notice:
        if self.msg_type != "alert" and not self.references:
            raise NoticeRejected(f"a {self.msg_type} needs references")
        info = NoticeInfo(
            language=self.language,
            category=tuple(self.category),
            event=self.event,
            severity=self.severity,
            urgency=self.urgency,
            certainty=self.certainty,
            headline=self.headline,
            description=self.description,
            instruction=self.instruction,
            onset=self.onset,
            expires=self.expires,
            area=self.area.to_area(),
        )
        return Notice.from_infos(
            infos=[info],
            language=None,
            id=self.id or f"{community}-{uuid.uuid4().hex}",
            sender=sender,
            sent=sent,
            msg_type=self.msg_type,
            status=self.status,
            references=tuple(self.references),
            source="api",
        )


def _view(book: NoticeBook, notice: Notice) -> dict[str, Any]:
    community = str(notice.community)
    return notice.marshal() | {
        "community": community,
        "households": len(book.households_of(notice.id, community)),
    }


@router.get("/communities/{community}/notices", responses=problem_responses(401, 404))
async def community_notices(
    community: str,
    book: Annotated[NoticeBook, Depends(get_book)],
    principal: Annotated[Principal, Depends(current_principal)],
) -> list[dict[str, Any]]:
    """The community's active notices (with the number of households targeted); members only."""
    _member(principal, community)
    return [_view(book, n) for n in book.active(community=community)]


@router.get("/households/{household}/notices", responses=problem_responses(401, 404))
async def household_notices(
    household: str,
    book: Annotated[NoticeBook, Depends(get_book)],
    principal: Annotated[Principal, Depends(current_principal)],
    language: str | None = None,
) -> list[dict[str, Any]]:
    """The active notices delivered to a household, in ``language`` when offered.

    Only that household (or an admin) may read them; anyone else gets 404.
    """
    if principal.role != "admin" and principal.household != household:
        raise HTTPException(status_code=404, detail="no such household")
    return [
        n.in_language(language).marshal() | {"community": n.community}
        for n in book.active(household=household)
    ]


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status_code=413, detail=f"body above {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(status_code=413, detail=f"body above {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/communities/{community}/notices", status_code=201, responses=problem_responses(401, 403, 413, 422)
)
async def post_notice(
    community: str,
    request: Request,
    book: Annotated[NoticeBook, Depends(get_book)],
    admin: Annotated[Any, Depends(require_admin)],
) -> dict[str, Any]:
    """Post a notice as JSON (:class:`NoticeIn`) or CAP XML; returns the changes it caused.

    Errors: 413 body too large, 422 invalid JSON body or refused CAP document (with the
    reason).
    """
    body = await _read_limited(request, DEFAULT_MAX_BYTES)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    source = f"api:{admin}" if isinstance(admin, str) else "api"
    try:
        if content_type in CAP_CONTENT_TYPES:
            changes = book.ingest_bytes(body, community=community, source=source)
        else:
            try:
                posted = NoticeIn.model_validate_json(body)
            except ValidationError as exc:
                errors = [
                    {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
                    for e in exc.errors()
                ]
                raise HTTPException(status_code=422, detail=errors) from exc
            sender = admin if isinstance(admin, str) else "community-admin"
            clock = getattr(request.app.state.hub, "clock", None)
            sent = clock.now() if clock is not None else datetime.now(UTC)
            notice = posted.to_notice(community=community, sender=sender, sent=sent)
            changes = book.ingest(notice, community=community, source=source)
    except NoticeRejected as exc:
        raise HTTPException(status_code=422, detail=f"notice refused: {exc}") from exc
    rules = getattr(request.app.state.hub, "rules", None)
    if rules is not None:  # the rules react to a posted notice as to any other
        for change in changes:
            rules.on_event(change)
    return {"changes": [c.marshal() for c in changes]}
