"""FastAPI dependencies: who is calling (:func:`current_principal`) and may they
(:func:`require_role`).

Every route but the login depends on one of them. A missing, unknown, revoked or expired
token is 401; a role the route does not admit is 403. Objects are scoped to their owner
by the routes themselves (a household's consent is looked up with its household id, so
another's is 404, never 403: ids are not confirmed to exist).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub.errors import DomainError
from hub.identity.accounts import ROLES, Principal
from hub.identity.errors import AuthFailed, TooManyAttempts

if TYPE_CHECKING:
    from hub.identity.service import Identity

bearer = HTTPBearer(auto_error=False, description="a token from POST /auth/login, or an API token")


def identity_of(request: Request) -> Identity:
    """The hub's :class:`~hub.identity.service.Identity` (``request.app.state.hub.identity``)."""
    identity: Identity = request.app.state.hub.identity
    return identity


def http_error(exc: DomainError) -> HTTPException:
    """The HTTP answer for a domain error (status from the error class)."""
    headers: dict[str, str] | None = None
    if isinstance(exc, AuthFailed):
        headers = {"WWW-Authenticate": "Bearer"}
    elif isinstance(exc, TooManyAttempts):
        headers = {"Retry-After": str(exc.retry_after)}
    return HTTPException(exc.status, str(exc), headers=headers)


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller, from ``Authorization: Bearer <token>``; 401 without a live token.

    ``async`` on purpose: a resolved token is answered from memory and an unknown one
    costs two primary-key reads on this thread's own SQLite reader, so a hop to the
    thread pool (what FastAPI does for a sync dependency) would cost more than the work.
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise http_error(AuthFailed("a bearer token is required"))
    try:
        return identity_of(request).authenticate(credentials.credentials)
    except AuthFailed as exc:
        raise http_error(exc) from None


def require_role(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting only callers of ``roles`` (403 for others).

    The returned callable carries ``roles`` as an attribute, so that tests can read each
    route's roles from ``app.routes`` and attack every other role.
    """
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in roles:
            raise HTTPException(403, f"this route is for {', '.join(roles)}")
        return principal

    dependency.roles = frozenset(roles)  # type: ignore[attr-defined]
    dependency.__name__ = f"require_{'_'.join(roles)}"
    return dependency


def route_roles(dependant: Any) -> frozenset[str] | None:
    """The roles a route admits (from :func:`require_role`), or None when it has none."""
    found: set[str] | None = None
    stack = [dependant]
    while stack:
        dep = stack.pop()
        roles = getattr(dep.call, "roles", None) if dep.call is not None else None
        if roles is not None:
            found = set(roles) if found is None else found & set(roles)
        stack.extend(dep.dependencies)
    return None if found is None else frozenset(found)


def needs_principal(dependant: Any) -> bool:
    """Whether a route depends on :func:`current_principal` (directly or not)."""
    stack = [dependant]
    while stack:
        dep = stack.pop()
        if dep.call is current_principal:
            return True
        stack.extend(dep.dependencies)
    return False


def route_security(app: Any) -> list[tuple[str, str, frozenset[str] | None, bool]]:
    """Every operation of an app: ``(method, path, roles, needs_principal)``.

    Walks routers included with ``include_router`` too (FastAPI 0.165 keeps them nested),
    adding their prefixes and include-time dependencies, and the app's route index. Tests use it to attack every route
    of the whole app with every role it does not admit.
    """
    out: list[tuple[str, str, frozenset[str] | None, bool]] = []

    def walk(
        routes: Any, prefix: str, extra_roles: frozenset[str] | None, extra_auth: bool
    ) -> None:
        for route in routes:
            indexed = getattr(route, "indexed_routes", None)  # the app's table (hub.api.routes)
            if indexed is not None:
                walk(indexed, prefix, extra_roles, extra_auth)
                continue
            original = getattr(route, "original_router", None)
            if original is not None:
                context = getattr(route, "include_context", None)
                roles, auth = extra_roles, extra_auth
                for dep in getattr(context, "dependencies", []) or []:
                    call = getattr(dep, "dependency", None)
                    found = getattr(call, "roles", None)
                    if found is not None:
                        roles = frozenset(found) if roles is None else roles & frozenset(found)
                        auth = True
                    auth = auth or call is current_principal
                walk(original.routes, prefix + getattr(context, "prefix", ""), roles, auth)
                continue
            dependant = getattr(route, "dependant", None)
            methods = getattr(route, "methods", None)
            if dependant is None or not methods:
                continue
            roles = route_roles(dependant)
            if extra_roles is not None:
                roles = extra_roles if roles is None else roles & extra_roles
            auth = extra_auth or needs_principal(dependant)
            for method in sorted(methods):
                out.append((method, prefix + route.path, roles, auth))

    walk(app.routes, "", None, False)
    return out
