"""Jinja2 rendering of the dashboards' templates (``dashboards/templates``)."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from markupsafe import Markup

from hub.config import REPO_ROOT
from hub.dashboards import cookies as session
from hub.dashboards import localtime, svg

UI_ROOT = REPO_ROOT / "dashboards"
TEMPLATES = UI_ROOT / "templates"
STATIC = UI_ROOT / "static"


@pass_context
def when(context: Any, value: Any, fmt: str = localtime.DEFAULT_FORMAT) -> str:
    """A time as a short label in the viewer's community time zone (``Sat 18:00``)."""
    return localtime.show(value, context.get("tz") or UTC, fmt)


def display_name(hub: Any, viewer: Any) -> str:
    """What the page calls the logged-in user: the household's or provider's name."""
    if viewer is None:
        return ""
    if getattr(viewer, "household", None):
        row = hub.db.query_one("SELECT name FROM households WHERE id = ?", (viewer.household,))
        if row is not None and row["name"]:
            return str(row["name"])
    if getattr(viewer, "provider", None):
        row = hub.db.query_one("SELECT name FROM providers WHERE id = ?", (viewer.provider,))
        if row is not None and row["name"]:
            return str(row["name"])
    return str(getattr(viewer, "username", "") or "")


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
    viewer = context["viewer"]
    zone = localtime.community_zone(hub.db, getattr(viewer, "community", None)) if viewer else UTC
    context.setdefault("tz", zone)
    context.setdefault("tz_name", localtime.zone_label(zone))
    context.setdefault("viewer_name", display_name(hub, viewer))
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
