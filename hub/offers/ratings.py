"""Ratings: append-only and hash-chained, so that nobody can edit one silently.

Each row stores ``hash = sha256(prev_hash + canonical JSON of the row)``; the first row's
``prev_hash`` is 64 zeros. SQLite triggers refuse UPDATE and DELETE, and this module has no
path for either. :func:`verify_chain` recomputes every hash and names the first broken row.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from typing import Any

from hub.offers.uow import dumps, new_id
from hub.storage.database import Database

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainReport:
    """The outcome of :func:`verify_chain`."""

    ok: bool
    count: int
    broken_at: str | None = None
    reason: str = ""


def _canonical(row: dict[str, Any]) -> str:
    return dumps({k: row[k] for k in ("id", "household", "subject", "offer", "stars",
                                      "comment", "created_at", "prev_hash")})


def row_hash(prev_hash: str, row: dict[str, Any]) -> str:
    """The chained hash of a rating row."""
    return hashlib.sha256((prev_hash + _canonical(row)).encode()).hexdigest()


def append_rating(conn: sqlite3.Connection, *, household: str, subject: str, offer: str,
                  stars: int, comment: str, at: str) -> dict[str, Any]:
    """Append one rating to the chain inside the caller's transaction; return the row."""
    last = conn.execute("SELECT hash FROM offer_ratings ORDER BY seq DESC LIMIT 1").fetchone()
    row: dict[str, Any] = {"id": new_id("rt"), "household": household, "subject": subject,
                           "offer": offer, "stars": stars, "comment": comment,
                           "created_at": at, "prev_hash": last[0] if last else GENESIS}
    row["hash"] = row_hash(row["prev_hash"], row)
    conn.execute(
        "INSERT INTO offer_ratings (id, household, subject, offer, stars, comment, created_at,"
        " prev_hash, hash) VALUES (:id, :household, :subject, :offer, :stars, :comment,"
        " :created_at, :prev_hash, :hash)",
        row,
    )
    return row


def verify_chain(db: Database) -> ChainReport:
    """Recompute every link of the rating chain."""
    prev = GENESIS
    rows = db.query("SELECT * FROM offer_ratings ORDER BY seq")
    for r in rows:
        row = dict(r)
        if row["prev_hash"] != prev:
            return ChainReport(ok=False, count=len(rows), broken_at=row["id"],
                               reason="prev_hash does not match the previous row")
        if row_hash(prev, row) != row["hash"]:
            return ChainReport(ok=False, count=len(rows), broken_at=row["id"],
                               reason="hash does not match the row's content")
        prev = row["hash"]
    return ChainReport(ok=True, count=len(rows))


def ratings_of(db: Database, subject: str) -> list[dict[str, Any]]:
    """Every rating of a provider (or other subject), oldest first."""
    return [
        {k: r[k] for k in ("id", "household", "subject", "offer", "stars", "comment",
                           "created_at", "prev_hash", "hash")}
        for r in db.query("SELECT * FROM offer_ratings WHERE subject = ? ORDER BY seq",
                          (subject,))
    ]
