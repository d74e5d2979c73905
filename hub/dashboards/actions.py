"""The dashboards' form posts: accept, decline, move, revoke, claim, fulfil, post a notice.

Each is POST-redirect-GET: the form posts here, the write goes through
:mod:`hub.dashboards.data`, and the browser is sent back to its view with a one-time
message saying what happened (or why not: a domain error's own sentence).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, tzinfo
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from hub.dashboards import data, localtime, names, session
from hub.dashboards.forms import Form, read_form
from hub.errors import HubError
from hub.i18n.words import N_, said

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)



def _run(request: Request, back: str, action: Callable[[], data.ActionResult]) -> Response:
    """Do ``action`` and go back to ``back`` with its message."""
    response = RedirectResponse(back, status_code=303)
    try:
        result = action()
        session.flash(response, request, result.message, ok=result.ok)
    except data.Unavailable as exc:
        session.flash(response, request, said(exc), ok=False)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ()))
        session.flash(response, request, f"{where}: {first.get('msg', 'invalid')}", ok=False)
    except HubError as exc:  # NotFound, Conflict, Forbidden, NoticeRejected: their own sentence
        session.flash(response, request, said(exc), ok=False)
    return response


def _path_id(value: str) -> str:
    return value[:160]


async def _posted(request: Request, *roles: str) -> tuple[Form, data.PrincipalLike] | Response:
    """The form of a POST from a logged-in browser of ``roles`` with a valid CSRF token,
    or the response refusing it."""
    form = await read_form(request)
    refusal = session.csrf_refusal(request, form.get("csrf", max_length=64))
    if refusal is not None:
        return refusal
    p = session.gate(request, *roles)
    if isinstance(p, Response):
        return p
    return form, p


@router.post("/ui/suggestions/{sid}/accept")
async def accept(request: Request, sid: str) -> Response:
    got = await _posted(request, data.HOUSEHOLD)
    if isinstance(got, Response):
        return got
    form, p = got
    slot = form.get("slot", max_length=160)
    hub = request.app.state.hub
    return _run(request, "/ui/household#suggestions", lambda: data.accept(hub, p, _path_id(sid), slot or None))


@router.post("/ui/suggestions/{sid}/decline")
async def decline(request: Request, sid: str) -> Response:
    got = await _posted(request, data.HOUSEHOLD)
    if isinstance(got, Response):
        return got
    _form, p = got
    hub = request.app.state.hub
    return _run(request, "/ui/household#suggestions", lambda: data.decline(hub, p, _path_id(sid)))


@router.post("/ui/suggestions/{sid}/gather")
async def gather(request: Request, sid: str) -> Response:
    got = await _posted(request, data.HOUSEHOLD)
    if isinstance(got, Response):
        return got
    form, p = got
    sitting = form.get("sitting", max_length=160, required=True)
    title = form.get("title", max_length=200).strip()
    seats_text = form.get("seats", max_length=3, default="2")
    invite = [h.strip() for h in form.get("invite", max_length=1000).replace(";", ",").split(",") if h.strip()]
    hub = request.app.state.hub

    def act() -> data.ActionResult:
        if not seats_text.isdigit() or not 1 <= int(seats_text) <= 50:
            return data.ActionResult(False, N_("seats: a number from 1 to 50"))
        guests = names.household_ids(hub.db, p.community, invite[:50])
        return data.book_gathering(hub, p, _path_id(sid), sitting, title, int(seats_text), guests)

    return _run(request, "/ui/household#gatherings", act)


@router.post("/ui/gatherings/{gid}/rsvp")
async def rsvp(request: Request, gid: str) -> Response:
    got = await _posted(request, data.HOUSEHOLD)
    if isinstance(got, Response):
        return got
    form, p = got
    going = form.get("going", max_length=5) == "yes"
    hub = request.app.state.hub
    return _run(request, "/ui/household#gatherings", lambda: data.rsvp(hub, p, _path_id(gid), going))


@router.post("/ui/requests/{rid}/rate")
async def rate(request: Request, rid: str) -> Response:
    got = await _posted(request, data.HOUSEHOLD)
    if isinstance(got, Response):
        return got
    form, p = got
    stars = form.get("stars", max_length=1, required=True)
    comment = form.get("comment", max_length=500).strip()
    hub = request.app.state.hub

    def act() -> data.ActionResult:
        if stars not in {"1", "2", "3", "4", "5"}:
            return data.ActionResult(False, N_("stars: 1 to 5"))
        return data.rate(hub, p, _path_id(rid), int(stars), comment)

    return _run(request, "/ui/household#calendar", act)


@router.post("/ui/bookings/{bid}/move")
async def move(request: Request, bid: str) -> Response:
    got = await _posted(request, data.HOUSEHOLD)
    if isinstance(got, Response):
        return got
    form, p = got
    slot = form.get("slot", max_length=160, required=True)
    hub = request.app.state.hub
    return _run(request, "/ui/household#calendar", lambda: data.move(hub, p, _path_id(bid), slot))


@router.post("/ui/consents/{grant_id}/revoke")
async def revoke(request: Request, grant_id: str) -> Response:
    got = await _posted(request, data.HOUSEHOLD)
    if isinstance(got, Response):
        return got
    _form, p = got
    hub = request.app.state.hub
    return _run(request, "/ui/household#consents", lambda: data.revoke_consent(hub, p, _path_id(grant_id)))


@router.post("/ui/provider/requests/{rid}/claim")
async def claim(request: Request, rid: str) -> Response:
    got = await _posted(request, data.PROVIDER)
    if isinstance(got, Response):
        return got
    _form, p = got
    hub = request.app.state.hub
    return _run(request, "/ui/provider#feed", lambda: data.claim(hub, p, _path_id(rid)))


@router.post("/ui/provider/requests/{rid}/fulfil")
async def fulfil(request: Request, rid: str) -> Response:
    got = await _posted(request, data.PROVIDER)
    if isinstance(got, Response):
        return got
    _form, p = got
    hub = request.app.state.hub
    return _run(request, "/ui/provider#schedule", lambda: data.fulfil(hub, p, _path_id(rid)))


def _polygon(text: str) -> list[list[tuple[float, float]]]:
    """``lat,lon; lat,lon; ...`` (or a JSON list of pairs) as one ring; empty text: none."""
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        pairs = json.loads(text)
        return [[(float(a), float(b)) for a, b in pairs]]
    ring = []
    for part in text.replace("\n", ";").split(";"):
        if part.strip():
            lat, lon = part.split(",")
            ring.append((float(lat), float(lon)))
    return [ring]


def notice_fields(form: Form, zone: tzinfo = UTC) -> dict[str, Any]:
    """The notices package's ``NoticeIn`` fields from the community view's form.

    Raises:
        ValueError: an area or a time that cannot be read (the message says how to write it).
    """
    try:
        polygons = _polygon(form.get("polygon", max_length=20000))
        circles = []
        circle = form.get("circle", max_length=100)
        if circle.strip():
            lat, lon, radius = (float(x) for x in circle.split(","))
            circles.append((lat, lon, radius))
    except (ValueError, TypeError) as exc:
        raise ValueError(N_("area: write points as 'lat,lon; lat,lon; ...' and a circle as "
                            "'lat,lon,radius_km'")) from exc
    fields: dict[str, Any] = {
        "event": form.get("event", max_length=200, required=True),
        "headline": form.get("headline", max_length=500),
        "description": form.get("description", max_length=5000),
        "severity": form.get("severity", max_length=20, default="Unknown"),
        "category": [form.get("category", max_length=20, default="Other")],
        "area": {"description": form.get("area_description", max_length=500), "polygons": polygons,
                 "circles": circles},
    }
    for name in ("onset", "expires"):
        value = form.get(name, max_length=40).strip()
        if value:
            try:
                # A datetime-local value is the community's local time, as the page says.
                fields[name] = localtime.read_local(value, zone).isoformat()
            except ValueError as exc:
                raise ValueError(N_("%(field)s: not a date and time (%(value)s)", field=name,
                                    value=value[:40])) from exc
    return fields


@router.post("/ui/community/notices")
async def post_notice(request: Request) -> Response:
    """Post a notice from the community view (admins); the notices package validates it."""
    got = await _posted(request, data.ADMIN)
    if isinstance(got, Response):
        return got
    form, p = got
    hub = request.app.state.hub

    def act() -> data.ActionResult:
        try:
            fields = notice_fields(form, localtime.community_zone(hub.db, p.community))
        except ValueError as exc:
            return data.ActionResult(False, said(exc))
        return data.post_notice(hub, p, fields)

    return _run(request, "/ui/community#notices", act)
