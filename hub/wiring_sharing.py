"""Wiring of the time bank, pooled projects and trust export (called from hub/wiring.py).

Kept apart so that hub/wiring.py, which others restructure, needs one line for all three.
The components share the offers' context: one unit of work, outbox, consent and live
updates, the offers' idempotency store for POSTs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from fastapi import APIRouter

from hub.storage.database import Database

logger = logging.getLogger(__name__)

#: How often due project deadlines are looked for (a deadline fires within this).
PROJECT_TICK_S = 2.0


class Hub(Protocol):
    """What this wiring needs of the composition root (:class:`hub.service.Hub`)."""

    db: Database
    offers: Any

    def add_router(self, router: APIRouter) -> None: ...

    def every(self, seconds: float, job: Callable[[], object]) -> None: ...


def build(hub: Hub, components: dict[str, Any]) -> None:
    """Build the time bank and register its routes (after the offers are built)."""
    from hub.ledger import Skills, TimeBank
    from hub.ledger import api as ledger_api

    ctx = hub.offers.ctx
    components["timebank"] = TimeBank(ctx)
    components["timebank_skills"] = Skills(ctx)
    hub.add_router(ledger_api.router)
    from hub.ledger.verify import VERIFY_EVERY_S, LedgerWatch

    watch = LedgerWatch(ctx)
    components["ledger_watch"] = watch
    hub.every(VERIFY_EVERY_S, watch.check)

    from hub.projects import Projects
    from hub.projects import api as projects_api

    projects = Projects(ctx)
    components["projects"] = projects
    hub.add_router(projects_api.router)
    # The deadlines are the projects' rows; this job closes the due ones once each.
    hub.every(PROJECT_TICK_S, projects.close_due)
    components["tasks"].append(("projects-at-start", lambda: _at_start(projects.close_due)))

    from hub.trust import KeyRing
    from hub.trust import api as trust_api

    components["trust_keys"] = KeyRing(hub.db)
    hub.add_router(trust_api.router)

    from hub.dashboards.sharing_pages import router as pages_router

    hub.add_router(pages_router)


async def _at_start(job: Callable[[], object]) -> None:
    """Run ``job`` once as the hub starts (deadlines that passed while it was down)."""
    try:
        await asyncio.to_thread(job)
    except Exception:
        logger.exception("start-up job failed")


__all__ = ["build"]
