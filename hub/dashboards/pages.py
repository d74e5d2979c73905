"""The dashboards' pages (GET) and the login form.

Routes are ``async``: they read the digital twin, which lives on the event loop. Each view
asks :mod:`hub.dashboards.data` for exactly what its principal may see.
"""

from __future__ import annotations

import asyncio
import json
import zoneinfo
from collections import defaultdict
from functools import cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.dashboards import data, link_data, localtime, session, svg
from hub.dashboards.forms import read_form
from hub.dashboards.names import Names
from hub.dashboards.render import page, reader_for
from hub.errors import HubError
from hub.i18n import messages
from hub.i18n.words import N_, said
from hub.identity import communities

router = APIRouter(include_in_schema=False)


def _hub(request: Request) -> Any:
    return request.app.state.hub


def _safe_next(target: str | None) -> str | None:
    """Only local paths of the dashboards: never an open redirect."""
    if target and target.startswith("/ui/") and "//" not in target and "\\" not in target:
        return target
    return None


@router.get("/")
async def root(request: Request) -> Response:
    """The login page, or the logged-in user's own view."""
    p = session.viewer(request)
    return RedirectResponse(session.home_of(p) if p else "/ui/login", status_code=303)


@router.get("/login")
@router.get("/ui")
async def login_alias() -> Response:
    return RedirectResponse("/ui/login", status_code=303)


@router.get("/ui/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    p = session.viewer(request)
    if p is not None:
        return RedirectResponse(_safe_next(next) or session.home_of(p), status_code=303)
    available = data.component(_hub(request), "identity") is not None
    return page(request, "login.html", next=_safe_next(next) or "", available=available, error=None)


@router.post("/ui/login")
async def login_submit(request: Request) -> Response:
    """Check the password with the identity service and set the session cookie."""
    form = await read_form(request)
    username = form.get("username", max_length=200, required=True).strip()
    password = form.get("password", max_length=1024, required=True)
    next_ = form.get("next", max_length=300)
    hub = _hub(request)
    address = request.client.host if request.client else ""
    try:
        # Password hashing is slow on purpose: keep it off the event loop.
        token = await asyncio.to_thread(data.login, hub, username, password, address)
    except data.Unavailable as exc:
        return page(request, "login.html", status_code=503, next=next_, available=False, error=said(exc))
    except HubError as exc:  # the identity's refusal: wrong password, too many attempts
        status = getattr(exc, "status", 401)
        status = status if status in (401, 429) else 401
        refusal = page(request, "login.html", status_code=status, next=next_, available=True,
                       error=said(exc), username=username)
        retry = getattr(exc, "retry_after", None)
        if status == 429 and retry is not None:
            refusal.headers["Retry-After"] = str(max(1, int(retry)))
        return refusal
    p = data.principal_from_token(hub, token)
    if p is None:
        return page(request, "login.html", status_code=401, next=next_, available=True,
                    error=N_("login failed"), username=username)
    response = RedirectResponse(_safe_next(next_) or session.home_of(p), status_code=303)
    session.set_session(response, request, token)
    return response


@router.post("/ui/logout")
async def logout(request: Request) -> Response:
    form = await read_form(request)
    refusal = session.csrf_refusal(request, form.get("csrf", max_length=64))
    if refusal is not None:
        return refusal
    data.logout(_hub(request), session.token_of(request))
    response = RedirectResponse("/ui/login", status_code=303)
    session.clear_session(response)
    return response


# -- household --------------------------------------------------------------------------------


def _home_marker(hub: Any, p: data.PrincipalLike) -> tuple[float, float] | None:
    if p.role != data.HOUSEHOLD or not p.household:
        return None
    row = hub.db.query_one("SELECT lat, lon FROM households WHERE id = ?", (p.household,))
    if row is None or row["lat"] is None or row["lon"] is None:
        return None
    return float(row["lat"]), float(row["lon"])


@router.get("/ui/household", response_class=HTMLResponse)
async def household_view(request: Request) -> Response:
    """Devices, pantry, suggestions, calendar, notices and consents of my household."""
    p = session.gate(request, data.HOUSEHOLD)
    if isinstance(p, Response):
        return p
    hub = _hub(request)
    who = reader_for(request, p)
    names = Names(hub.db)
    devices = data.devices(hub, p)
    zone = localtime.community_zone(hub.db, p.community)
    for d in devices:
        d["charts"] = data.device_charts(hub, p, d, zone=zone)
    notices = data.notices(hub, p, language=who.language)
    area = (svg.area_map(notices, marker=_home_marker(hub, p), marker_label=who.say(N_("home")), reader=who)
            if notices else "")
    return page(
        request, "household.html", viewer=p, active="household", reader=who, names=names,
        devices=devices, pantry=data.pantry(hub, p),
        suggestions=[messages.suggestion(who, s, names) for s in data.suggestions(hub, p)],
        bookings=data.calendar(hub, p), gatherings=data.gatherings(hub, p), notices=notices, area_svg=area,
        consents=data.consents(hub, p),
        has_offers=data.component(hub, "offers") is not None,
        has_identity=data.component(hub, "identity") is not None,
        has_notices=data.component(hub, "notices") is not None,
    )


# -- provider ---------------------------------------------------------------------------------


@router.get("/ui/provider", response_class=HTMLResponse)
async def provider_view(request: Request) -> Response:
    """My feed of requests, my schedule by slot."""
    p = session.gate(request, data.PROVIDER)
    if isinstance(p, Response):
        return p
    hub = _hub(request)
    schedule = data.provider_schedule(hub, p)
    by_slot: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for item in schedule:
        slot = item.get("slot") or {}
        by_slot[(str(slot.get("start", "")), str(slot.get("end", "")))].append(item)
    return page(
        request, "provider.html", viewer=p, active="provider",
        feed=data.provider_feed(hub, p), schedule=sorted(by_slot.items()),
        slots=data.provider_slots(hub, p), ratings=data.provider_ratings(hub, p),
        has_offers=data.component(hub, "offers") is not None,
    )


# -- community --------------------------------------------------------------------------------


@router.get("/ui/community", response_class=HTMLResponse)
async def community_view(request: Request) -> Response:
    """Active notices on a map, gatherings, what the community exchanged this week."""
    p = session.gate(request, data.HOUSEHOLD, data.ADMIN)
    if isinstance(p, Response):
        return p
    hub = _hub(request)
    who = reader_for(request, p)
    notices = data.notices(hub, p, whole_community=True, language=who.language)
    areas = [{"id": n.get("id"), "headline": n.get("headline") or n.get("event"),
              "polygons": (n.get("area") or {}).get("polygons", []),
              "circles": (n.get("area") or {}).get("circles", [])} for n in notices]
    return page(
        request, "community.html", viewer=p, active="community", reader=who,
        notices=notices,
        area_svg=svg.area_map(notices, marker=_home_marker(hub, p), marker_label=who.say(N_("home")),
                              homes=data.household_places(hub, p), reader=who),
        areas_json=json.dumps(areas), gatherings=data.gatherings(hub, p),
        exchanged=data.exchanged_this_week(hub, p),
        has_notices=data.component(hub, "notices") is not None,
        has_offers=data.component(hub, "offers") is not None,
        can_post=p.role == data.ADMIN and bool(p.community),
    )


# -- admin ------------------------------------------------------------------------------------


@router.get("/ui/admin", response_class=HTMLResponse)
async def admin_view(request: Request) -> Response:
    """Households and devices, dead letters, rule traces, feeds, broker and pipeline health."""
    p = session.gate(request, data.ADMIN)
    if isinstance(p, Response):
        return p
    return _admin_page(request, p)


def _admin_page(request: Request, p: data.PrincipalLike, *, status_code: int = 200,
                **context: Any) -> Response:
    hub = _hub(request)
    zone = localtime.zone_label(localtime.community_zone(hub.db, p.community))
    context.setdefault("zone_value", zone)
    return page(
        request, "admin.html", status_code=status_code, viewer=p, active="admin",
        health=data.health(hub, p), households=data.households_overview(hub, p),
        dead_letters=data.dead_letters(hub, p), traces=data.rule_traces(hub, p),
        feeds=data.feed_status(hub, p), link_audit=link_data.link_audit(hub, p),
        has_rules=data.component(hub, "rules") is not None,
        zone=zone, zones=_zone_names(), **context,
    )


@cache
def _zone_names() -> tuple[str, ...]:
    """The IANA zones this machine knows, for the time zone field's suggestions."""
    return tuple(sorted(z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith("Etc/")))


@router.post("/ui/admin/time-zone")
async def set_time_zone(request: Request) -> Response:
    """Set the community's time zone (an IANA name); a bad name is shown beside the field,
    with what was typed kept, and changes nothing."""
    form = await read_form(request)
    refusal = session.csrf_refusal(request, form.get("csrf", max_length=64))
    if refusal is not None:
        return refusal
    p = session.gate(request, data.ADMIN)
    if isinstance(p, Response):
        return p
    typed = form.get("time_zone", max_length=200)
    if not p.community:
        return session.refused(request, N_("Only a community's admin sets its time zone."), viewer=p)
    try:
        zone = communities.set_time_zone(_hub(request).db, p.community, typed, actor=data.actor_of(p))
    except ValueError as exc:
        return _admin_page(request, p, status_code=422, zone_error=said(exc), zone_value=typed)
    response = RedirectResponse("/ui/admin#time-zone", status_code=303)
    session.flash(response, request, N_("Times are now shown in %(zone)s.", zone=zone))
    return response
