"""Jinja2 rendering of the dashboards' templates (``dashboards/templates``).

Every page is rendered for a :class:`hub.i18n.Reader`: Jinja's i18n extension translates
the template's text into the reader's language, and the ``when``/``number`` filters format
in their locale and their community's time zone.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from hub.config import REPO_ROOT
from hub.dashboards import cookies as session
from hub.dashboards import svg
from hub.dashboards.names import Names
from hub.i18n import Reader, messages, reader, translations
from hub.i18n.words import word

UI_ROOT = REPO_ROOT / "dashboards"
TEMPLATES = UI_ROOT / "templates"
STATIC = UI_ROOT / "static"


@pass_context
def _when(ctx: Context, value: Any, fmt: str = "%a %H:%M") -> str:
    """A moment as a short label in the reader's locale and zone (``Sat 18:00``)."""
    return _reader_of(ctx).when(value, fmt)


@pass_context
def _number(ctx: Context, value: Any) -> str:
    """A reading for display, in the reader's locale."""
    return _reader_of(ctx).number(value)


@pass_context
def _item(ctx: Context, name: Any) -> str:
    """A pantry item's name in the reader's language."""
    return messages.item_name(_reader_of(ctx), str(name))


@pass_context
def _say(ctx: Context, text: Any) -> str:
    """A text made in code (a :class:`hub.i18n.words.Message`) in the reader's language."""
    return _reader_of(ctx).say(text)


@pass_context
def _word(ctx: Context, value: Any, vocabulary: str) -> str:
    """A fixed word (a CAP severity, a role, a metric) in the reader's language."""
    return _reader_of(ctx).say(word(vocabulary, value))


@pass_context
def _who(ctx: Context, ident: Any) -> str:
    """The display name of a household, provider or community id."""
    names = ctx.get("names")
    return names(ident) if isinstance(names, Names) else ("" if ident is None else str(ident))


@pass_context
def _chart(ctx: Context, spec: dict[str, Any]) -> Markup:
    """A chart spec as SVG, its text label in the reader's language."""
    return Markup(svg.chart(spec, _reader_of(ctx)))


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


def _reader_of(ctx: Context) -> Reader:
    found = ctx.get("reader")
    return found if isinstance(found, Reader) else Reader()


def _environment(path: Path, language: str) -> Environment:
    env = Environment(loader=FileSystemLoader(str(path)), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["when"] = _when
    env.filters["number"] = _number
    env.filters["item"] = _item
    env.filters["chart"] = _chart
    env.filters["say"] = _say
    env.filters["word"] = _word
    env.filters["who"] = _who
    return env


@cache
def environment(language: str) -> Environment:
    """The templates' environment for one language (one per shipped language, kept)."""
    return _environment(TEMPLATES, language)


def reader_for(request: Request, viewer: Any = None) -> Reader:
    """The reader of this request: the household's language setting, else Accept-Language;
    the viewer's community's time zone (UTC when unknown)."""
    hub = request.app.state.hub
    setting: str | None = None
    zone: str | None = None
    db = getattr(hub, "db", None)
    if viewer is not None and db is not None:
        household = getattr(viewer, "household", None)
        community = getattr(viewer, "community", None)
        if household:
            row = db.query_one(
                "SELECT h.language, c.time_zone FROM households h"
                " JOIN communities c ON c.id = h.community WHERE h.id = ?", (household,))
            if row is not None:
                setting, zone = row["language"], row["time_zone"]
        elif community:
            row = db.query_one("SELECT time_zone FROM communities WHERE id = ?", (community,))
            zone = row["time_zone"] if row is not None else None
    return reader(setting, request.headers.get("accept-language"), zone)


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page with what every page needs (viewer, CSRF token, flash message)."""
    token = session.token_of(request)
    hub = request.app.state.hub
    context.setdefault("viewer", None)
    # An htmx refresh of one section (or the offline page a service worker fetches in the
    # background) must not eat the message meant for the next full page.
    partial = bool(request.headers.get("hx-request")) or bool(context.pop("keep_flash", False))
    who = context.pop("reader", None) or reader_for(request, context["viewer"])
    context.setdefault("tz_name", who.time_zone)
    context.setdefault("viewer_name", display_name(hub, context["viewer"]))
    context.setdefault("names", Names(getattr(hub, "db", None)))
    body = environment(who.language).get_template(template).render(
        request=request,
        reader=who,
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
    response.headers["Content-Language"] = who.html_lang
    response.headers["Vary"] = "Accept-Language"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response
