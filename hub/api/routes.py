"""The app's route table: the packages' routes, found by their first path segment.

FastAPI 0.165 keeps an included router nested and, on every request, walks each one in
turn through a layer of per-router bookkeeping, then tries each route's pattern in order:
under 32 connections that was half of the interpreter's time for a household read whose
route is declared late (``docs/perf/http.md``). Two routes whose first path segments are
different literals (``/things/{tid}``, ``/loans``) never match the same path, so a table
keyed by that segment finds the only candidates at once and tries those in their declared
order: the first match wins, exactly as in the plain list.

:func:`mount` builds that table (a :class:`RouteIndex`) from the routers of plain routes: a
route carries what its router set (tags, responses, dependencies are copied onto each
route when it is declared). A router that nests others (the dashboards: their origin check
is a dependency of the including router) is included as FastAPI does it, after the index
(its paths, ``/ui/…``, ``/`` and ``/login``, are no API path, so the order changes no
match); so is everything of an app with dependency overrides (a plain route does not see
them). :func:`api_routes` lists the indexed routes again for the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send


def _first_segment(path: str) -> str | None:
    """The literal first segment of a route path (``"things"`` of ``/things/{tid}``), or
    None when it holds a parameter."""
    first = path.lstrip("/").split("/", 1)[0]
    return None if "{" in first else first


class RouteIndex(BaseRoute):
    """Routes whose first path segment is a literal, looked up by that segment.

    Args:
        routes: the routes in their declared order; each must have a literal first segment.
    """

    def __init__(self, routes: Iterable[APIRoute]) -> None:
        self.indexed_routes: list[APIRoute] = list(routes)
        self._by_segment: dict[str, list[APIRoute]] = {}
        for route in self.indexed_routes:
            first = _first_segment(route.path)
            if first is None:
                raise ValueError(f"{route.path}: the first segment must be a literal to be indexed")
            self._by_segment.setdefault(first, []).append(route)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        path: str = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        candidates = self._by_segment.get(path[1:].split("/", 1)[0])
        if not candidates:
            return Match.NONE, {}
        partial: Scope | None = None
        for route in candidates:
            match, child_scope = route.matches(scope)  # sets child_scope["route"] = route
            if match is Match.FULL:
                return match, child_scope
            if match is Match.PARTIAL and partial is None:
                partial = child_scope
        if partial is not None:  # the path fits, the method does not: the route answers 405
            return Match.PARTIAL, partial
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route: APIRoute = scope["route"]  # the route :meth:`matches` chose
        await route.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        for route in self.indexed_routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                continue
        raise NoMatchFound(name, path_params)

    def __repr__(self) -> str:
        return f"RouteIndex({len(self.indexed_routes)} routes, {len(self._by_segment)} segments)"


def mount(app: FastAPI, routers: Iterable[APIRouter], *, flat: bool) -> None:
    """Add the packages' routers to ``app``: plain ones as one :class:`RouteIndex`, nesting
    ones (and all of them when ``flat`` is false) with ``include_router``."""
    plain: list[APIRoute] = []
    nested: list[APIRouter] = []
    for router in routers:
        if flat and all(isinstance(r, APIRoute) and _first_segment(r.path) for r in router.routes):
            plain.extend(r for r in router.routes if isinstance(r, APIRoute))
        else:
            nested.append(router)
    if plain:
        app.router.routes.append(RouteIndex(plain))
    for router in nested:
        app.include_router(router)


def api_routes(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """``routes`` with each :class:`RouteIndex` replaced by the routes it holds."""
    for route in routes:
        if isinstance(route, RouteIndex):
            yield from route.indexed_routes
        else:
            yield route
