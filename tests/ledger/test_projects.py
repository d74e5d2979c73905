"""Pooled projects on a real SQLite file: all-or-nothing pledges, the deadline firing once,
one order on the winning provider's feed, consent over what the provider sees."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import orjson
import pytest
from ledger_fixtures import SUNDAY, Bank

from hub.errors import Conflict, NotFound
from hub.offers.problems import Unprocessable
from hub.projects import PURPOSE, Projects

FRIDAY = "2026-12-04T18:00:00Z"
SIX = ("h-ana", "h-chen", "h-dan", "h-eve", "h-fay", "h-gus")


class OnlyAna:
    """Ana consented to fresh-grocer seeing her name and address for pooled orders."""

    def allowed(self, household: str, provider: str, provider_kinds: Sequence[str],
                purpose: str, signal: str) -> bool:
        return household == "h-ana" and provider == "fresh-grocer" and purpose == PURPOSE


def pellets(bank: Bank, **extra: object) -> dict:
    return Projects(bank.ctx).propose(
        "riverside", proposer_kind="household", proposer="h-ben",
        title="Heating pellets, bulk", goal_pledges=6, deadline=FRIDAY,
        provider="fresh-grocer", actor="household:ben", **extra)  # type: ignore[arg-type]


def at_deadline(bank: Bank) -> None:
    bank.clock.set(SUNDAY + timedelta(days=5, hours=4))


def payloads(bank: Bank, prefix: str) -> list[dict]:
    return [orjson.loads(r[0]) for r in bank.db.query(
        "SELECT payload FROM outbox WHERE topic LIKE ? ORDER BY seq", (f"{prefix}%",))]


def test_met_threshold_makes_one_order_with_only_consented_pledgers(bank: Bank) -> None:
    bank.ctx.consent = OnlyAna()
    projects = Projects(bank.ctx)
    p = pellets(bank)
    assert p["split"] == {"buyers": 3, "organiser": 3, "community_fund": 3, "provider": 1}
    for h in SIX:
        out = projects.pledge(h, "riverside", p["id"], amount="1", option=None, actor=h)
    assert out["pledges"] == 6
    assert out["progress"] == 1.0
    assert out["state"] == "open"
    assert projects.close_due() == []  # not before Friday
    at_deadline(bank)
    assert projects.close_due() == [p["id"]]
    assert projects.close_due() == []  # once
    done = projects.get("riverside", p["id"])
    assert done["state"] == "met"
    assert done["outcome"]["provider"] == "fresh-grocer"
    [order] = payloads(bank, f"providers/fresh-grocer/feed/{p['id']}")
    assert order["id"] == f"order-{p['id']}"
    assert order["pledges"] == 6
    assert order["pledgers"][0] == {"amount": 1.0, "household": "h-ana", "name": "Ana",
                                    "address": "Elm Street 12"}
    assert order["pledgers"][1:] == [{"amount": 1.0}] * 5  # no consent: no name, no address
    states = {r[0] for r in bank.db.query("SELECT state FROM project_pledges")}
    assert states == {"committed"}
    told = {m["id"] for m in payloads(bank, "home/")}
    assert told == {f"{p['id']}-met-{h}" for h in (*SIX, "h-ben")}


def test_missed_threshold_releases_every_pledge_and_tells_everyone(bank: Bank) -> None:
    projects = Projects(bank.ctx)
    p = pellets(bank)
    projects.pledge("h-ana", "riverside", p["id"], amount="1", option=None, actor="a")
    projects.pledge("h-chen", "riverside", p["id"], amount="1", option=None, actor="c")
    at_deadline(bank)
    assert projects.close_due() == [p["id"]]
    done = projects.get("riverside", p["id"])
    assert done["state"] == "missed"
    assert done["outcome"]["reason"] == "2 of 6 pledges by the deadline"
    assert payloads(bank, "providers/") == []  # nobody is charged, nothing is ordered
    assert {r[0] for r in bank.db.query("SELECT state FROM project_pledges")} == {"released"}
    msgs = payloads(bank, "home/")
    assert sorted(m["id"] for m in msgs) == sorted(f"{p['id']}-missed-{h}"
                                                   for h in ("h-ana", "h-chen", "h-ben"))
    assert all(m["type"] == "project-missed" for m in msgs)


def test_pledges_and_bids_are_checked(bank: Bank) -> None:
    projects = Projects(bank.ctx)
    p = pellets(bank, options=["6 mm", "8 mm"])
    with pytest.raises(Unprocessable, match="vote"):
        projects.pledge("h-ana", "riverside", p["id"], amount="1", option=None, actor="a")
    with pytest.raises(Unprocessable, match="option"):
        projects.pledge("h-ana", "riverside", p["id"], amount="1", option="10 mm", actor="a")
    with pytest.raises(Unprocessable, match="amount"):
        projects.pledge("h-ana", "riverside", p["id"], amount="0", option="6 mm", actor="a")
    projects.pledge("h-ana", "riverside", p["id"], amount="1", option="8 mm", actor="a")
    with pytest.raises(Conflict, match="already pledged"):
        projects.pledge("h-ana", "riverside", p["id"], amount="2", option="8 mm", actor="a")
    with pytest.raises(NotFound):
        projects.pledge("h-ana", "elsewhere", p["id"], amount="1", option="8 mm", actor="a")
    projects.bid("fresh-grocer", "riverside", p["id"], price="1500", note="", actor="g")
    projects.bid("corner-shop", "riverside", p["id"], price="1450", note="", actor="s")
    with pytest.raises(Conflict):
        projects.bid("corner-shop", "riverside", p["id"], price="1400", note="", actor="s")
    for h in SIX[1:]:
        projects.pledge(h, "riverside", p["id"], amount="1", option="6 mm" if h == "h-dan" else "8 mm",
                        actor=h)
    at_deadline(bank)
    with pytest.raises(Conflict, match="closed"):
        projects.pledge("h-hal", "riverside", p["id"], amount="1", option="6 mm", actor="h")
    projects.close_due()
    done = projects.get("riverside", p["id"])
    assert done["outcome"]["provider"] == "corner-shop"  # the cheapest bid
    assert done["outcome"]["option"] == "8 mm"
    assert done["votes"] == {"8 mm": 5, "6 mm": 1}
    assert len(payloads(bank, "providers/corner-shop/feed/")) == 1
    assert payloads(bank, "providers/fresh-grocer/feed/") == []


def test_proposals_are_validated(bank: Bank) -> None:
    projects = Projects(bank.ctx)
    base = {"proposer_kind": "household", "proposer": "h-ben", "actor": "b"}
    with pytest.raises(Unprocessable, match="future"):
        projects.propose("riverside", title="x", goal_pledges=2, deadline="2026-11-01T00:00:00Z",
                         **base)  # type: ignore[arg-type]
    with pytest.raises(Unprocessable, match="offset"):
        projects.propose("riverside", title="x", goal_pledges=2, deadline="2026-12-04T18:00:00",
                         **base)  # type: ignore[arg-type]
    with pytest.raises(Unprocessable, match="title"):
        projects.propose("riverside", title="  ", goal_pledges=2, deadline=FRIDAY,
                         **base)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        projects.propose("riverside", title="x", goal_pledges=2, deadline=FRIDAY,
                         provider="nobody", **base)  # type: ignore[arg-type]
    with pytest.raises(Unprocessable, match="split"):
        projects.propose("riverside", title="x", goal_pledges=2, deadline=FRIDAY,
                         split={"a": 0}, **base)  # type: ignore[arg-type]
