"""The time bank's rules on a real SQLite file: agreement before a balance moves, exact
hours, the credit limit, the welcome grant, reversals as new entries, statements."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from ledger_fixtures import Bank

from hub.errors import Conflict, Forbidden, NotFound
from hub.ledger import verify_ledger
from hub.offers.problems import Unprocessable


def test_bike_repair_moves_hours_only_after_the_helper_confirms(bank: Bank) -> None:
    tb = bank.tb
    t = tb.record("h-ana", "h-chen", "1.5", "fixed my bike", "household:ana")
    assert t["status"] == "pending"
    assert t["hundredths"] == 150
    assert tb.balance("h-ana")["hours"] == 0
    assert tb.balance("h-ana")["pending_out"] == 1.5
    assert tb.balance("h-chen")["hours"] == 0
    assert tb.balance("h-chen")["pending_in"] == 1.5
    with pytest.raises(Forbidden):
        tb.confirm("h-ana", t["id"], "household:ana")  # the payer cannot confirm
    with pytest.raises(NotFound):
        tb.confirm("h-ben", t["id"], "household:ben")  # a stranger does not see it
    done = tb.confirm("h-chen", t["id"], "household:chen")
    assert done["status"] == "confirmed"
    assert done["entry"]
    assert tb.balance("h-ana")["hours"] == -1.5
    assert tb.balance("h-chen")["hours"] == 1.5
    with pytest.raises(Conflict, match="not pending"):
        tb.confirm("h-chen", t["id"], "household:chen")
    assert tb.balance("h-chen")["hours"] == 1.5
    report = verify_ledger(bank.db)
    assert report.ok
    assert report.count == 1
    assert report.total == 0
    # Both parties heard of it on their own topics, at each step.
    assert bank.messages("home/h-ana/hub/timebank/") == [f"home/h-ana/hub/timebank/{t['id']}"] * 2
    assert bank.messages("home/h-chen/hub/timebank/") == [f"home/h-chen/hub/timebank/{t['id']}"] * 2


@pytest.mark.parametrize("hours", ["0", "-1", "0.001", "1.555", "1001", "NaN", "abc"])
def test_bad_hours_are_refused_with_the_reason(bank: Bank, hours: str) -> None:
    with pytest.raises(Unprocessable, match="hours"):
        bank.tb.record("h-ana", "h-chen", hours, "", "household:ana")
    assert bank.db.query_one("SELECT COUNT(*) FROM timebank_transfers")[0] == 0


def test_quarter_hours_are_exact(bank: Bank) -> None:
    for _ in range(3):
        t = bank.tb.record("h-ana", "h-chen", "0.1", "", "a")
        bank.tb.confirm("h-chen", t["id"], "c")
    assert bank.tb.balance("h-chen")["hundredths"] == 30  # never 0.30000000000000004


def test_payer_cannot_pay_self_or_an_unknown_household(bank: Bank) -> None:
    with pytest.raises(Unprocessable, match="itself"):
        bank.tb.record("h-ana", "h-ana", "1", "", "a")
    with pytest.raises(NotFound):
        bank.tb.record("h-ana", "h-nobody", "1", "", "a")


def test_credit_limit_is_enforced_at_record_and_at_confirm(bank: Bank) -> None:
    tb = bank.tb
    first = tb.record("h-ana", "h-chen", "6", "", "a")
    second = tb.record("h-ana", "h-ben", "6", "", "a")  # each fits on its own
    with pytest.raises(Conflict, match=r"past the community's limit of -10\.00 h"):
        tb.record("h-ana", "h-ben", "10.01", "", "a")
    tb.confirm("h-chen", first["id"], "c")
    with pytest.raises(Conflict, match="limit"):
        tb.confirm("h-ben", second["id"], "b")  # together they would pass -10
    assert tb.get("h-ana", second["id"])["status"] == "pending"
    assert tb.balance("h-ana")["hours"] == -6
    assert tb.balance("h-ben")["hours"] == 0


def test_admin_sets_limit_and_welcome_grant_from_the_fund(bank: Bank) -> None:
    tb = bank.tb
    s = tb.set_settings("riverside", credit_limit="-5", welcome_grant="2")
    assert s["credit_limit"] == -5
    assert s["welcome_grant"] == 2
    assert tb.balance("h-dan")["hours"] == 2  # paid once, on opening the account
    assert tb.balance("h-dan")["hours"] == 2
    with pytest.raises(Conflict):
        tb.record("h-dan", "h-eve", "7.01", "", "d")  # 2 - 7.01 < -5
    report = verify_ledger(bank.db)
    # The refused transfer rolled back everything it did, eve's account opening included.
    assert report.ok
    assert report.count == 1
    assert report.total == 0
    fund = bank.db.query_one("SELECT balance FROM timebank_accounts WHERE account = 'fund:riverside'")
    assert fund[0] == -200
    with pytest.raises(Unprocessable):
        tb.set_settings("riverside", credit_limit="3", welcome_grant="0")
    with pytest.raises(Unprocessable):
        tb.set_settings("riverside", credit_limit="-3", welcome_grant="-1")


def test_reversal_is_a_new_entry_and_decline_moves_nothing(bank: Bank) -> None:
    tb = bank.tb
    t = tb.record("h-ana", "h-chen", "2", "", "a")
    tb.confirm("h-chen", t["id"], "c")
    with pytest.raises(Forbidden):
        tb.reverse("h-ana", t["id"], "a")
    back = tb.reverse("h-chen", t["id"], "c")
    assert back["status"] == "reversed"
    assert back["reversal"]
    assert tb.balance("h-ana")["hours"] == 0
    assert tb.balance("h-chen")["hours"] == 0
    kinds = [r[0] for r in bank.db.query("SELECT kind FROM timebank_entries ORDER BY seq")]
    assert kinds == ["transfer", "reversal"]
    d = tb.record("h-ana", "h-chen", "1", "", "a")
    assert tb.decline("h-chen", d["id"], "c")["status"] == "declined"
    w = tb.record("h-ana", "h-chen", "1", "", "a")
    assert tb.decline("h-ana", w["id"], "a")["status"] == "cancelled"
    assert tb.balance("h-ana")["hours"] == 0
    assert verify_ledger(bank.db).count == 2


def test_entries_cannot_be_updated_or_deleted(bank: Bank) -> None:
    t = bank.tb.record("h-ana", "h-chen", "1", "", "a")
    bank.tb.confirm("h-chen", t["id"], "c")
    import sqlite3

    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        bank.db.execute("UPDATE timebank_entries SET cents = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        bank.db.execute("DELETE FROM timebank_entries")


def test_statement_and_csv(bank: Bank) -> None:
    tb = bank.tb
    a = tb.record("h-ana", "h-chen", "1.5", "bike", "a")
    tb.confirm("h-chen", a["id"], "c")
    b = tb.record("h-chen", "h-ana", "0.25", "=cmd()", "c")
    tb.confirm("h-ana", b["id"], "a")
    st = tb.statement("h-ana")
    assert [(e["hours"], e["balance"], e["counterpart"]) for e in st] == [
        (-1.5, -1.5, "h-chen"), (0.25, -1.25, "h-chen")]
    rows = list(csv.reader(io.StringIO(tb.statement_csv("h-ana"))))
    assert rows[0] == ["date", "entry", "kind", "counterpart", "hours", "balance", "note", "hash"]
    assert [r[4:7] for r in rows[1:]] == [["-1.50", "-1.50", "bike"], ["0.25", "-1.25", "'=cmd()"]]


def test_skills_match_the_other_side(bank: Bank) -> None:
    sk = bank.skills
    offer = sk.add("h-chen", "riverside", side="offer", category="repairs", title="Bike repairs",
                   description="brakes, gears", actor="c")
    assert offer["matches"] == []
    bank.clock.advance(timedelta(minutes=1))
    need = sk.add("h-ana", "riverside", side="request", category="repairs",
                  title="My bike's brakes squeal", description="", actor="a")
    assert [m["id"] for m in need["matches"]] == [offer["id"]]
    assert [m["id"] for m in sk.matches("h-chen", offer["id"])] == [need["id"]]
    assert bank.messages(f"home/h-chen/hub/timebank/skills/{need['id']}")
    assert [r["id"] for r in sk.list("riverside", q="brakes")] == [need["id"], offer["id"]]
    with pytest.raises(Unprocessable):
        sk.add("h-ana", "riverside", side="offer", category="nonsense", title="x",
               description="", actor="a")
    sk.close("h-chen", offer["id"], "c")
    assert sk.matches("h-ana", need["id"]) == []
