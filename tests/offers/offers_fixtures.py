"""Helpers shared by the offers tests (imported by name: test dirs have no __init__)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import Request

from hub.clock import FakeClock
from hub.offers.events import OfferEvent
from hub.offers.seed import StorySeed
from hub.offers.service import OffersService
from hub.storage.database import Database
from hub.storage.outbox import Outbox

SATURDAY = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    """The rules engine's Action, as its contract describes it."""

    kind: str
    household: str
    rule_id: str = "r"
    pack: str = "p"
    key: str = "k"
    title: str = ""
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = SATURDAY


class Grants:
    """A consent port with explicit grants: (household, provider, purpose) -> signals."""

    def __init__(self) -> None:
        self.grants: dict[tuple[str, str, str], set[str]] = {}
        self.asked: list[tuple[str, str, tuple[str, ...], str, str]] = []

    def grant(self, household: str, provider: str, purpose: str, *signals: str) -> None:
        self.grants.setdefault((household, provider, purpose), set()).update(signals)

    def revoke(self, household: str, provider: str, purpose: str) -> None:
        self.grants.pop((household, provider, purpose), None)

    def allowed(self, household: str, provider: str, provider_kinds: Sequence[str],
                purpose: str, signal: str) -> bool:
        self.asked.append((household, provider, tuple(provider_kinds), purpose, signal))
        return signal in self.grants.get((household, provider, purpose), set())


@dataclass
class Hub:
    db: Database
    outbox: Outbox
    clock: FakeClock
    offers: OffersService
    events: list[OfferEvent]
    seed: StorySeed
    grants: Grants

    def feed(self, provider: str) -> list[tuple[str, dict[str, Any]]]:
        """Outbox messages for a provider's feed, oldest first."""
        rows = self.db.query("SELECT topic, payload FROM outbox WHERE topic LIKE ?"
                             " ORDER BY created_at, seq", (f"providers/{provider}/%",))
        return [(r["topic"], orjson.loads(r["payload"])) for r in rows]

    def messages(self, prefix: str) -> list[tuple[str, dict[str, Any]]]:
        rows = self.db.query("SELECT topic, payload FROM outbox WHERE topic LIKE ?"
                             " ORDER BY created_at, seq", (f"{prefix}%",))
        return [(r["topic"], orjson.loads(r["payload"])) for r in rows]

    def kinds(self, kind: str) -> list[OfferEvent]:
        return [e for e in self.events if e.kind == kind]



# -- HTTP -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FakePrincipal:
    """What the identity package's principal offers, built from a test header."""

    account_id: str
    role: str
    household: str | None = None
    provider: str | None = None
    community: str | None = "riverside"


def principal_from_header(value: str) -> FakePrincipal:
    """``household:h-ana``, ``provider:fresh-grocer`` or ``admin:riverside``."""
    role, _, who = value.partition(":")
    if role == "household":
        return FakePrincipal(f"acct-{who}", role, household=who)
    if role == "provider":
        return FakePrincipal(f"acct-{who}", role, provider=who, community=None)
    return FakePrincipal(f"acct-admin-{who}", "admin", community=who)


async def principal_from_request(request: Request) -> FakePrincipal:
    """Stands in for the identity package's ``current_principal`` (401 without the header)."""
    from hub.offers.problems import Unauthenticated

    header = request.headers.get("x-test-principal")
    if not header:
        raise Unauthenticated("sign in first")
    return principal_from_header(header)


def build_app(offers: OffersService) -> Any:
    """The offers router in an app whose caller comes from an ``X-Test-Principal`` header."""
    from types import SimpleNamespace

    from fastapi import FastAPI
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from hub.errors import DomainError
    from hub.identity.auth import current_principal
    from hub.offers.api import router
    from hub.offers.problems import (
        http_problem_handler,
        problem_handler,
        validation_problem_handler,
    )

    app = FastAPI()
    app.state.hub = SimpleNamespace(offers=offers)
    app.include_router(router)
    app.add_exception_handler(DomainError, problem_handler)
    app.add_exception_handler(RequestValidationError, validation_problem_handler)
    app.add_exception_handler(StarletteHTTPException, http_problem_handler)

    app.dependency_overrides[current_principal] = principal_from_request

    return app


class Server:
    """uvicorn on 127.0.0.1 in a thread, started and stopped for real."""

    def __init__(self, app: Any) -> None:
        import socket
        import threading

        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                     log_level="warning", lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, name="uvicorn", daemon=True)

    def __enter__(self) -> Server:
        import time

        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            self._thread.join(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)
