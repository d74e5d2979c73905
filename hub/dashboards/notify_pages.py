"""``/ui/notifications``: what reaches me, how and when; ``/ui/unsubscribe/<token>``.

The preferences form is POST-redirect-GET with the dashboards' CSRF token; a refusal keeps
what was typed and says which field and why (422). The push button (``notify.js``)
subscribes this browser through the service worker and posts the subscription here. The
unsubscribe link of every email needs no login: GET shows one button, POST (the button, or
a mail client's RFC 8058 one-click POST) stops the emails.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.dashboards import data, session
from hub.dashboards.actions import _posted
from hub.dashboards.render import page
from hub.errors import DomainError
from hub.i18n.locale import LANGUAGES
from hub.i18n.messages import N_
from hub.notify.prefs import KINDS, SEVERITIES, Prefs, check

router = APIRouter(include_in_schema=False)
BACK = "/ui/notifications"
#: The most a one-click unsubscribe POST may carry ("List-Unsubscribe=One-Click").
MAX_UNSUBSCRIBE_BODY = 4096


def _notifier(request: Request) -> Any:
    return request.app.state.hub.components.get("notifier")


def _render(request: Request, p: Any, prefs: Prefs, *, status_code: int = 200, error: str | None = None) -> Response:
    n = _notifier(request)
    return page(request, "notifications.html", status_code=status_code, viewer=p, active="notifications",
                prefs=prefs, kinds=KINDS, severities=SEVERITIES, languages=list(LANGUAGES), error=error,
                email_available=n.mailer is not None, push_key=n.push.public_key(),
                devices=len(n.push.subscriptions(p.account_id)))


@router.get("/ui/notifications", response_class=HTMLResponse)
async def view(request: Request) -> Response:
    """The person's notification preferences."""
    p = session.gate(request, data.HOUSEHOLD)
    if isinstance(p, Response):
        return p
    n = _notifier(request)
    prefs = await asyncio.to_thread(n.prefs.get, p.account_id)
    return _render(request, p, prefs or Prefs(account=p.account_id, household=str(p.household)))


def _form_body(form: Any) -> dict[str, Any]:
    return {
        "email": form.get("email", max_length=254).strip(),
        "channels": [c for c in ("email", "push") if form.has(f"channel_{c}")],
        "kinds": [k for k in KINDS if form.has(f"kind_{k}")],
        "notice_min": form.get("notice_min", max_length=20, default="Minor"),
        "quiet_start": form.get("quiet_start", max_length=5),
        "quiet_end": form.get("quiet_end", max_length=5),
        "digest": form.has("digest"),
        "digest_at": form.get("digest_at", max_length=5, default="07:00") or "07:00",
        "language": form.get("language", max_length=5),
    }


@router.post("/ui/notifications")
async def save(request: Request) -> Response:
    got = await _posted(request, data.HOUSEHOLD)
    if isinstance(got, Response):
        return got
    form, p = got
    n = _notifier(request)
    body = _form_body(form)
    try:
        await asyncio.to_thread(n.prefs.update, p.account_id, str(p.household), check(body))
    except DomainError as exc:
        typed = Prefs(account=p.account_id, household=str(p.household), email=body["email"] or None,
                      channels=tuple(body["channels"]), kinds=tuple(body["kinds"]),
                      notice_min=body["notice_min"] if body["notice_min"] in SEVERITIES else "Minor",
                      quiet_start=body["quiet_start"] or None, quiet_end=body["quiet_end"] or None,
                      digest=body["digest"], digest_at=body["digest_at"], language=body["language"] or None)
        return _render(request, p, typed, status_code=422, error=str(exc))
    response = RedirectResponse(BACK, status_code=303)
    session.flash(response, request, session_text(request, N_("Your notification choices are saved.")), ok=True)
    return response


def session_text(request: Request, message: str) -> str:
    """A flash sentence in the reader's language."""
    from hub.dashboards.render import reader_for

    return reader_for(request, session.viewer(request)).gettext(message)


@router.post("/ui/notifications/push")
async def push_subscribe(request: Request) -> Response:
    """This browser's push subscription (posted by notify.js as a form)."""
    got = await _posted(request, data.HOUSEHOLD)
    if isinstance(got, Response):
        return got
    form, p = got
    body = {"endpoint": form.get("endpoint", max_length=1000, required=True),
            "keys": {"p256dh": form.get("p256dh", max_length=200, required=True),
                     "auth": form.get("auth", max_length=100, required=True)}}
    try:
        await asyncio.to_thread(_notifier(request).push.subscribe, p.account_id, body)
    except DomainError as exc:
        return Response(str(exc), status_code=422, media_type="text/plain; charset=utf-8")
    return Response(status_code=204)


@router.get("/ui/unsubscribe/{token}", response_class=HTMLResponse)
async def unsubscribe_form(request: Request, token: str) -> Response:
    """One button that stops the emails (a prefetching mail scanner changes nothing)."""
    account = _notifier(request).account_of(token[:400])
    if account is None:
        return page(request, "unsubscribe.html", status_code=404, token=None, done=False)
    return page(request, "unsubscribe.html", token=token, done=False)


@router.post("/ui/unsubscribe/{token}")
async def unsubscribe(request: Request, token: str) -> Response:
    """Stop the emails (RFC 8058 one-click: the body is ``List-Unsubscribe=One-Click``)."""
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_UNSUBSCRIBE_BODY:
            return Response("body too large", status_code=413)
    n = _notifier(request)
    account = n.account_of(token[:400])
    if account is None:
        return page(request, "unsubscribe.html", status_code=404, token=None, done=False)
    await asyncio.to_thread(n.prefs.unsubscribe, account)
    return page(request, "unsubscribe.html", token=None, done=True)
