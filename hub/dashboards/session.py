"""Browser sessions: the login token in an HttpOnly, SameSite=Lax cookie, and CSRF tokens.

The cookie holds the identity service's session token; every request resolves it again
(a revoked or expired token logs the browser out at once). Forms carry a CSRF token derived
from the session token (HMAC), checked on every POST, on top of SameSite=Lax.
"""

from __future__ import annotations

import hmac
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from hub.dashboards import data
from hub.dashboards.cookies import (
    COOKIE,
    FLASH_COOKIE,
    clear_session,
    csrf_for,
    flash,
    set_session,
    take_flash,
    token_of,
)
from hub.dashboards.render import page

HOME = {data.HOUSEHOLD: "/ui/household", data.PROVIDER: "/ui/provider", data.ADMIN: "/ui/admin"}


def viewer(request: Request) -> data.PrincipalLike | None:
    """The logged-in principal of this browser, or None."""
    return data.principal_from_token(request.app.state.hub, token_of(request))


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
        return refused(request, f"This view is for {' or '.join(roles)} accounts.", viewer=p)
    return p


def refused(request: Request, message: str, *, viewer: data.PrincipalLike | None = None,
            status_code: int = 403) -> Response:
    """A page saying why not."""
    return page(request, "refused.html", status_code=status_code, viewer=viewer, message=message)


def csrf_refusal(request: Request, submitted: str | None) -> Response | None:
    """None when the POST carries this browser's CSRF token, else the 403 page to send."""
    token = token_of(request)
    sent = submitted or request.headers.get("x-csrf-token", "")
    if not token or not hmac.compare_digest(csrf_for(token), sent):
        return refused(request, "The form expired: reload the page and try again.", viewer=viewer(request))
    return None


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
    "set_session",
    "take_flash",
    "token_of",
    "viewer",
]
