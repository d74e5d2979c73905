"""Reminders before pickup and return, and the overdue notice, as durable jobs.

Each accepted loan plans three jobs in ``sharing_reminders`` (one row per loan and kind,
with its due time), in the same transaction as the accept; an extension re-plans them, a
cancel or a return drops them. :meth:`Reminders.run_due` sends whatever is due and marks it
sent in one transaction, so a job survives a restart (it fires on the first run after the
start) and never fires twice. The hub runs it on its periodic job runner
(:meth:`hub.service.Hub.every`, the one that already expires offers and notices), the same
due-time-in-the-database pattern as the rules engine's ``for:`` timers; no second
scheduler is started.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

from hub.offers.context import Context
from hub.sharing.common import iso, notify, parse

#: How long before the start and the end the reminders go out, and the overdue grace.
BEFORE_PICKUP = timedelta(hours=1)
BEFORE_RETURN = timedelta(hours=1)
OVERDUE_AFTER = timedelta(minutes=15)

#: kind -> loan statuses in which the job still means something.
_STILL = {"pickup": ("accepted",), "return": ("accepted", "out"), "overdue": ("out",)}


class Reminders:
    """Plan, drop and send the loan reminders."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._db = ctx.uow.db

    def plan(self, conn: sqlite3.Connection, loan: str, start: str, end: str) -> None:
        """(Re)plan a loan's jobs inside the caller's transaction."""
        s, e = parse(start), parse(end)
        for kind, due in (("pickup", s - BEFORE_PICKUP), ("return", e - BEFORE_RETURN),
                          ("overdue", e + OVERDUE_AFTER)):
            conn.execute(
                "INSERT INTO sharing_reminders (loan, kind, due_at, sent_at) VALUES"
                " (?, ?, ?, NULL) ON CONFLICT (loan, kind) DO UPDATE SET"
                " due_at = excluded.due_at, sent_at = NULL", (loan, kind, iso(due)))

    def drop(self, conn: sqlite3.Connection, loan: str) -> None:
        """Forget a loan's jobs that have not fired (cancelled or returned)."""
        conn.execute("DELETE FROM sharing_reminders WHERE loan = ? AND sent_at IS NULL",
                     (loan,))

    def pending(self, loan: str) -> list[dict[str, Any]]:
        """A loan's planned jobs, soonest first."""
        return [dict(r) for r in self._db.query(
            "SELECT kind, due_at, sent_at FROM sharing_reminders WHERE loan = ?"
            " ORDER BY due_at", (loan,))]

    def run_due(self) -> list[tuple[str, str]]:
        """Send every job that is due and not sent; return (loan, kind) of those sent."""
        uow = self._ctx.uow
        now = uow.now()
        sent: list[tuple[str, str]] = []
        with uow.tx() as conn:
            due = conn.execute(
                "SELECT r.loan, r.kind, r.due_at, l.status, l.owner, l.borrower, l.thing,"
                " l.starts_at, l.ends_at, t.title FROM sharing_reminders r"
                " JOIN sharing_loans l ON l.id = r.loan JOIN sharing_things t ON t.id = l.thing"
                " WHERE r.sent_at IS NULL AND r.due_at <= ? ORDER BY r.due_at, r.loan",
                (now,)).fetchall()
            for r in due:
                conn.execute("UPDATE sharing_reminders SET sent_at = ? WHERE loan = ? AND"
                             " kind = ?", (now, r["loan"], r["kind"]))
                if r["status"] not in _STILL[r["kind"]]:
                    continue
                body = {"type": f"loan-{r['kind']}", "loan": r["loan"], "thing": r["thing"],
                        "title": r["title"], "start": r["starts_at"], "end": r["ends_at"]}
                if r["kind"] == "overdue":
                    conn.execute("UPDATE sharing_loans SET updated_at = ? WHERE id = ?",
                                 (now, r["loan"]))
                    uow.transition(conn, "loan", r["loan"], "out", "out", "hub",
                                   note=f"overdue since {r['ends_at']}")
                for household in (r["borrower"], r["owner"]):
                    notify(self._ctx, conn, household, f"loans/{r['loan']}", body)
                sent.append((r["loan"], r["kind"]))
        return sent
