"""Wiring of the time bank, pooled projects and trust export (called from hub/wiring.py).

Kept apart so that hub/wiring.py, which others restructure, needs one line for all three.
The components share the offers' context: one unit of work, outbox, consent and live
updates, the offers' idempotency store for POSTs.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.service import Hub

logger = logging.getLogger(__name__)


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


__all__ = ["build"]
