"""The dashboards' cookies: the session token, the CSRF token derived from it, flash messages.

Kept apart from :mod:`hub.dashboards.session` (which renders refusals) so that rendering a
page can read them without importing the session gate.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request, Response

COOKIE = "hub_session"
FLASH_COOKIE = "hub_flash"


def token_of(request: Request) -> str:
    return request.cookies.get(COOKIE, "")


def csrf_for(token: str) -> str:
    """The CSRF token of a session (stable for the session, useless without its cookie)."""
    return hmac.new(token.encode(), b"hub-dashboards-csrf", hashlib.sha256).hexdigest()[:32]


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
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    kind, _, text = unquote(raw).partition(":")
    return {"ok": kind == "ok", "text": text}
