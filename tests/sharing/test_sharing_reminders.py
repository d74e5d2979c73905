"""Reminders before pickup and return, the overdue notice: durable jobs in the store that
fire once, also when they came due while the hub was down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sharing_support import SUNDAY, World

from hub.clock import FakeClock
from hub.offers.service import OffersService
from hub.sharing.service import SharingService
from hub.sharing.things import NewThing
from hub.storage.outbox import Outbox
from tests.stores import open_db

START = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
END = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _accepted_loan(world: World) -> str:
    s = world.sharing
    drill = s.create_thing("h-chen", NewThing(title="Cordless drill"), "household:h-chen")
    loan = s.loans.request("h-ana", drill["id"], START, END, actor="household:h-ana")
    s.loans.accept("h-chen", loan["id"], "household:h-chen")
    return str(loan["id"])


def _types(world: World, household: str, lid: str) -> list[str]:
    return [p["type"] for _, p in world.messages(f"home/{household}/hub/sharing/loans/{lid}")]


def test_jobs_are_planned_sent_once_and_survive_a_restart(world: World, tmp_path: Path) -> None:
    lid = _accepted_loan(world)
    assert [(r["kind"], r["due_at"], r["sent_at"]) for r in world.sharing.reminders.pending(lid)] == [
        ("pickup", "2026-11-29T09:00:00Z", None), ("return", "2026-11-29T11:00:00Z", None),
        ("overdue", "2026-11-29T12:15:00Z", None)]
    assert world.sharing.run_due() == []  # 08:00: nothing is due
    world.clock.set(datetime(2026, 11, 29, 9, 1, tzinfo=UTC))
    assert world.sharing.run_due() == [("reminder-pickup", lid)]
    assert world.sharing.run_due() == []
    assert _types(world, "h-ana", lid)[-1] == "loan-pickup"
    assert _types(world, "h-chen", lid)[-1] == "loan-pickup"
    for h in ("h-ana", "h-chen"):
        world.sharing.loans.handover(h, lid, f"household:{h}")

    # The hub stops; it is down while the return reminder and the overdue notice come due.
    world.offers.close()
    world.db.close()
    db = open_db(tmp_path / "hub.db")
    clock = FakeClock(datetime(2026, 11, 29, 12, 30, tzinfo=UTC))
    offers = OffersService(db, Outbox(db), clock)
    again = SharingService(offers, tmp_path / "photos")
    try:
        assert again.run_due() == [("reminder-return", lid), ("reminder-overdue", lid)]
        assert again.run_due() == []
        loan = again.loans.get("h-ana", lid)
        assert loan["overdue"] is True
        rows = db.query("SELECT payload FROM outbox WHERE topic = ? ORDER BY seq",
                        (f"home/h-ana/hub/sharing/loans/{lid}",))
        assert [r["payload"] for r in rows][-1].find(b'"loan-overdue"') > 0
    finally:
        offers.close()
        db.close()


def test_cancel_and_return_drop_the_jobs_and_extend_replans(world: World) -> None:
    lid = _accepted_loan(world)
    s = world.sharing
    s.loans.extend("h-ana", lid, END + timedelta(hours=2), "household:h-ana")
    due = {r["kind"]: r["due_at"] for r in s.reminders.pending(lid)}
    assert due == {"pickup": "2026-11-29T09:00:00Z", "return": "2026-11-29T13:00:00Z",
                   "overdue": "2026-11-29T14:15:00Z"}
    s.loans.cancel("h-chen", lid, "drill broke", "household:h-chen")
    assert s.reminders.pending(lid) == []
    world.clock.set(SUNDAY + timedelta(days=1))
    assert s.run_due() == []
    assert "loan-pickup" not in _types(world, "h-ana", lid)
