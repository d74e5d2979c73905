"""HTTP routes of the rules engine (operators): loaded rules, traces, reload.

    GET  /api/rules                       packs, rules (file and line), pending for: timers
    GET  /api/rules/traces?rule_id=&household=&limit=   why rules fired or did not
    POST /api/rules/reload                reload the packs; the ReloadResult as JSON

The engine is ``request.app.state.hub.rules``. These routes are for community admins:
mount them with the admin dependency, ``hub.add_router(build_router([Depends(admin)]))``;
``router`` is the same without dependencies (tests, tools).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.params import Depends

from hub.rules.engine import RuleEngine


def _engine(request: Request) -> RuleEngine:
    engine: RuleEngine = request.app.state.hub.rules
    return engine


def build_router(dependencies: Sequence[Depends] = ()) -> APIRouter:
    """The rules routes, behind ``dependencies`` (the admin check)."""
    api = APIRouter(prefix="/api/rules", tags=["rules"], dependencies=list(dependencies))

    @api.get("", summary="Loaded rules and pending timers")
    def list_rules(request: Request) -> dict[str, Any]:
        engine = _engine(request)
        return {
            "rules": [
                {
                    "id": r.id,
                    "pack": r.pack,
                    "file": r.file,
                    "line": r.line,
                    "description": r.spec.description,
                    "cooldown_s": r.spec.cooldown,
                }
                for r in engine.rules
            ],
            "pending": engine.pending(),
        }

    @api.get("/traces", summary="Why rules fired or did not, newest last")
    def traces(
        request: Request,
        rule_id: str | None = Query(default=None, max_length=200),
        household: str | None = Query(default=None, max_length=200),
        limit: int = Query(default=200, ge=1, le=5000),
    ) -> list[dict[str, Any]]:
        return _engine(request).traces(rule_id=rule_id, household=household)[-limit:]

    @api.post("/reload", summary="Reload the rule packs (a broken pack keeps its old version)")
    def reload(request: Request) -> dict[str, Any]:
        return _engine(request).reload().marshal()

    return api


router = build_router()
