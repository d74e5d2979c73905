"""The time-bank ledger: append-only entries, hash-chained like the ratings.

Each entry stores ``hash = sha256(prev_hash + canonical JSON of the entry)``
(:mod:`hub.offers.ratings`' scheme, the same genesis). Triggers refuse UPDATE and DELETE;
a mistake is undone by a new ``reversal`` entry. :func:`verify_ledger` recomputes every
link, checks each entry moves a positive amount between two different accounts, and that
the accounts' cached balances equal the sums of their entries (and so sum to zero).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from hub.offers.ratings import GENESIS
from hub.offers.uow import dumps, new_id
from hub.storage.database import Database

FIELDS = ("id", "community", "kind", "debit", "credit", "cents", "transfer", "note",
          "created_at", "prev_hash")


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerReport:
    """The outcome of :func:`verify_ledger`."""

    ok: bool
    count: int
    head: str = GENESIS
    total: int = 0
    broken_at: str | None = None
    reason: str = ""


def entry_hash(prev_hash: str, row: dict[str, Any]) -> str:
    """The chained hash of a ledger entry."""
    canonical = dumps({k: row[k] for k in FIELDS})
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def head(conn: sqlite3.Connection | Database) -> str:
    """The hash of the newest entry (the genesis when there is none)."""
    sql = "SELECT hash FROM timebank_entries ORDER BY seq DESC LIMIT 1"
    row = conn.query_one(sql) if isinstance(conn, Database) else conn.execute(sql).fetchone()
    return str(row[0]) if row else GENESIS


def append_entry(conn: sqlite3.Connection, *, community: str, kind: str, debit: str,
                 credit: str, cents: int, transfer: str, note: str, at: str) -> dict[str, Any]:
    """Append one entry inside the caller's transaction and move both balances.

    The caller has already checked (and, for the debit, reserved) the credit limit.
    """
    # Take the chain's turn first (a row lock where writers run concurrently).
    conn.execute("UPDATE timebank_chain SET entries = entries + 1 WHERE id = 1")
    row: dict[str, Any] = {"id": new_id("le"), "community": community, "kind": kind,
                           "debit": debit, "credit": credit, "cents": cents,
                           "transfer": transfer, "note": note, "created_at": at,
                           "prev_hash": head(conn)}
    row["hash"] = entry_hash(row["prev_hash"], row)
    conn.execute(
        "INSERT INTO timebank_entries (id, community, kind, debit, credit, cents, transfer,"
        " note, created_at, prev_hash, hash) VALUES (:id, :community, :kind, :debit, :credit,"
        " :cents, :transfer, :note, :created_at, :prev_hash, :hash)", row)
    conn.execute("UPDATE timebank_accounts SET balance = balance + ? WHERE account = ?",
                 (cents, credit))
    return row


def public_entry(r: Any) -> dict[str, Any]:
    """An entry as the API and exports show it."""
    return {k: r[k] for k in (*FIELDS, "hash")}


def verify_ledger(db: Database) -> LedgerReport:
    """Recompute every link and every balance of the ledger."""
    prev = GENESIS
    sums: dict[str, int] = defaultdict(int)
    rows = db.query("SELECT * FROM timebank_entries ORDER BY seq")
    count = len(rows)
    for r in rows:
        row = dict(r)
        if row["prev_hash"] != prev:
            return LedgerReport(ok=False, count=count, broken_at=row["id"],
                                reason="prev_hash does not match the previous entry")
        if entry_hash(prev, row) != row["hash"]:
            return LedgerReport(ok=False, count=count, broken_at=row["id"],
                                reason="hash does not match the entry's content")
        if not isinstance(row["cents"], int) or row["cents"] <= 0 or row["debit"] == row["credit"]:
            return LedgerReport(ok=False, count=count, broken_at=row["id"],
                                reason="an entry must move a positive amount between two accounts")
        sums[row["debit"]] -= row["cents"]
        sums[row["credit"]] += row["cents"]
        prev = row["hash"]
    # The balances are a cache of the entries: a balance edited alone shows here.
    for acct in db.query("SELECT account, balance FROM timebank_accounts ORDER BY account"):
        if int(acct["balance"]) != sums.get(acct["account"], 0):
            return LedgerReport(ok=False, count=count, head=prev, broken_at=acct["account"],
                                reason=f"balance {acct['balance']} of account {acct['account']}"
                                f" differs from its entries' sum {sums.get(acct['account'], 0)}")
    total = sum(sums.values())
    return LedgerReport(ok=total == 0, count=count, head=prev, total=total,
                        reason="" if total == 0 else f"the ledger sums to {total}, not 0")
