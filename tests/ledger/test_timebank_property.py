"""Property tests over random transfer sequences: the community sum is always 0, no balance
passes its limit, and concurrent confirmations never double-spend."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.clock import FakeClock
from hub.errors import Conflict, DomainError
from hub.ledger import TimeBank, verify_ledger
from hub.offers.consent import AllowAll
from hub.offers.context import Context
from hub.offers.seed import seed_story
from hub.offers.uow import UnitOfWork
from hub.storage.database import Database
from hub.storage.outbox import Outbox
from tests.stores import open_db

PEOPLE = ("h-ana", "h-ben", "h-chen", "h-dan")
LIMIT = -1000

step = st.tuples(st.sampled_from(PEOPLE), st.sampled_from(PEOPLE),
                 st.integers(min_value=1, max_value=600),
                 st.sampled_from(("confirm", "decline", "reverse", "leave")))


def _bank(path: Path) -> tuple[Database, TimeBank]:
    db = open_db(path)
    clock = FakeClock(datetime(2026, 11, 29, 14, tzinfo=UTC))
    seed_story(db, clock)
    return db, TimeBank(Context(uow=UnitOfWork(db, Outbox(db), clock), consent=AllowAll()))


def _balances(db: Database) -> dict[str, int]:
    return {r[0]: int(r[1]) for r in db.query("SELECT account, balance FROM timebank_accounts")}


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(step, min_size=1, max_size=30), grant=st.integers(0, 300))
def test_random_sequences_keep_sum_zero_and_limits(steps: list[tuple[str, str, int, str]],
                                                   grant: int) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        db, tb = _bank(Path(folder) / "hub.db")
        try:
            tb.set_settings("riverside", credit_limit="-10", welcome_grant=str(grant / 100))
            expected: dict[str, int] = {}
            for payer, helper, cents, then in steps:
                try:
                    t = tb.record(payer, helper, str(cents / 100), "", "p")
                except DomainError:
                    continue  # paying oneself, or past the limit: refused, nothing moved
                if then == "leave":
                    continue
                if then == "decline":
                    tb.decline(helper, t["id"], "h")
                    continue
                try:
                    tb.confirm(helper, t["id"], "h")
                except Conflict:
                    continue
                expected[payer] = expected.get(payer, 0) - cents
                expected[helper] = expected.get(helper, 0) + cents
                if then == "reverse":
                    try:
                        tb.reverse(helper, t["id"], "h")
                    except Conflict:
                        continue
                    expected[payer] += cents
                    expected[helper] -= cents
                balances = _balances(db)
                assert sum(balances.values()) == 0
                assert all(v >= LIMIT for k, v in balances.items() if not k.startswith("fund:"))
            balances = _balances(db)
            grants = {k: grant for k in balances if not k.startswith("fund:")}
            for who, moved in expected.items():
                assert balances[who] == grants.get(who, 0) + moved
            assert sum(balances.values()) == 0
            report = verify_ledger(db)
            assert report.ok
            assert report.total == 0
        finally:
            db.close()


@settings(max_examples=10, deadline=None)
@given(amounts=st.lists(st.integers(min_value=50, max_value=400), min_size=4, max_size=12))
def test_concurrent_confirmations_never_double_spend(amounts: list[int]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        db, tb = _bank(Path(folder) / "hub.db")
        try:
            helpers = ("h-ben", "h-chen", "h-dan", "h-eve")
            pending = []
            for i, cents in enumerate(amounts):
                helper = helpers[i % len(helpers)]
                pending.append((helper, tb.record("h-ana", helper, str(cents / 100), "", "a")))
            start = threading.Barrier(len(pending))
            results: list[str] = []

            def confirm(helper: str, tid: str) -> None:
                start.wait(10)
                try:
                    tb.confirm(helper, tid, "h")
                    results.append("ok")
                except Conflict:
                    results.append("refused")

            threads = [threading.Thread(target=confirm, args=(h, t["id"])) for h, t in pending]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            confirmed = sum(r[0] for r in db.query(
                "SELECT cents FROM timebank_transfers WHERE status = 'confirmed'"))
            balance = _balances(db)["h-ana"]
            assert len(results) == len(amounts)
            assert balance == -confirmed >= LIMIT
            assert results.count("ok") == db.query_one(
                "SELECT COUNT(*) FROM timebank_transfers WHERE status = 'confirmed'")[0]
            # Whatever was refused would not have fitted any more.
            refused = [c for (h, t), c in zip(pending, amounts, strict=True)
                       if tb.get("h-ana", t["id"])["status"] == "pending"]
            assert all(balance - c < LIMIT for c in refused)
            assert verify_ledger(db).ok
        finally:
            db.close()
