"""The "Add a device or a home broker" wizard and the household's device management.

``GET /ui/household/devices/add`` lets the household choose what it has; the POST makes a
fresh MQTT login (:mod:`hub.identity.links`) and answers with its secret and the exact
snippet to paste, once (the answer is never cached and never stored), plus a live view
fed by ``GET /ui/household/links/{id}/stream`` (server-sent events) that turns from
"waiting for the first message" to "linked: N devices found". Rotating shows a new
secret the same way; revoking deletes the login from the broker. Renaming and removing a
device (with its history) are form posts that come back to the household page.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from hub.dashboards import data, link_data, session
from hub.dashboards.actions import _posted
from hub.dashboards.forms import Form
from hub.dashboards.render import page
from hub.errors import HubError
from hub.i18n.words import N_, said
from hub.identity.links import Link

router = APIRouter(include_in_schema=False)

TICK_S = 1.0
MAX_AGE_S = 600.0
BACK = "/ui/household/devices/add"
T = TypeVar("T")


def _hub(request: Request) -> Any:
    return request.app.state.hub


def _flash_back(request: Request, back: str, text: str, *, ok: bool) -> Response:
    response = RedirectResponse(back, status_code=303)
    session.flash(response, request, text, ok=ok)
    return response


@router.get("/ui/household/devices/add", response_class=HTMLResponse)
async def wizard(request: Request) -> Response:
    """Choose what to link; the household's links with rotate and revoke."""
    p = session.gate(request, data.HOUSEHOLD)
    if isinstance(p, Response):
        return p
    hub = _hub(request)
    try:
        link_data.links_of(hub)
        available = True
    except data.Unavailable:
        available = False
    return page(request, "links.html", viewer=p, active="household", kinds=link_data.kinds(),
                links=link_data.links(hub, p), available=available)


def _shown(request: Request, p: data.PrincipalLike, shown: dict[str, Any], *, rotated: bool) -> Response:
    response = page(request, "link_new.html", viewer=p, active="household", shown=shown, rotated=rotated)
    response.headers["Cache-Control"] = "no-store, private"
    return response


async def _link_action(request: Request, act: Callable[[Any, data.PrincipalLike, Form], T],
                       done: Callable[[data.PrincipalLike, T], Response]) -> Response:
    """A household's POST on its links: ``act(hub, household, form)`` off the event loop,
    then ``done(household, result)``; a refused POST answers as :func:`_posted` says, and
    ``act``'s error is flashed back on the wizard."""
    got = await _posted(request, data.HOUSEHOLD)
    if isinstance(got, Response):
        return got
    form, p = got
    try:
        result = await asyncio.to_thread(act, _hub(request), p, form)
    except (HubError, data.Unavailable) as exc:
        return _flash_back(request, BACK, said(exc), ok=False)
    return done(p, result)


@router.post("/ui/household/links")
async def create(request: Request) -> Response:
    def act(hub: Any, p: data.PrincipalLike, form: Form) -> dict[str, Any]:
        kind = form.get("kind", max_length=40, required=True)
        label = form.get("label", max_length=200)
        return link_data.create_link(hub, p, kind, label)

    return await _link_action(request, act, lambda p, shown: _shown(request, p, shown, rotated=False))


@router.post("/ui/household/links/{link_id}/rotate")
async def rotate(request: Request, link_id: str) -> Response:
    return await _link_action(request, lambda hub, p, _form: link_data.rotate_link(hub, p, link_id[:64]),
                              lambda p, shown: _shown(request, p, shown, rotated=True))


@router.post("/ui/household/links/{link_id}/revoke")
async def revoke(request: Request, link_id: str) -> Response:
    def done(_p: data.PrincipalLike, link: Link) -> Response:
        revoked = N_("Login %(login)s revoked: the broker refuses it now.", login=link.mqtt_username)
        return _flash_back(request, BACK, revoked, ok=True)

    return await _link_action(request, lambda hub, p, _form: link_data.revoke_link(hub, p, link_id[:64]), done)


@router.get("/ui/household/links/{link_id}/stream")
async def progress(request: Request, link_id: str) -> Response:
    """``event: link`` with ``{"linked", "devices"}`` whenever it changes (SSE)."""
    p = session.gate(request, data.HOUSEHOLD)
    if isinstance(p, Response):
        return p
    hub = _hub(request)
    try:
        first = link_data.link_progress(hub, p, link_id[:64])
    except (HubError, data.Unavailable) as exc:
        return Response(str(exc), status_code=404)

    async def body() -> AsyncIterator[bytes]:
        started, last = time.monotonic(), first
        yield b"retry: 2000\n\n"
        yield _event(first)
        while time.monotonic() - started < MAX_AGE_S and not await request.is_disconnected():
            await asyncio.sleep(TICK_S)
            now = link_data.link_progress(hub, p, link_id[:64])
            if now != last:
                last = now
                yield _event(now)
            if session.viewer(request) is None:
                return

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _event(payload: dict[str, Any]) -> bytes:
    return f"event: link\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


@router.post("/ui/household/devices/rename")
async def rename(request: Request) -> Response:
    got = await _posted(request, data.HOUSEHOLD)
    if isinstance(got, Response):
        return got
    form, p = got
    device = form.get("device", max_length=200, required=True)
    name = form.get("name", max_length=200)
    try:
        new = link_data.rename_device(_hub(request), p, device, name)
    except (HubError, data.Unavailable) as exc:
        return _flash_back(request, "/ui/household#devices", said(exc), ok=False)
    return _flash_back(request, "/ui/household#devices", N_("Renamed to %(name)s.", name=new), ok=True)


@router.post("/ui/household/devices/remove")
async def remove(request: Request) -> Response:
    got = await _posted(request, data.HOUSEHOLD)
    if isinstance(got, Response):
        return got
    form, p = got
    device = form.get("device", max_length=200, required=True)
    hub = _hub(request)
    try:
        link_data.remove_device(hub, p, device)
    except (HubError, data.Unavailable) as exc:
        return _flash_back(request, "/ui/household#devices", said(exc), ok=False)
    return _flash_back(request, "/ui/household#devices", N_("Device and its history removed."), ok=True)
