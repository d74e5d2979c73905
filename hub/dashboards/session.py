"""Browser sessions: the login token in an HttpOnly, SameSite=Lax cookie, and CSRF tokens.

The cookie holds the identity service's session token; every request resolves it again
(a revoked or expired token logs the browser out at once). Forms carry a CSRF token derived
from the session token (HMAC), checked on every POST, on top of SameSite=Lax; and every
state-changing request, the login included, must come from the hub's own origin
(:func:`same_origin`).
"""

from __future__ import annotations

import hmac
from urllib.parse import quote, urlsplit

from fastapi import HTTPException, Request, Response
from fastapi.responses import RedirectResponse

from hub.dashboards import cookies, data
from hub.dashboards.cookies import (
    COOKIE,
    FLASH_COOKIE,
    clear_session,
    csrf_for,
    public_url,
    set_session,
    take_flash,
    token_of,
)
from hub.dashboards.render import page, reader_for
from hub.i18n.words import N_

HOME = {data.HOUSEHOLD: "/ui/household", data.PROVIDER: "/ui/provider", data.ADMIN: "/ui/admin"}


def viewer(request: Request) -> data.PrincipalLike | None:
    """The logged-in principal of this browser, or None."""
    return data.principal_from_token(request.app.state.hub, token_of(request))


def flash(response: Response, request: Request, message: str, ok: bool = True) -> None:
    """A one-time message for the next page, in the language of the person who acted
    (a :class:`hub.i18n.words.Message` is translated; other text where catalogued)."""
    cookies.flash(response, request, reader_for(request, viewer(request)).say(message), ok=ok)


def home_of(p: data.PrincipalLike) -> str:
    """The view a principal lands on after login."""
    return HOME.get(p.role, "/ui/community")


def gate(request: Request, *roles: str) -> data.PrincipalLike | Response:
    """The principal when logged in with one of ``roles``, else the response to send.

    Not logged in: 303 to the login page (for htmx requests, 401 with ``HX-Redirect`` so
    that a fragment swap loads the login page instead). Another role: a 403 page. These
    are responses, not exceptions, so that the hub's exception handlers (which answer in
    problem+json) never turn a redirect into an error body.
    """
    p = viewer(request)
    if p is None:
        login = f"/ui/login?next={quote(request.url.path, safe='/')}"
        if request.headers.get("hx-request"):
            return Response("log in first", status_code=401, headers={"HX-Redirect": login})
        return RedirectResponse(login, status_code=303)
    if roles and p.role not in roles:
        return refused(request, _for_roles(roles), viewer=p)
    return p


def _for_roles(roles: tuple[str, ...]) -> str:
    if set(roles) == {data.HOUSEHOLD, data.ADMIN}:
        return N_("This view is for household or admin accounts.")
    return {data.HOUSEHOLD: N_("This view is for household accounts."),
            data.PROVIDER: N_("This view is for provider accounts."),
            data.ADMIN: N_("This view is for admin accounts.")}.get(
        roles[0], N_("This view is for %(roles)s accounts.", roles=" / ".join(roles)))


def refused(request: Request, message: str, *, viewer: data.PrincipalLike | None = None,
            status_code: int = 403) -> Response:
    """A page saying why not."""
    return page(request, "refused.html", status_code=status_code, viewer=viewer, message=message)


def csrf_refusal(request: Request, submitted: str | None) -> Response | None:
    """None when the POST carries this browser's CSRF token, else the 403 page to send."""
    token = token_of(request)
    sent = submitted or request.headers.get("x-csrf-token", "")
    if not token or not hmac.compare_digest(csrf_for(token), sent):
        return refused(request, N_("The form expired: reload the page and try again."), viewer=viewer(request))
    return None


def _origin_of(url: str) -> tuple[str, str] | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return parts.scheme.lower(), parts.netloc.lower()


def same_origin(request: Request) -> None:
    """Refuse (403) a state-changing request whose ``Origin`` (or, without one, ``Referer``)
    is another site's: the login form included (login CSRF), every form post of the views.

    The hub's own origin is the one the browser addressed (``Host``) or ``HUB_PUBLIC_URL``.
    A request with neither header (not a browser, or a browser that sends no referrer) passes:
    the forms' CSRF token still guards every post but the login.
    """
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.headers.get("origin") or request.headers.get("referer")
    if sent is None:
        return
    origin = _origin_of(sent) if sent != "null" else None
    host = request.headers.get("host", "").lower()
    public = public_url(request)
    if origin is not None and ((host and origin[1] == host) or (public is not None and origin == _origin_of(public))):
        return
    raise HTTPException(403, "this form was sent from another site; open the hub's own page and try again")


__all__ = [
    "COOKIE",
    "FLASH_COOKIE",
    "clear_session",
    "csrf_for",
    "csrf_refusal",
    "flash",
    "gate",
    "home_of",
    "refused",
    "same_origin",
    "set_session",
    "take_flash",
    "token_of",
    "viewer",
]
