"""The FastAPI application.

The hub is reached through ``request.app.state.hub`` (set here, never a global). The app
receives it from the composition root (:mod:`hub.service`) and knows it only as an
:class:`AppHost`: this package never imports the service. Every package contributes its
routes as an ``APIRouter`` in ``hub/<package>/api.py``; this module mounts them (into one
table found by path segment, :mod:`hub.api.routes`) and adds the operational endpoints:
``/healthz`` (the process answers), ``/readyz`` (broker, storage and pipeline are up) and
``/metrics`` (Prometheus text).
"""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from hub.api import openapi, routes
from hub.api.guard import InputGuardMiddleware
from hub.identity.limits import BodySizeLimitMiddleware
from hub.metrics import Metrics
from hub.problems import problem_body, problem_response, server_error_handler


class AppHost(Protocol):
    """What the app needs of the hub that serves it (routes, readiness checks, metrics)."""

    metrics: Metrics
    dependency_overrides: dict[Any, Any]
    #: (path regex, bytes) of routes that take bodies over the app-wide limit.
    body_limits: list[tuple[str, int]]

    def readiness(self) -> dict[str, bool]: ...

    def routers(self) -> list[APIRouter]: ...

    def exception_handlers(self) -> list[tuple[type[Exception], Any]]: ...


def create_app(hub: AppHost) -> FastAPI:
    """Build the app for one hub."""
    app = FastAPI(
        title="Community hub",
        version="0.1.0",
        description="Households, providers and community admins of a neighbourhood hub.",
    )
    app.state.hub = hub

    @app.get("/healthz", tags=["operations"], summary="The process answers")
    async def healthz() -> dict[str, str]:  # async: nothing to wait for, no thread hop
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Broker, storage and pipeline are up",
        responses={503: {"description": "Not ready: the checks say which part is down"}},
    )
    def readyz(request: Request) -> Response:
        hub = request.app.state.hub
        checks = hub.readiness()
        # A partitioned worker also says which shares it holds (hub.cluster).
        status = getattr(hub, "cluster_status", lambda: None)()
        extra = {} if status is None else {"cluster": status}
        if all(checks.values()):
            return JSONResponse({"ready": True, "checks": checks, **extra})
        down = ", ".join(name for name, ok in checks.items() if not ok)
        # An error answer like every other (problem+json), with the checks as extension members.
        return problem_response(503, problem_body(503, "not-ready", f"not ready: {down} down", "/readyz",
                                                  ready=False, checks=checks, **extra))

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=PlainTextResponse)
    def metrics(request: Request) -> Response:
        body = request.app.state.hub.metrics.render()
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    # The input guard sits inside the body-size limit, so what it buffers is bounded.
    app.add_middleware(InputGuardMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, larger=list(hub.body_limits))
    routes.mount(app, hub.routers(), flat=not hub.dependency_overrides)
    app.dependency_overrides.update(hub.dependency_overrides)
    for exc_class, handler in hub.exception_handlers():
        app.add_exception_handler(exc_class, handler)
    app.add_exception_handler(Exception, server_error_handler)
    openapi.install(app)
    return app

