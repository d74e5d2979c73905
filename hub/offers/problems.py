"""Problems of the offers API; the problem details themselves live in :mod:`hub.problems`.

:func:`problem_handler` (the one the app registers for every domain error) says a domain
error's detail in the reader's language: the error's :class:`~hub.i18n.words.Message`,
translated for the request's ``Accept-Language`` (the same negotiation as the pages,
:func:`hub.i18n.negotiate`); English when the header names no shipped language.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from hub.errors import DomainError, StorageFull
from hub.i18n import reader
from hub.i18n.words import said
from hub.problems import (
    MEDIA_TYPE,
    PROBLEM_TYPE_BASE,
    domain_problem,
    http_problem_handler,
    problem_body,
    problem_extra,
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


def detail_for(request: Request, exc: DomainError) -> str:
    """The error's sentence in the request's language, as the pages say it (``Reader.say``)."""
    return reader(None, request.headers.get("accept-language")).say(said(exc))


async def problem_handler(request: Request, exc: Exception) -> JSONResponse:
    """Exception handler for :class:`hub.errors.DomainError`: a problem document whose
    ``detail`` is in the reader's language (``code`` stays as it is)."""
    assert isinstance(exc, DomainError)
    return domain_problem(request, exc, detail_for(request, exc))


# A full disk passes; a client may try the same write again (with its idempotency key).
STORAGE_FULL_RETRY_S = 30


async def storage_full_handler(request: Request, exc: Exception) -> JSONResponse:
    """Exception handler for :class:`hub.errors.StorageFull`: 503 with a reason and Retry-After."""
    assert isinstance(exc, StorageFull)
    body = problem_body(503, "storage-full", exc.public, request.url.path)
    return problem_response(503, body, {"Retry-After": str(STORAGE_FULL_RETRY_S)})
