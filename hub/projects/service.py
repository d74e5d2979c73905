"""Pooled projects: propose, pledge, bid; at the deadline, one order or every pledge released.

A project's deadline is a durable job: the row itself (``state = 'open'``, ``deadline``)
is the job, and :meth:`Projects.close_due` (run by the hub every few seconds, and at once
on start) closes each due project with one conditional UPDATE, so it fires exactly once,
also across a restart or with two hub workers. When the threshold was met, one order goes
to the winning provider's feed through the outbox under a message id derived from the
project (the outbox ignores a second copy); when it was missed, every pledge is released
and every pledger and the proposer are told. What a provider sees of the pledgers is what
each pledger consented to for the purpose ``pooled_order``.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from hub.errors import Conflict, NotFound
from hub.i18n.words import N_
from hub.offers.context import Context
from hub.offers.problems import Unprocessable
from hub.offers.uow import dumps, loads, new_id

#: The consent purpose covering what a provider sees of a project's pledgers.
PURPOSE = "pooled_order"
#: The seed's split of a bulk saving: buyers, organiser, community fund, provider.
DEFAULT_SPLIT = {"buyers": 3, "organiser": 3, "community_fund": 3, "provider": 1}
MAX_OPTIONS = 10


def project_topic(household: str, pid: str) -> str:
    """Where a household hears about a project."""
    return f"home/{household}/hub/projects/{pid}"


def feed_topic(provider: str, pid: str) -> str:
    """The provider's feed entry of a pooled order (CONTRACTS: ``providers/<p>/feed/<id>``)."""
    return f"providers/{provider}/feed/{pid}"


def money_cents(value: Any, name: str, *, allow_zero: bool = False) -> int:
    """A money amount (two decimals at most) as integer cents."""
    try:
        dec = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise Unprocessable(N_("%(name)s must be a number", name=name)) from exc
    if not dec.is_finite() or dec < 0 or (dec == 0 and not allow_zero):
        raise Unprocessable(N_("%(name)s must be more than 0", name=name))
    cents = dec * 100
    if cents != cents.to_integral_value():
        raise Unprocessable(N_("%(name)s takes at most two decimals", name=name))
    if cents > 10**11:
        raise Unprocessable(N_("%(name)s is too large", name=name))
    return int(cents)


def _aware(text: str, name: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Unprocessable(N_("%(name)s must be an ISO 8601 time with an offset", name=name)) from exc
    if when.tzinfo is None:
        raise Unprocessable(N_("%(name)s must carry an offset (Z or +01:00)", name=name))
    return when


class Projects:
    """Pooled projects of a community."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.uow = ctx.uow
        self.db = ctx.uow.db

    # -- reading ------------------------------------------------------------------------

    def _marshal(self, conn: sqlite3.Connection | None, r: Any, viewer: str | None = None
                 ) -> dict[str, Any]:
        q = conn.execute if conn is not None else self.db.query
        pledges = list(q("SELECT household, amount, option, state FROM project_pledges"
                         " WHERE project = ? ORDER BY created_at, household", (r["id"],)))
        bids = list(q("SELECT id, provider, price, note, created_at FROM project_bids"
                      " WHERE project = ? ORDER BY price, created_at", (r["id"],)))
        count, amount = len(pledges), sum(int(p["amount"]) for p in pledges)
        goal = int(r["goal_pledges"])
        mine = next((p for p in pledges if viewer and p["household"] == viewer), None)
        votes = Counter(p["option"] for p in pledges if p["option"])
        return {"id": r["id"], "community": r["community"], "proposer_kind": r["proposer_kind"],
                "proposer": r["proposer"], "title": r["title"], "description": r["description"],
                "options": loads(r["options"]) or [], "goal_pledges": goal,
                "goal_amount": int(r["goal_amount"]) / 100, "provider": r["provider"],
                "split": loads(r["split"]), "deadline": r["deadline"], "state": r["state"],
                "pledges": count, "pledged_amount": amount / 100,
                "progress": min(1.0, count / goal),
                "votes": dict(votes), "bids": [{**dict(b), "price": b["price"] / 100} for b in bids],
                "my_pledge": ({"amount": mine["amount"] / 100, "option": mine["option"],
                               "state": mine["state"]} if mine else None),
                "outcome": loads(r["outcome"]), "created_at": r["created_at"],
                "closed_at": r["closed_at"]}

    def get(self, community: str, pid: str, viewer: str | None = None) -> dict[str, Any]:
        """A project of the community (404 for another community's)."""
        row = self.db.query_one("SELECT * FROM projects WHERE id = ? AND community = ?",
                                (pid, community))
        if row is None:
            raise NotFound(N_("no project %(pid)s", pid=pid))
        return self._marshal(None, row, viewer)

    def of_community(self, community: str, viewer: str | None = None, *, state: str | None = None
             ) -> list[dict[str, Any]]:
        """The community's projects, newest first."""
        sql = "SELECT * FROM projects WHERE community = ?"
        params: list[Any] = [community]
        if state:
            sql += " AND state = ?"
            params.append(state)
        rows = self.db.query(sql + " ORDER BY created_at DESC, id LIMIT 200", params)
        return [self._marshal(None, r, viewer) for r in rows]

    # -- proposing, pledging, bidding ---------------------------------------------------

    def propose(self, community: str, *, proposer_kind: str, proposer: str, title: str,
                goal_pledges: int, deadline: str, description: str = "",
                options: list[str] | None = None, goal_amount: Any = 0,
                provider: str | None = None, split: dict[str, int] | None = None,
                actor: str) -> dict[str, Any]:
        """A new open project.

        Raises:
            Unprocessable: empty title, deadline not ahead, bad options, split or amounts.
            NotFound: a named provider that does not serve the community.
        """
        title = title.strip()
        if not title:
            raise Unprocessable(N_("title must not be empty"))
        if not 1 <= goal_pledges <= 10000:
            raise Unprocessable(N_("goal_pledges must be 1 to 10000"))
        when = _aware(deadline, "deadline")
        if when <= self.uow.now_dt():
            raise Unprocessable(N_("deadline must be in the future"))
        opts = [o.strip() for o in options or [] if o.strip()]
        if len(opts) > MAX_OPTIONS or len(set(opts)) != len(opts):
            raise Unprocessable(N_("options: at most %(most)s, each once", most=MAX_OPTIONS))
        shares = dict(DEFAULT_SPLIT if split is None else split)
        if not shares or any(not isinstance(v, int) or v < 0 for v in shares.values()) \
                or sum(shares.values()) <= 0:
            raise Unprocessable(N_("split: shares are whole numbers of 0 or more, not all 0"))
        if provider is not None:
            row = self.db.query_one("SELECT community FROM providers WHERE id = ?", (provider,))
            if row is None or row[0] not in (community, None):
                raise NotFound(N_("no provider %(provider)s serving %(community)s",
                                  provider=provider, community=community))
        goal_cents = money_cents(goal_amount, "goal_amount", allow_zero=True)
        pid = new_id("prj")
        with self.uow.tx() as conn:
            conn.execute(
                "INSERT INTO projects (id, community, proposer_kind, proposer, title, description,"
                " options, goal_pledges, goal_amount, provider, split, deadline, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (pid, community, proposer_kind, proposer, title, description, dumps(opts),
                 goal_pledges, goal_cents, provider, dumps(shares), _utc(when), self.uow.now()))
            self.uow.transition(conn, "project", pid, None, "open", actor)
            out = self._marshal(conn, conn.execute("SELECT * FROM projects WHERE id = ?",
                                                   (pid,)).fetchone())
            self.ctx.push(f"community:{community}", {"type": "project-proposed", "id": pid})
        return out

    def _open(self, conn: sqlite3.Connection, community: str, pid: str) -> Any:
        row = conn.execute("SELECT * FROM projects WHERE id = ? AND community = ?",
                           (pid, community)).fetchone()
        if row is None:
            raise NotFound(N_("no project %(pid)s", pid=pid))
        if row["state"] != "open" or row["deadline"] <= self.uow.now():
            raise Conflict(N_("project %(pid)s is closed for pledges and bids", pid=pid))
        return row

    def pledge(self, household: str, community: str, pid: str, *, amount: Any,
               option: str | None, actor: str) -> dict[str, Any]:
        """A household's commitment (one per household and project)."""
        cents = money_cents(amount, "amount")
        with self.uow.tx() as conn:
            row = self._open(conn, community, pid)
            opts = loads(row["options"]) or []
            if option and option not in opts:
                raise Unprocessable(N_("option must be one of: %(options)s", options=", ".join(opts) or N_("(none)")))
            if opts and not option:
                raise Unprocessable(N_("vote for one option: %(options)s", options=', '.join(opts)))
            done = conn.execute(
                "INSERT INTO project_pledges (project, household, amount, option, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (project, household) DO NOTHING",
                (pid, household, cents, option or "", self.uow.now())).rowcount
            if done != 1:
                raise Conflict(N_("%(household)s has already pledged to project %(pid)s", household=household, pid=pid))
            self.uow.transition(conn, "project_pledge", f"{pid}/{household}", None, "held", actor)
            out = self._marshal(conn, row, household)
            self.ctx.push(f"community:{community}", {"type": "project-pledged", "id": pid,
                                                     "pledges": out["pledges"]})
            self.ctx.push(f"household:{household}", {"type": "project-pledged", "id": pid,
                                                     "pledges": out["pledges"]})
        return out

    def bid(self, provider: str, community: str, pid: str, *, price: Any, note: str,
            actor: str) -> dict[str, Any]:
        """A provider offers to serve the project (one bid per provider)."""
        cents = money_cents(price, "price")
        with self.uow.tx() as conn:
            row = self._open(conn, community, pid)
            bid_id = new_id("bid")
            done = conn.execute(
                "INSERT INTO project_bids (id, project, provider, price, note, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (project, provider) DO NOTHING",
                (bid_id, pid, provider, cents, note, self.uow.now())).rowcount
            if done != 1:
                raise Conflict(N_("%(provider)s has already bid on project %(pid)s", provider=provider, pid=pid))
            self.uow.transition(conn, "project_bid", bid_id, None, "open", actor)
            return self._marshal(conn, row)

    def provider_view(self, provider: str, provider_kinds: list[str], community: str,
                      pid: str) -> dict[str, Any]:
        """A project as a provider sees it: counts, and each pledger only as consented."""
        out = self.get(community, pid)
        rows = self.db.query("SELECT p.household, p.amount, h.name, h.street FROM project_pledges p"
                             " JOIN households h ON h.id = p.household WHERE p.project = ?"
                             " ORDER BY p.created_at, p.household", (pid,))
        out["pledgers"] = [self._pledger(provider, provider_kinds, r) for r in rows]
        out.pop("my_pledge", None)
        return out

    def _pledger(self, provider: str, kinds: list[str], r: Any) -> dict[str, Any]:
        consent = self.ctx.consent
        entry: dict[str, Any] = {"amount": r["amount"] / 100}
        if consent.allowed(r["household"], provider, kinds, PURPOSE, "household_name"):
            entry["household"] = r["household"]
            entry["name"] = r["name"]
        if consent.allowed(r["household"], provider, kinds, PURPOSE, "street_address"):
            entry["address"] = r["street"]
        return entry

    # -- the deadline -------------------------------------------------------------------

    def close_due(self) -> list[str]:
        """Close every open project whose deadline has passed; return their ids."""
        now = self.uow.now()
        due = [r[0] for r in self.db.query("SELECT id FROM projects WHERE state = 'open' AND"
                                           " deadline <= ? ORDER BY deadline", (now,))]
        return [pid for pid in due if self._close(pid)]

    def _close(self, pid: str) -> bool:
        with self.uow.tx() as conn:
            row = conn.execute("SELECT * FROM projects WHERE id = ?", (pid,)).fetchone()
            pledges = conn.execute("SELECT household, amount, option FROM project_pledges WHERE"
                                   " project = ? ORDER BY created_at, household", (pid,)).fetchall()
            count, amount = len(pledges), sum(int(p["amount"]) for p in pledges)
            bid = conn.execute("SELECT provider, price FROM project_bids WHERE project = ?"
                               " ORDER BY price, created_at LIMIT 1", (pid,)).fetchone()
            provider = bid["provider"] if bid else row["provider"]
            met = count >= row["goal_pledges"] and amount >= row["goal_amount"] and provider
            reason = ("" if met else "no provider to order from" if provider is None
                      else f"{count} of {row['goal_pledges']} pledges by the deadline"
                      if count < row["goal_pledges"] else "the pledged amount fell short")
            state = "met" if met else "missed"
            opts = loads(row["options"]) or []
            votes = Counter(p["option"] for p in pledges if p["option"])
            chosen = max(opts, key=lambda o: (votes[o], -opts.index(o))) if opts else ""
            outcome = {"state": state, "pledges": count, "amount": amount / 100,
                       "provider": provider if met else None, "option": chosen,
                       "price": (bid["price"] / 100 if bid and met else None), "reason": reason}
            moved = conn.execute(
                "UPDATE projects SET state = ?, outcome = ?, closed_at = ? WHERE id = ?"
                " AND state = 'open'", (state, dumps(outcome), self.uow.now(), pid)).rowcount
            if moved != 1:
                return False  # another worker closed it first
            conn.execute("UPDATE project_pledges SET state = ? WHERE project = ?",
                         ("committed" if met else "released", pid))
            self.uow.transition(conn, "project", pid, "open", state, "hub:deadline", reason)
            if met:
                self._order(conn, row, pledges, provider, outcome)
            told = dict.fromkeys([p["household"] for p in pledges]
                                 + ([row["proposer"]] if row["proposer_kind"] == "household" else []))
            for household in told:
                message = {"id": f"{pid}-{state}-{household}", "type": f"project-{state}",
                           "project": pid, "title": row["title"], **outcome}
                self.uow.outbox.add(conn, project_topic(household, pid), message)
                self.ctx.push(f"household:{household}", {"type": f"project-{state}", "id": pid})
            self.ctx.push(f"community:{row['community']}", {"type": f"project-{state}", "id": pid})
        return True

    def _order(self, conn: sqlite3.Connection, row: Any, pledges: list[Any], provider: str,
               outcome: dict[str, Any]) -> None:
        """One order on the provider's feed; its id is the project's, so it goes once."""
        kinds_row = conn.execute("SELECT kinds FROM providers WHERE id = ?", (provider,)).fetchone()
        kinds = loads(kinds_row[0]) if kinds_row else []
        lines = []
        for p in pledges:
            h = conn.execute("SELECT name, street FROM households WHERE id = ?",
                             (p["household"],)).fetchone()
            lines.append(self._pledger(provider, kinds, {"household": p["household"],
                                                         "amount": p["amount"],
                                                         "name": h["name"] if h else "",
                                                         "street": h["street"] if h else ""}))
        self.uow.outbox.add(conn, feed_topic(provider, row["id"]), {
            "id": f"order-{row['id']}", "type": "pooled-order", "project": row["id"],
            "title": row["title"], "description": row["description"],
            "option": outcome["option"], "pledges": outcome["pledges"],
            "amount": outcome["amount"], "price": outcome["price"],
            "split": loads(row["split"]), "pledgers": lines})


def _utc(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
