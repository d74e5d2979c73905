"""Transfers of hours between households: the payer records, the helper confirms.

A balance moves only when both parties agreed: the household that received help records a
transfer (``pending``); the helper confirms it, and only then one ledger entry debits the
payer and credits the helper. The debit is a single conditional UPDATE
(``balance - cents >= credit_limit``), so concurrent confirmations can never take a
balance past the community's limit, on SQLite or PostgreSQL. A confirmed transfer is
undone by a reversal entry, never by an edit.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from typing import Any

from hub.errors import Conflict, Forbidden, NotFound
from hub.i18n.words import N_
from hub.ledger.amounts import hours_text, setting_cents, to_cents, to_hours
from hub.ledger.chain import append_entry, public_entry
from hub.offers.context import Context
from hub.offers.problems import Unprocessable
from hub.offers.uow import new_id

DEFAULT_LIMIT = -1000
MAX_NOTE = 500


def fund_of(community: str) -> str:
    """The community fund's account (it pays welcome grants)."""
    return f"fund:{community}"


def transfer_topic(household: str, tid: str) -> str:
    """Where a household hears about a transfer (CONTRACTS: ``home/<household>/hub/...``)."""
    return f"home/{household}/hub/timebank/{tid}"


def _transfer(r: Any) -> dict[str, Any]:
    return {"id": r["id"], "payer": r["payer"], "to": r["helper"], "hours": to_hours(r["cents"]),
            "hundredths": r["cents"], "note": r["note"], "status": r["status"],
            "entry": r["entry"], "reversal": r["reversal"], "created_at": r["created_at"],
            "decided_at": r["decided_at"]}


class TimeBank:
    """Accounts, transfers, statements and the community's limit and welcome grant.

    Args:
        ctx: the offers' shared context (unit of work, consent, live updates).
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.uow = ctx.uow
        self.db = ctx.uow.db

    # -- settings -----------------------------------------------------------------------

    def settings(self, community: str) -> dict[str, Any]:
        """The community's credit limit and welcome grant (defaults: -10 h, none)."""
        row = self.db.query_one("SELECT credit_limit, welcome_grant FROM timebank_settings"
                                " WHERE community = ?", (community,))
        limit, grant = (int(row[0]), int(row[1])) if row else (DEFAULT_LIMIT, 0)
        return {"community": community, "credit_limit": to_hours(limit),
                "welcome_grant": to_hours(grant), "credit_limit_hundredths": limit,
                "welcome_grant_hundredths": grant}

    def set_settings(self, community: str, *, credit_limit: Any, welcome_grant: Any
                     ) -> dict[str, Any]:
        """Set the limit (zero or negative hours) and the grant (zero or more)."""
        limit = -setting_cents(credit_limit, negative=True, name="credit_limit")
        grant = setting_cents(welcome_grant, negative=False, name="welcome_grant")
        with self.uow.tx() as conn:
            conn.execute(
                "INSERT INTO timebank_settings (community, credit_limit, welcome_grant, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (community) DO UPDATE SET"
                " credit_limit = excluded.credit_limit, welcome_grant = excluded.welcome_grant,"
                " updated_at = excluded.updated_at", (community, limit, grant, self.uow.now()))
        return self.settings(community)

    def _limit(self, conn: sqlite3.Connection, community: str) -> tuple[int, int]:
        row = conn.execute("SELECT credit_limit, welcome_grant FROM timebank_settings"
                           " WHERE community = ?", (community,)).fetchone()
        return (int(row[0]), int(row[1])) if row else (DEFAULT_LIMIT, 0)

    # -- accounts -----------------------------------------------------------------------

    def community_of(self, household: str) -> str:
        """The community of a household (404 when there is no such household)."""
        row = self.db.query_one("SELECT community FROM households WHERE id = ?", (household,))
        if row is None:
            raise NotFound(N_("no household %(household)s", household=household))
        return str(row[0])

    def open_account(self, conn: sqlite3.Connection, household: str, community: str) -> None:
        """Open a household's account once; a welcome grant is paid from the fund."""
        now = self.uow.now()
        for acct in (household, fund_of(community)):
            conn.execute("INSERT INTO timebank_accounts (account, community, balance, opened_at)"
                         " VALUES (?, ?, 0, ?) ON CONFLICT (account) DO NOTHING",
                         (acct, community, now))
        grant = self._limit(conn, community)[1]
        if grant <= 0:
            return
        paid = conn.execute("SELECT 1 FROM timebank_entries WHERE kind = 'grant' AND credit = ?",
                            (household,)).fetchone()
        if paid is None:
            conn.execute("UPDATE timebank_accounts SET balance = balance - ? WHERE account = ?",
                         (grant, fund_of(community)))
            append_entry(conn, community=community, kind="grant", debit=fund_of(community),
                         credit=household, cents=grant, transfer="", note="welcome grant", at=now)

    def balance(self, household: str) -> dict[str, Any]:
        """A household's balance, its community's limit and what is pending either way
        (its account is opened, and a welcome grant paid, on the first call)."""
        found = self.balance_if_open(household)
        if found is not None:
            return found
        community = self.community_of(household)
        with self.uow.tx() as conn:
            self.open_account(conn, household, community)
            return self._balance(conn, household, community)

    def balance_if_open(self, household: str) -> dict[str, Any] | None:
        """:meth:`balance` from one read-only snapshot, or None while the account still
        has to be opened (or a welcome grant paid): that takes :meth:`balance`'s write."""
        community = self.community_of(household)
        with self.db.snapshot() as conn:
            if conn.execute("SELECT 1 FROM timebank_accounts WHERE account = ?",
                            (household,)).fetchone() is None:
                return None
            if self._limit(conn, community)[1] > 0 and conn.execute(
                    "SELECT 1 FROM timebank_entries WHERE kind = 'grant' AND credit = ?",
                    (household,)).fetchone() is None:
                return None
            return self._balance(conn, household, community)

    def _balance(self, conn: sqlite3.Connection, household: str, community: str) -> dict[str, Any]:
        bal = int(conn.execute("SELECT balance FROM timebank_accounts WHERE account = ?",
                               (household,)).fetchone()[0])
        limit = self._limit(conn, community)[0]
        out = conn.execute("SELECT COALESCE(SUM(cents), 0) FROM timebank_transfers"
                           " WHERE payer = ? AND status = 'pending'", (household,)).fetchone()
        inc = conn.execute("SELECT COALESCE(SUM(cents), 0) FROM timebank_transfers"
                           " WHERE helper = ? AND status = 'pending'", (household,)).fetchone()
        return {"household": household, "community": community, "hours": to_hours(bal),
                "hundredths": bal, "credit_limit": to_hours(limit),
                "available": to_hours(bal - limit), "pending_out": to_hours(int(out[0])),
                "pending_in": to_hours(int(inc[0]))}

    # -- transfers ----------------------------------------------------------------------

    def record(self, payer: str, to: str, hours: Any, note: str, actor: str) -> dict[str, Any]:
        """The payer records hours owed to the helper ``to``: a pending transfer.

        Raises:
            Unprocessable: hours not above 0, more than two decimals; paying oneself.
            NotFound: no such household in the payer's community.
            Conflict: the payer's balance would pass the community's credit limit.
        """
        cents = to_cents(hours)
        if len(note) > MAX_NOTE:
            raise Unprocessable(N_("note is longer than %(most)s characters", most=MAX_NOTE))
        if to == payer:
            raise Unprocessable(N_("a household cannot pay itself"))
        community = self.community_of(payer)
        row = self.db.query_one("SELECT community FROM households WHERE id = ?", (to,))
        if row is None or row[0] != community:
            raise NotFound(N_("no household %(to)s in community %(community)s", to=to, community=community))
        tid = new_id("tt")
        with self.uow.tx() as conn:
            self.open_account(conn, payer, community)
            self.open_account(conn, to, community)
            self._check_room(conn, payer, community, cents)
            now = self.uow.now()
            conn.execute(
                "INSERT INTO timebank_transfers (id, community, payer, helper, cents, note, status,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
                (tid, community, payer, to, cents, note, now))
            self.uow.transition(conn, "timebank_transfer", tid, None, "pending", actor)
            done = self._get(conn, tid)
            self._tell(conn, done, "timebank-transfer-recorded")
        return done

    def _check_room(self, conn: sqlite3.Connection, payer: str, community: str, cents: int
                    ) -> None:
        limit = self._limit(conn, community)[0]
        bal = int(conn.execute("SELECT balance FROM timebank_accounts WHERE account = ?",
                               (payer,)).fetchone()[0])
        if bal - cents < limit:
            raise Conflict(N_("%(hours)s h would take %(payer)s to %(balance)s h, past the community's limit"
                              " of %(limit)s h", hours=hours_text(cents), payer=payer,
                              balance=hours_text(bal - cents), limit=hours_text(limit)))

    def _get(self, conn: sqlite3.Connection, tid: str) -> dict[str, Any]:
        row = conn.execute("SELECT * FROM timebank_transfers WHERE id = ?", (tid,)).fetchone()
        if row is None:
            raise NotFound(N_("no transfer %(tid)s", tid=tid))
        return _transfer(row)

    def get(self, household: str, tid: str) -> dict[str, Any]:
        """A transfer the household pays or receives (404 for anyone else)."""
        row = self.db.query_one("SELECT * FROM timebank_transfers WHERE id = ? AND"
                                " (payer = ? OR helper = ?)", (tid, household, household))
        if row is None:
            raise NotFound(N_("no transfer %(tid)s", tid=tid))
        return _transfer(row)

    def _own(self, conn: sqlite3.Connection, household: str, tid: str, role: str) -> Any:
        row = conn.execute("SELECT * FROM timebank_transfers WHERE id = ?", (tid,)).fetchone()
        if row is None or household not in (row["payer"], row["helper"]):
            raise NotFound(N_("no transfer %(tid)s", tid=tid))
        if row[role] != household:
            who = "helper" if role == "helper" else "payer"
            raise Forbidden(N_("only the %(who)s of transfer %(tid)s may do this", who=who, tid=tid))
        return row

    def confirm(self, helper: str, tid: str, actor: str) -> dict[str, Any]:
        """The helper agrees: the ledger debits the payer and credits the helper.

        Raises:
            NotFound: no such transfer of this household. Forbidden: the caller is the payer.
            Conflict: not pending, or the payer's balance would pass the limit now.
        """
        with self.uow.tx() as conn:
            row = self._own(conn, helper, tid, "helper")
            limit = self._limit(conn, row["community"])[0]
            moved = conn.execute(
                "UPDATE timebank_transfers SET status = 'confirmed', decided_at = ?"
                " WHERE id = ? AND status = 'pending'", (self.uow.now(), tid)).rowcount
            if moved != 1:
                raise Conflict(N_("transfer %(tid)s is %(status)s, not pending", tid=tid, status=row['status']))
            # The check and the debit are one statement: no interleaving can pass the limit.
            debited = conn.execute(
                "UPDATE timebank_accounts SET balance = balance - ? WHERE account = ?"
                " AND balance - ? >= ?", (row["cents"], row["payer"], row["cents"], limit)).rowcount
            if debited != 1:
                raise Conflict(N_("confirming would take %(payer)s past the community's limit of %(limit)s h",
                                  payer=row["payer"], limit=hours_text(limit)))
            entry = append_entry(conn, community=row["community"], kind="transfer",
                                 debit=row["payer"], credit=row["helper"], cents=row["cents"],
                                 transfer=tid, note=row["note"], at=self.uow.now())
            conn.execute("UPDATE timebank_transfers SET entry = ? WHERE id = ?", (entry["id"], tid))
            self.uow.transition(conn, "timebank_transfer", tid, "pending", "confirmed", actor)
            done = self._get(conn, tid)
            self._tell(conn, done, "timebank-transfer-confirmed")
        return done

    def decline(self, household: str, tid: str, actor: str) -> dict[str, Any]:
        """The helper declines, or the payer withdraws, a pending transfer."""
        with self.uow.tx() as conn:
            row = conn.execute("SELECT * FROM timebank_transfers WHERE id = ?", (tid,)).fetchone()
            if row is None or household not in (row["payer"], row["helper"]):
                raise NotFound(N_("no transfer %(tid)s", tid=tid))
            status = "declined" if household == row["helper"] else "cancelled"
            moved = conn.execute(
                "UPDATE timebank_transfers SET status = ?, decided_at = ? WHERE id = ?"
                " AND status = 'pending'", (status, self.uow.now(), tid)).rowcount
            if moved != 1:
                raise Conflict(N_("transfer %(tid)s is %(status)s, not pending", tid=tid, status=row['status']))
            self.uow.transition(conn, "timebank_transfer", tid, "pending", status, actor)
            done = self._get(conn, tid)
            self._tell(conn, done, f"timebank-transfer-{status}")
        return done

    def reverse(self, helper: str, tid: str, actor: str) -> dict[str, Any]:
        """The helper gives the hours of a confirmed transfer back: a new reversal entry."""
        with self.uow.tx() as conn:
            row = self._own(conn, helper, tid, "helper")
            limit = self._limit(conn, row["community"])[0]
            moved = conn.execute(
                "UPDATE timebank_transfers SET status = 'reversed' WHERE id = ?"
                " AND status = 'confirmed'", (tid,)).rowcount
            if moved != 1:
                raise Conflict(N_("transfer %(tid)s is %(status)s, not confirmed", tid=tid, status=row['status']))
            debited = conn.execute(
                "UPDATE timebank_accounts SET balance = balance - ? WHERE account = ?"
                " AND balance - ? >= ?", (row["cents"], helper, row["cents"], limit)).rowcount
            if debited != 1:
                raise Conflict(N_("reversing would take %(helper)s past the community's limit", helper=helper))
            entry = append_entry(conn, community=row["community"], kind="reversal", debit=helper,
                                 credit=row["payer"], cents=row["cents"], transfer=tid,
                                 note=f"reverses {row['entry']}", at=self.uow.now())
            conn.execute("UPDATE timebank_transfers SET reversal = ? WHERE id = ?",
                         (entry["id"], tid))
            self.uow.transition(conn, "timebank_transfer", tid, "confirmed", "reversed", actor)
            done = self._get(conn, tid)
            self._tell(conn, done, "timebank-transfer-reversed")
        return done

    def _tell(self, conn: sqlite3.Connection, transfer: dict[str, Any], kind: str) -> None:
        """Both parties hear of it: MQTT through the outbox, SSE after commit."""
        event = {"type": kind, **{k: transfer[k] for k in ("id", "payer", "to", "hours", "status")}}
        for household in (transfer["payer"], transfer["to"]):
            self.uow.outbox.add(conn, transfer_topic(household, transfer["id"]),
                                {**event, "id": f"{transfer['id']}-{transfer['status']}-{household}"})
            self.ctx.push(f"household:{household}", event)

    def transfers(self, household: str, limit: int = 100) -> list[dict[str, Any]]:
        """The household's transfers, newest first."""
        rows = self.db.query("SELECT * FROM timebank_transfers WHERE payer = ? OR helper = ?"
                             " ORDER BY created_at DESC, id LIMIT ?", (household, household, limit))
        return [_transfer(r) for r in rows]

    # -- statements ---------------------------------------------------------------------

    def statement(self, household: str) -> list[dict[str, Any]]:
        """Every ledger entry of the household, oldest first, with the running balance."""
        rows = self.db.query("SELECT * FROM timebank_entries WHERE debit = ? OR credit = ?"
                             " ORDER BY seq", (household, household))
        running, out = 0, []
        for r in rows:
            signed = r["cents"] if r["credit"] == household else -r["cents"]
            running += signed
            entry = public_entry(r)
            entry.update(hours=to_hours(signed), balance=to_hours(running), hundredths=signed,
                         balance_hundredths=running,
                         counterpart=r["debit"] if signed > 0 else r["credit"])
            out.append(entry)
        return out

    def statement_csv(self, household: str) -> str:
        """The statement as CSV (hours as exact two-decimal text)."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(["date", "entry", "kind", "counterpart", "hours", "balance", "note", "hash"])
        for e in self.statement(household):
            writer.writerow([e["created_at"], e["id"], e["kind"], e["counterpart"],
                             hours_text(e["hundredths"]), hours_text(e["balance_hundredths"]),
                             _csv_safe(e["note"]), e["hash"]])
        return buf.getvalue()

    def totals(self, community: str) -> dict[str, Any]:
        """What any member may compare: entry count, hours moved, accounts, the sum (0)."""
        row = self.db.query_one("SELECT COUNT(*), COALESCE(SUM(cents), 0) FROM timebank_entries"
                                " WHERE community = ?", (community,))
        acc = self.db.query_one("SELECT COUNT(*), COALESCE(SUM(balance), 0),"
                                " COALESCE(SUM(CASE WHEN balance > 0 THEN balance ELSE 0 END), 0)"
                                " FROM timebank_accounts WHERE community = ?", (community,))
        assert row is not None
        assert acc is not None
        return {"community": community, "entries": int(row[0]), "hours_moved": to_hours(int(row[1])),
                "accounts": int(acc[0]), "sum": to_hours(int(acc[1])),
                "hours_in_credit": to_hours(int(acc[2]))}


def _csv_safe(text: str) -> str:
    """A note cannot become a spreadsheet formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
