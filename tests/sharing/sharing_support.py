"""Helpers of the sharing tests (imported by name: test dirs have no __init__)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import orjson
from fastapi import Request

from hub.clock import FakeClock
from hub.offers.service import OffersService
from hub.sharing.service import SharingService
from hub.storage.database import Database
from hub.storage.outbox import Outbox

#: The story's Sunday, before Ana's 09:00 wanted post.
SUNDAY = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


@dataclass
class World:
    db: Database
    outbox: Outbox
    clock: FakeClock
    offers: OffersService
    sharing: SharingService

    def messages(self, prefix: str) -> list[tuple[str, dict[str, Any]]]:
        """Outbox messages whose topic starts with ``prefix``, oldest first."""
        rows = self.db.query("SELECT topic, payload FROM outbox WHERE topic LIKE ?"
                             " ORDER BY seq", (f"{prefix}%",))
        return [(r["topic"], orjson.loads(r["payload"])) for r in rows]


def add_other_community(db: Database) -> None:
    """A second community, Hillside, with one household (h-zed)."""
    with db.transaction() as conn:
        conn.execute("INSERT INTO communities (id, name, created_at) VALUES ('hillside',"
                     " 'Hillside', 0) ON CONFLICT (id) DO NOTHING")
        conn.execute("INSERT INTO households (id, community, name, street, lat, lon,"
                     " created_at) VALUES ('h-zed', 'hillside', 'Zed', 'Hill Road 1', 52.5,"
                     " 5.5, 0) ON CONFLICT (id) DO NOTHING")


def build_app(world: World) -> Any:
    """The offers and sharing routers; the caller comes from an ``X-Test-Principal`` header."""
    from fastapi import FastAPI
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from hub.errors import DomainError
    from hub.identity.auth import current_principal
    from hub.identity.limits import BodySizeLimitMiddleware
    from hub.offers.api import router
    from hub.offers.problems import (
        http_problem_handler,
        problem_handler,
        validation_problem_handler,
    )
    from hub.sharing.api import routers
    from hub.sharing.photos import MAX_BYTES, UPLOAD_PATH
    app = FastAPI()
    app.add_middleware(BodySizeLimitMiddleware, larger=[(UPLOAD_PATH, MAX_BYTES)])
    app.state.hub = SimpleNamespace(offers=world.offers, sharing=world.sharing)
    app.include_router(router)
    for r in routers:
        app.include_router(r)
    app.add_exception_handler(DomainError, problem_handler)
    app.add_exception_handler(RequestValidationError, validation_problem_handler)
    app.add_exception_handler(StarletteHTTPException, http_problem_handler)

    app.dependency_overrides[current_principal] = principal_from_request
    return app


async def principal_from_request(request: Request) -> Any:
    """Stands in for the identity's ``current_principal``: the ``X-Test-Principal`` header
    (h-zed lives in another community), 401 without it."""
    from hub.offers.problems import Unauthenticated
    from tests.offers.offers_fixtures import FakePrincipal, principal_from_header

    header = request.headers.get("x-test-principal")
    if not header:
        raise Unauthenticated("sign in first")
    p = principal_from_header(header)
    if p.household == "h-zed":
        p = FakePrincipal(p.account_id, p.role, household="h-zed", community="hillside")
    return p


def who(household: str) -> dict[str, str]:
    """The test header that signs a request in as ``household``."""
    return {"x-test-principal": f"household:{household}"}
