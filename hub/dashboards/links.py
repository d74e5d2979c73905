"""``/ui/a/<token>``: one-tap action links from emails and pushes, without a login.

GET shows what the link will do and one button (so that a mail scanner prefetching the link
changes nothing); POST does it, once. A used or expired link answers 410, a forged one 404.
The link allows only its own action on its own target (:mod:`hub.notify.links`).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from hub.dashboards import data
from hub.dashboards.render import page, reader_for
from hub.errors import HubError
from hub.i18n import messages
from hub.notify import ActionLinks, LinkRefused

router = APIRouter(include_in_schema=False)
ACCEPT = "accept_suggestion"


def links_of(hub: Any) -> ActionLinks:
    """The hub's action links (one per hub, on its store and clock)."""
    found = getattr(hub, "components", {}).get("action_links") or getattr(hub, "action_links", None)
    if found is None:
        found = ActionLinks(hub.db, hub.clock)
        hub.action_links = found
    return found


def _slot_label(who: Any, slot: str | None) -> str | None:
    """``fresh-grocer@2026-11-28T18:00:00Z`` as the reader reads it: ``Sat 18:00 · fresh-grocer``."""
    if not slot:
        return None
    provider, _, start = slot.partition("@")
    return f"{who.when(start)} · {provider}" if start else slot


def _refused(request: Request, exc: LinkRefused) -> Response:
    who = reader_for(request)
    return page(request, "link.html", status_code=exc.status, reader=who, reason=who.gettext(exc.reason),
                done=False, suggestion=None)


def _suggestion(hub: Any, household: str, target: str) -> tuple[dict[str, Any] | None, str | None]:
    sid, _, slot = target.partition("|")
    offers = data.component(hub, "offers")
    if offers is None:
        return None, slot or None
    try:
        sug = offers.suggestions.get(household, sid)
    except HubError:
        return None, slot or None
    return (sug.marshal() if hasattr(sug, "marshal") else dict(sug)), slot or None


@router.get("/ui/a/{token}")
async def show(request: Request, token: str) -> Response:
    """What the link does, with the one button that does it."""
    hub = request.app.state.hub
    try:
        link = links_of(hub).check(token, ACCEPT)
    except LinkRefused as exc:
        return _refused(request, exc)
    who = reader_for(request, SimpleNamespace(household=link.household, community=None))
    sug, slot = _suggestion(hub, link.household, link.target)
    return page(request, "link.html", reader=who, token=token, done=False, reason=None, slot=_slot_label(who, slot),
                suggestion=messages.suggestion(who, sug) if sug else None)


@router.post("/ui/a/{token}")
async def act(request: Request, token: str) -> Response:
    """Do the link's action, once."""
    hub = request.app.state.hub
    try:
        link = links_of(hub).redeem(token, ACCEPT)
    except LinkRefused as exc:
        return _refused(request, exc)
    who = reader_for(request, SimpleNamespace(household=link.household, community=None))
    sid, _, slot = link.target.partition("|")
    offers = data.component(hub, "offers")
    if offers is None:
        return page(request, "link.html", status_code=503, reader=who, done=False, suggestion=None,
                    reason=who.gettext("Suggestions are not available on this hub yet: nothing yet."))
    try:
        offers.accept_suggestion(link.household, sid, slot=slot or None, actor=f"link:{link.household}")
    except HubError as exc:
        return page(request, "link.html", status_code=getattr(exc, "status", 409), reader=who, done=False,
                    suggestion=None, reason=str(exc))
    return page(request, "link.html", reader=who, done=True, reason=None, suggestion=None,
                slot=_slot_label(who, slot))
