"""Problems of the offers API; the problem details themselves live in :mod:`hub.problems`."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from hub.errors import DomainError, StorageFull
from hub.problems import (
    MEDIA_TYPE,
    PROBLEM_TYPE_BASE,
    http_problem_handler,
    problem_body,
    problem_extra,
    problem_handler,
    problem_response,
    problem_responses,
    validation_problem_handler,
)

__all__ = [
    "MEDIA_TYPE", "PROBLEM_TYPE_BASE", "Unauthenticated", "Unprocessable", "http_problem_handler",
    "problem_body", "problem_extra", "problem_handler", "problem_response", "problem_responses",
    "storage_full_handler", "validation_problem_handler",
]


class Unauthenticated(DomainError):
    """No principal on the request."""

    status = 401
    code = "unauthenticated"


class Unprocessable(DomainError):
    """A request that is well-formed but cannot be used (bad key, bad cursor)."""

    status = 422
    code = "unprocessable"


# A full disk passes; a client may try the same write again (with its idempotency key).
STORAGE_FULL_RETRY_S = 30


async def storage_full_handler(request: Request, exc: Exception) -> JSONResponse:
    """Exception handler for :class:`hub.errors.StorageFull`: 503 with a reason and Retry-After."""
    assert isinstance(exc, StorageFull)
    body = problem_body(503, "storage-full", exc.public, request.url.path)
    return problem_response(503, body, {"Retry-After": str(STORAGE_FULL_RETRY_S)})
