"""Open operation: verify the time-bank ledger and the rating chain of a store.

:func:`verify_store` is what ``hub ledger verify`` and the community page run.
:class:`LedgerWatch` runs it on a schedule inside the hub; a break raises an admin alert
once per broken entry (a row in ``timebank_alerts``, an error in the log and a live
update to every community's admins).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from hub.ledger.chain import LedgerReport, verify_ledger
from hub.offers.context import Context
from hub.offers.ratings import ChainReport, verify_chain
from hub.offers.uow import new_id
from hub.storage.database import Database

logger = logging.getLogger(__name__)

#: How often the hub re-verifies both chains.
VERIFY_EVERY_S = 300.0


@dataclass(frozen=True, slots=True)
class StoreReport:
    """Both chains of a store."""

    ledger: LedgerReport
    ratings: ChainReport

    @property
    def ok(self) -> bool:
        return self.ledger.ok and self.ratings.ok

    def first_break(self) -> tuple[str, str, str] | None:
        """(chain, entry id, reason) of the first break, ledger first."""
        if not self.ledger.ok:
            return "timebank", self.ledger.broken_at or "(sum)", self.ledger.reason
        if not self.ratings.ok:
            return "ratings", self.ratings.broken_at or "", self.ratings.reason
        return None


def verify_store(db: Database) -> StoreReport:
    """Check the ledger (links, amounts, balances, sum 0) and the rating chain."""
    return StoreReport(ledger=verify_ledger(db), ratings=verify_chain(db))


class LedgerWatch:
    """The scheduled check (``hub.every(..., watch.check)``) and its admin alerts."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.last: StoreReport | None = None

    def check(self) -> StoreReport:
        """Verify now; on a break not alerted before, raise the alert."""
        report = verify_store(self.ctx.uow.db)
        self.last = report
        broken = report.first_break()
        if broken is None:
            return report
        chain, entry, reason = broken
        uow = self.ctx.uow
        with uow.tx() as conn:
            new = conn.execute(
                "INSERT INTO timebank_alerts (id, chain, broken_at, reason, raised_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (chain, broken_at) DO NOTHING",
                (new_id("la"), chain, entry, reason, uow.now())).rowcount
            if new:
                logger.error("ledger verification: %s chain broken at %s: %s", chain, entry, reason)
                communities = [r[0] for r in conn.execute("SELECT id FROM communities")]
                for community in communities:
                    self.ctx.push(f"community:{community}", {
                        "type": "ledger-alert", "chain": chain, "broken_at": entry,
                        "reason": reason})
        return report


def alerts(db: Database) -> list[dict[str, str]]:
    """Every alert raised, newest first."""
    return [dict(r) for r in db.query("SELECT id, chain, broken_at, reason, raised_at FROM"
                                      " timebank_alerts ORDER BY raised_at DESC, id")]
