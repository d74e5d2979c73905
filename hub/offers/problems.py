"""RFC 9457 problem details for the offers API (``application/problem+json``)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.errors import DomainError, StorageFull

PROBLEM_TYPE_BASE = "https://community-hub.example/problems/"
MEDIA_TYPE = "application/problem+json"

_TITLES = {400: "Bad request", 401: "Not signed in", 403: "Forbidden", 404: "Not found",
           409: "Conflict", 413: "Too large", 422: "Unprocessable request",
           503: "Unavailable"}


class Unauthenticated(DomainError):
    """No principal on the request."""

    status = 401
    code = "unauthenticated"


class Unprocessable(DomainError):
    """A request that is well-formed but cannot be used (bad key, bad cursor)."""

    status = 422
    code = "unprocessable"


def problem_body(status: int, code: str, detail: str, instance: str,
                 **extra: Any) -> dict[str, Any]:
    """A problem details object."""
    return {"type": PROBLEM_TYPE_BASE + code, "title": _TITLES.get(status, "Error"),
            "status": status, "detail": detail, "instance": instance, **extra}


def problem_response(status: int, body: dict[str, Any]) -> JSONResponse:
    """A JSON response with the problem media type."""
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE)


async def problem_handler(request: Request, exc: Exception) -> JSONResponse:
    """Exception handler for :class:`hub.errors.DomainError` (register with the app)."""
    assert isinstance(exc, DomainError)
    return problem_response(exc.status, problem_body(exc.status, exc.code, str(exc),
                                                     request.url.path, **problem_extra(exc)))


def problem_extra(exc: DomainError) -> dict[str, Any]:
    """Extension members an error carries (``extra``, e.g. the clashing period of a 409)."""
    extra = getattr(exc, "extra", None)
    return dict(extra) if isinstance(extra, dict) else {}


async def validation_problem_handler(request: Request, exc: Exception) -> JSONResponse:
    """Exception handler for FastAPI's ``RequestValidationError``: 422 as a problem."""
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")),
               "type": str(e.get("type", ""))} for e in exc.errors()]
    detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5])
    return problem_response(422, problem_body(422, "validation", detail or "invalid request",
                                              request.url.path, errors=errors[:20]))


#: OpenAPI ``responses`` entries for the problems a route can answer with.
def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI response descriptions with an example for each status."""
    examples = {
        401: ("unauthenticated", "sign in first"),
        403: ("forbidden", "this route is for providers"),
        404: ("not-found", "no booking bk-1234"),
        409: ("conflict", "request req-1234 is already claimed"),
        413: ("too-large", "the body is larger than 65536 bytes"),
        422: ("validation", "body.slot: Field required"),
    }
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        code, detail = examples[status]
        out[status] = {
            "description": _TITLES[status],
            "content": {MEDIA_TYPE: {
                "schema": {"$ref": "#/components/schemas/Problem"},
                "example": problem_body(status, code, detail, "/bookings/bk-1234/move"),
            }},
        }
    return out


async def http_problem_handler(request: Request, exc: Exception) -> JSONResponse:
    """Exception handler for Starlette's ``HTTPException`` (e.g. a body that is not UTF-8)."""
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(status, "Error")
    code = {400: "bad-request", 404: "not-found", 405: "method-not-allowed",
            413: "too-large"}.get(status, "http-error")
    return problem_response(status, problem_body(status, code, detail, request.url.path))


# A full disk passes; a client may try the same write again (with its idempotency key).
STORAGE_FULL_RETRY_S = 30


async def storage_full_handler(request: Request, exc: Exception) -> JSONResponse:
    """Exception handler for :class:`hub.errors.StorageFull`: 503 with a reason and Retry-After."""
    assert isinstance(exc, StorageFull)
    body = problem_body(503, "storage-full", "the hub's disk is full: the write was not saved; try again later",
                        request.url.path)
    response = problem_response(503, body)
    response.headers["Retry-After"] = str(STORAGE_FULL_RETRY_S)
    return response
