"""``hub ledger verify`` as a user runs it (a subprocess on a store), the tamper test, and
the scheduled check's admin alert."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from ledger_fixtures import Bank

from hub.ledger.verify import LedgerWatch, alerts
from hub.offers.ratings import append_rating
from hub.storage import Database
from tests.stores import on_postgresql, store_env

ROOT = Path(__file__).resolve().parents[2]


def run_verify(data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **store_env(data_dir), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "hub.cli", "ledger", "verify"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def fill(bank: Bank) -> list[str]:
    ids = []
    for payer, helper, hours in (("h-ana", "h-chen", "1.5"), ("h-ben", "h-ana", "2"),
                                 ("h-chen", "h-dan", "0.75")):
        t = bank.tb.record(payer, helper, hours, "", "x")
        ids.append(bank.tb.confirm(helper, t["id"], "x")["entry"])
    with bank.db.transaction() as conn:
        append_rating(conn, household="h-ana", subject="h-chen", offer="tt-1", stars=5,
                      comment="great", at="2026-11-29T15:00:00Z")
    return ids


def tamper(db: Database, sql: str) -> None:
    """What someone with write access to the store could do: drop the guard, edit a row."""
    on = " ON {}" if on_postgresql() else ""
    with db.transaction() as conn:
        conn.execute("DROP TRIGGER timebank_entries_no_update" + on.format("timebank_entries"))
        conn.execute("DROP TRIGGER offer_ratings_no_update" + on.format("offer_ratings"))
        conn.execute(sql)


def test_verify_counts_entries_and_exits_0(bank: Bank, tmp_path: Path) -> None:
    fill(bank)
    r = run_verify(tmp_path)
    assert r.returncode == 0, r.stderr
    assert "time-bank ledger: 3 entries checked, sum 0" in r.stdout
    assert "ratings: 1 entries checked" in r.stdout


def test_one_edited_ledger_row_exits_1_naming_it(bank: Bank, tmp_path: Path) -> None:
    ids = fill(bank)
    tamper(bank.db, f"UPDATE timebank_entries SET cents = 15 WHERE id = '{ids[1]}'")
    r = run_verify(tmp_path)
    assert r.returncode == 1
    assert f"timebank entry {ids[1]} is broken: hash does not match the entry's content" in r.stderr


def test_an_edited_balance_or_rating_is_named_too(bank: Bank, tmp_path: Path) -> None:
    fill(bank)
    bank.db.execute("UPDATE timebank_accounts SET balance = balance + 100 WHERE account = 'h-ana'")
    r = run_verify(tmp_path)
    assert r.returncode == 1
    assert "timebank entry h-ana is broken: balance" in r.stderr
    bank.db.execute("UPDATE timebank_accounts SET balance = balance - 100 WHERE account = 'h-ana'")
    tamper(bank.db, "UPDATE offer_ratings SET stars = 1")
    r = run_verify(tmp_path)
    rid = bank.db.query_one("SELECT id FROM offer_ratings")[0]
    assert r.returncode == 1
    assert f"ratings entry {rid} is broken" in r.stderr


async def test_scheduled_check_raises_one_admin_alert(bank: Bank, tmp_path: Path) -> None:
    ids = fill(bank)
    watch = LedgerWatch(bank.ctx)
    assert watch.check().ok
    assert alerts(bank.db) == []
    stream = bank.live.subscribe("community:riverside")
    tamper(bank.db, f"UPDATE timebank_entries SET note = 'x' WHERE id = '{ids[0]}'")
    assert not watch.check().ok
    assert not watch.check().ok  # the same break is alerted once
    [alert] = alerts(bank.db)
    assert (alert["chain"], alert["broken_at"]) == ("timebank", ids[0])
    event = await asyncio.wait_for(anext(stream), 10)
    assert event == {"type": "ledger-alert", "chain": "timebank", "broken_at": ids[0],
                     "reason": "hash does not match the entry's content"}
    await stream.aclose()
