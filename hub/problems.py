"""RFC 9457 problem details: the one shape of every error answer (``application/problem+json``).

The exception handlers here turn the hub's :class:`~hub.errors.DomainError` tree, FastAPI's
validation errors, Starlette's ``HTTPException`` (404, 405, 413, ...) and any unexpected
exception into problem documents; :func:`problem_bytes` serves the pure-ASGI middleware that
answers before the app runs (413, refused paths, control characters).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.errors import DomainError

logger = logging.getLogger(__name__)

PROBLEM_TYPE_BASE = "https://community-hub.example/problems/"
MEDIA_TYPE = "application/problem+json"

TITLES = {400: "Bad request", 401: "Not signed in", 403: "Forbidden", 404: "Not found",
          405: "Method not allowed", 406: "Not acceptable", 409: "Conflict", 413: "Too large",
          415: "Unsupported media type", 422: "Unprocessable request", 428: "Precondition required",
          429: "Too many requests", 500: "Server error", 503: "Unavailable"}

_HTTP_CODES = {400: "bad-request", 401: "unauthenticated", 403: "forbidden", 404: "not-found",
               405: "method-not-allowed", 409: "conflict", 413: "too-large",
               415: "unsupported-media-type", 422: "validation", 429: "too-many-requests",
               503: "unavailable"}


def problem_body(status: int, code: str, detail: str, instance: str,
                 **extra: Any) -> dict[str, Any]:
    """A problem details object."""
    return {"type": PROBLEM_TYPE_BASE + code, "title": TITLES.get(status, "Error"),
            "status": status, "detail": detail, "instance": instance, **extra}


def problem_bytes(status: int, code: str, detail: str, instance: str, **extra: Any) -> bytes:
    """A problem document as bytes, for answers sent from ASGI middleware."""
    return json.dumps(problem_body(status, code, detail, instance, **extra),
                      separators=(",", ":")).encode()


def problem_response(status: int, body: dict[str, Any],
                     headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON response with the problem media type."""
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def domain_headers(exc: DomainError) -> dict[str, str] | None:
    """The headers a domain error's answer carries (``Retry-After``, ``WWW-Authenticate``)."""
    headers: dict[str, str] = {}
    retry = getattr(exc, "retry_after", None)
    if retry is not None:
        headers["Retry-After"] = str(max(1, int(retry)))
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return headers or None


def domain_problem(request: Request, exc: DomainError, detail: str) -> JSONResponse:
    """The problem answer of a domain error with ``detail`` as its sentence.

    ``code`` stays the error's own (machine-stable, never translated). The app's handler,
    :func:`hub.offers.problems.problem_handler`, passes the detail in the reader's language
    (this layer knows no languages).
    """
    return problem_response(exc.status, problem_body(exc.status, exc.code, detail,
                                                     request.url.path, **problem_extra(exc)),
                            domain_headers(exc))


def problem_extra(exc: DomainError) -> dict[str, Any]:
    """Extension members an error carries (``extra``, e.g. the clashing period of a 409)."""
    extra = getattr(exc, "extra", None)
    return dict(extra) if isinstance(extra, dict) else {}


async def validation_problem_handler(request: Request, exc: Exception) -> JSONResponse:
    """Exception handler for FastAPI's ``RequestValidationError``: 422 as a problem."""
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")),
               "type": str(e.get("type", ""))} for e in exc.errors()]
    detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
    return problem_response(422, problem_body(422, "validation", detail or "invalid request",
                                              request.url.path, errors=errors[:20]))


async def http_problem_handler(request: Request, exc: Exception) -> JSONResponse:
    """Exception handler for Starlette's ``HTTPException`` (404, 405, 413, a body not UTF-8).

    The exception's headers (``Retry-After``, ``WWW-Authenticate``, ``Allow``) are kept.
    """
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(status, "Error")
    code = _HTTP_CODES.get(status, "http-error")
    headers = dict(exc.headers) if exc.headers else {}
    if status == 405:
        allowed = documented_methods(request)
        if allowed:
            headers["Allow"] = ", ".join(allowed)
    return problem_response(status, problem_body(status, code, detail, request.url.path),
                            headers or None)


def documented_methods(request: Request) -> list[str]:
    """The methods the API description lists for the request's path (for ``Allow`` on 405).

    Starlette's own ``Allow`` names only the methods of the first route matching the path;
    a path served by several routes (GET and POST /consents) supports them all.
    """
    table = getattr(request.app.state, "methods_by_path", None)
    if table is None:
        paths = request.app.openapi().get("paths", {})
        table = []
        for template, item in paths.items():
            pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
            methods = sorted(m.upper() for m in item if m in {"get", "put", "post", "delete", "patch"})
            table.append(("{" not in template, pattern, methods))
        request.app.state.methods_by_path = table
    path = request.url.path
    exact = [methods for literal, pattern, methods in table if literal and pattern.match(path)]
    if exact:
        return list(exact[0])
    return sorted({m for literal, pattern, methods in table if not literal and pattern.match(path)
                   for m in methods})


async def server_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Any unexpected exception: 500 as a problem, the details in the log only."""
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(500, problem_body(500, "server-error", "the hub failed to answer; "
                                              "the error is logged", request.url.path))


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI response descriptions with an example for each status."""
    examples = {
        400: ("bad-request", "the body is not valid JSON"),
        401: ("unauthenticated", "sign in first"),
        403: ("forbidden", "this route is for providers"),
        404: ("not-found", "no booking bk-1234"),
        409: ("conflict", "request req-1234 is already claimed"),
        413: ("too-large", "the body is larger than 65536 bytes"),
        422: ("validation", "body.slot: Field required"),
        429: ("too-many-requests", "too many failed logins; try again later"),
    }
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        code, detail = examples[status]
        out[status] = {
            "description": TITLES[status],
            "content": {MEDIA_TYPE: {
                "schema": {"$ref": "#/components/schemas/Problem"},
                "example": problem_body(status, code, detail, "/bookings/bk-1234/move"),
            }},
        }
    return out
