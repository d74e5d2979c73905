"""Browser sessions: the login token in an HttpOnly, SameSite=Lax cookie, and CSRF tokens.

The cookie holds the identity service's session token; every request resolves it again
(a revoked or expired token logs the browser out at once). Forms carry a CSRF token derived
from the session token (HMAC), checked on every POST, on top of SameSite=Lax.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import quote

from fastapi import HTTPException, Request, Response

from hub.dashboards import data

COOKIE = "hub_session"
FLASH_COOKIE = "hub_flash"
HOME = {data.HOUSEHOLD: "/ui/household", data.PROVIDER: "/ui/provider", data.ADMIN: "/ui/admin"}


def token_of(request: Request) -> str:
    return request.cookies.get(COOKIE, "")


def viewer(request: Request) -> data.PrincipalLike | None:
    """The logged-in principal of this browser, or None."""
    return data.principal_from_token(request.app.state.hub, token_of(request))


def home_of(p: data.PrincipalLike) -> str:
    """The view a principal lands on after login."""
    return HOME.get(p.role, "/ui/community")


def require(request: Request, *roles: str) -> data.PrincipalLike:
    """The principal, when logged in with one of ``roles``.

    Raises:
        HTTPException: 303 to the login page when not logged in; 403 for another role.
    """
    p = viewer(request)
    if p is None:
        login = f"/ui/login?next={quote(request.url.path, safe='/')}"
        if request.headers.get("hx-request"):
            # htmx swaps fragments: tell it to load the login page instead (a session expired).
            raise HTTPException(401, "log in first", headers={"HX-Redirect": login})
        raise HTTPException(303, "log in first", headers={"Location": login})
    if roles and p.role not in roles:
        raise HTTPException(403, f"this view is for {' or '.join(roles)} accounts")
    return p


def csrf_for(token: str) -> str:
    """The CSRF token of a session (stable for the session, useless without its cookie)."""
    return hmac.new(token.encode(), b"hub-dashboards-csrf", hashlib.sha256).hexdigest()[:32]


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse a POST whose CSRF token does not belong to this browser's session."""
    token = token_of(request)
    sent = submitted or request.headers.get("x-csrf-token", "")
    if not token or not hmac.compare_digest(csrf_for(token), sent):
        raise HTTPException(403, "the form expired: reload the page and try again")


def set_session(response: Response, request: Request, token: str, max_age: int = 3600) -> None:
    response.set_cookie(COOKIE, token, max_age=max_age, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/")


def clear_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")


def flash(response: Response, request: Request, message: str, ok: bool = True) -> None:
    """A one-time message for the next page (a server sentence, escaped when shown)."""
    value = ("ok:" if ok else "error:") + message[:300]
    response.set_cookie(FLASH_COOKIE, quote(value), max_age=60, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/")


def take_flash(request: Request) -> dict[str, Any] | None:
    from urllib.parse import unquote

    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    kind, _, text = unquote(raw).partition(":")
    return {"ok": kind == "ok", "text": text}
