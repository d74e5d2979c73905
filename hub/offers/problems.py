"""Problems of the offers API; the problem details themselves live in :mod:`hub.problems`."""

from __future__ import annotations

from hub.errors import DomainError
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
    "validation_problem_handler",
]


class Unauthenticated(DomainError):
    """No principal on the request."""

    status = 401
    code = "unauthenticated"


class Unprocessable(DomainError):
    """A request that is well-formed but cannot be used (bad key, bad cursor)."""

    status = 422
    code = "unprocessable"
