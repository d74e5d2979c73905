"""Jinja2 rendering of the dashboards' templates (``dashboards/templates``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from hub.config import REPO_ROOT
from hub.dashboards import cookies as session
from hub.dashboards import svg

UI_ROOT = REPO_ROOT / "dashboards"
TEMPLATES = UI_ROOT / "templates"
STATIC = UI_ROOT / "static"


def when(value: Any, fmt: str = "%a %H:%M") -> str:
    """An ISO 8601 time or epoch seconds as a short UTC label (``Sat 18:00``)."""
    if value in (None, ""):
        return ""
    try:
        if isinstance(value, int | float):
            dt = datetime.fromtimestamp(value, UTC)
        else:
            dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return str(value)
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC)
    return dt.strftime(fmt)


def number(value: Any) -> str:
    """A reading for display: booleans as words, floats without noise."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return "" if value is None else str(value)


def _environment(path: Path) -> Environment:
    env = Environment(loader=FileSystemLoader(str(path)), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = when
    env.filters["number"] = number
    env.filters["chart"] = lambda spec: Markup(svg.chart(spec))
    return env


_ENV = _environment(TEMPLATES)


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page with what every page needs (viewer, CSRF token, flash message)."""
    token = session.token_of(request)
    hub = request.app.state.hub
    context.setdefault("viewer", None)
    # An htmx refresh of one section must not eat the message meant for the next full page.
    partial = bool(request.headers.get("hx-request"))
    body = _ENV.get_template(template).render(
        request=request,
        csrf=session.csrf_for(token) if token else "",
        flash=None if partial else session.take_flash(request),
        tile_url=getattr(hub.settings, "map_tile_url", None),
        **context,
    )
    response = HTMLResponse(body, status_code=status_code)
    if request.cookies.get(session.FLASH_COOKIE) and not partial:
        response.delete_cookie(session.FLASH_COOKIE, path="/")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data: https: http:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response
