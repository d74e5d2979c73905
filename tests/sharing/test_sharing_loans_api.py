"""Things and loans over the real HTTP API (CONTRACTS.md "Sharing"), on a real uvicorn."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import httpx
from sharing_support import World, who

from hub.offers.gatherings import Place
from hub.offers.ratings import verify_chain

PROBLEM = "application/problem+json"
DRILL = {"title": "Cordless drill", "category": "tools", "mode": "lend",
         "description": "18 V, two batteries", "pickup_place": "Mill Lane 3, blue shed",
         "terms": {"free": True, "deposit": "none", "max_days": 3}}


def _thing(api: httpx.Client, owner: str = "h-chen", **fields: Any) -> dict[str, Any]:
    r = api.post("/things", json={**DRILL, **fields}, headers=who(owner))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _loan(api: httpx.Client, tid: str, borrower: str, start: str, end: str) -> httpx.Response:
    return api.post(f"/things/{tid}/loans", json={"start": start, "end": end},
                    headers=who(borrower))


def test_listing_validation_and_search(api: httpx.Client) -> None:
    r = api.post("/things", json={**DRILL, "title": "   "}, headers=who("h-chen"))
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert "title" in r.json()["detail"]
    drill = _thing(api)
    assert drill["mode"] == "lend"
    assert drill["state"] == "available"
    _thing(api, "h-ben", title="Carpet cleaner", category="cleaning", description="wet")
    _thing(api, "h-dan", title="Child seat", category="kids", mode="give", description="0-4 years")

    def titles(**params: Any) -> list[str]:
        r = api.get("/things", params=params, headers=who("h-ana"))
        assert r.status_code == 200, r.text
        return sorted(t["title"] for t in r.json()["items"])

    assert titles(q="drill") == ["Cordless drill"]
    assert titles(q="BATTERIES") == ["Cordless drill"]
    assert titles(category="kids") == ["Child seat"]
    assert titles(mode="give") == ["Child seat"]
    # Ana (Elm Street) is 0.1 km from Ben, 2.5 km from Chen, 1.4 km from Dan.
    assert titles(max_km=1.0) == ["Carpet cleaner"]
    assert titles(max_km=2.0) == ["Carpet cleaner", "Child seat"]
    assert titles() == ["Carpet cleaner", "Child seat", "Cordless drill"]
    # Another community sees none of it, and a thing of Riverside is 404 there.
    r = api.get("/things", headers=who("h-zed"))
    assert r.json()["items"] == []
    r = api.get(f"/things/{drill['id']}", headers=who("h-zed"))
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM
    assert "community" in r.json()["detail"]
    r = _loan(api, drill["id"], "h-zed", "2026-11-29T10:00:00Z", "2026-11-29T12:00:00Z")
    assert r.status_code == 404
    assert "community" in r.json()["detail"]
    # Providers may not list things.
    r = api.post("/things", json=DRILL, headers={"x-test-principal": "provider:fresh-grocer"})
    assert r.status_code == 403


def test_a_loan_from_request_to_ratings(api: httpx.Client, world: World) -> None:
    drill = _thing(api)
    before = api.get(f"/things/{drill['id']}", headers=who("h-ana")).json()
    assert before["pickup"] == {"level": "street", "street": "Mill Lane", "place": None}

    r = _loan(api, drill["id"], "h-ana", "2026-11-29T10:00:00+00:00", "2026-11-29T12:00:00+00:00")
    assert r.status_code == 201, r.text
    loan = r.json()
    assert loan["status"] == "requested"
    assert loan["pickup_place"] is None
    lid = loan["id"]
    assert [t for t, _ in world.messages(f"home/h-chen/hub/sharing/loans/{lid}")]

    # Only the owner accepts: 403 for the borrower, 404 for anyone else.
    assert api.post(f"/loans/{lid}/accept", headers=who("h-ana")).status_code == 403
    r = api.post(f"/loans/{lid}/accept", headers=who("h-ben"))
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM
    r = api.post(f"/loans/{lid}/accept", headers=who("h-chen"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "accepted"

    # Now Ana sees where to pick it up; Ben still does not.
    seen = api.get(f"/things/{drill['id']}", headers=who("h-ana")).json()["pickup"]
    assert seen == {"level": "exact", "street": "Mill Lane", "place": "Mill Lane 3, blue shed"}
    assert api.get(f"/things/{drill['id']}", headers=who("h-ben")).json()["pickup"][
        "place"] is None
    told = world.messages(f"home/h-ana/hub/sharing/loans/{lid}")
    assert told[-1][1]["type"] == "loan-accepted"
    assert told[-1][1]["pickup_place"] == "Mill Lane 3, blue shed"

    # A second request for the same hours is refused with the clashing period.
    r = _loan(api, drill["id"], "h-ben", "2026-11-29T11:00:00Z", "2026-11-29T13:00:00Z")
    assert r.status_code == 409
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["clash"] == {"kind": "loan", "loan": lid, "start": "2026-11-29T10:00:00Z",
                                 "end": "2026-11-29T12:00:00Z"}
    # Right after it is fine (half-open periods).
    assert _loan(api, drill["id"], "h-ben", "2026-11-29T12:00:00Z",
                 "2026-11-29T13:00:00Z").status_code == 201

    # The loan is in both calendars.
    cal = api.get("/calendar", headers=who("h-ana")).json()["items"]
    assert [(b["kind"], b["starts_at"], b["ends_at"]) for b in cal] == [
        ("loan", "2026-11-29T10:00:00Z", "2026-11-29T12:00:00Z")]
    assert cal[0]["title"] == "Borrowing Cordless drill from Chen"
    owner_cal = api.get("/calendar", headers=who("h-chen")).json()["items"]
    assert [(b["kind"], b["starts_at"], b["ends_at"]) for b in owner_cal] == [
        ("lend", "2026-11-29T10:00:00Z", "2026-11-29T10:15:00Z"),
        ("lend", "2026-11-29T11:45:00Z", "2026-11-29T12:00:00Z")]

    # Handover: both confirm; then it is out.
    assert api.post(f"/loans/{lid}/handover", headers=who("h-ana")).json()["status"] == "accepted"
    assert api.post(f"/loans/{lid}/handover", headers=who("h-chen")).json()["status"] == "out"
    # Rating before the return is refused.
    r = api.post(f"/loans/{lid}/rate", json={"stars": 5}, headers=who("h-ana"))
    assert r.status_code == 409
    # Return: both confirm, with a condition note.
    r = api.post(f"/loans/{lid}/return", json={"condition_note": "all fine"},
                 headers=who("h-ana"))
    assert r.json()["status"] == "out"
    r = api.post(f"/loans/{lid}/return", json={"condition_note": "batteries charged"},
                 headers=who("h-chen"))
    done = r.json()
    assert done["status"] == "returned"
    assert done["condition_note"] == "borrower: all fine\nowner: batteries charged"
    assert api.get("/calendar", headers=who("h-ana")).json()["items"] == []

    # Ratings both ways, into the one hash chain; a second rating is refused.
    ra = api.post(f"/loans/{lid}/rate", json={"stars": 5, "comment": "great drill"},
                  headers=who("h-ana")).json()
    rc = api.post(f"/loans/{lid}/rate", json={"stars": 4}, headers=who("h-chen")).json()
    assert (ra["subject"], rc["subject"]) == ("h-chen", "h-ana")
    assert rc["prev_hash"] == ra["hash"]
    assert api.post(f"/loans/{lid}/rate", json={"stars": 1},
                    headers=who("h-ana")).status_code == 409
    report = verify_chain(world.db)
    assert report.ok
    assert report.count == 2
    assert api.get(f"/loans/{lid}", headers=who("h-chen")).json()["ratings"] == {
        "by_owner": 4, "by_borrower": 5}
    assert api.get(f"/loans/{lid}", headers=who("h-ben")).status_code == 404


def test_bad_periods_are_422(api: httpx.Client) -> None:
    drill = _thing(api)
    r = _loan(api, drill["id"], "h-ana", "2026-11-28T10:00:00Z", "2026-11-28T12:00:00Z")
    assert r.status_code == 422
    assert "past" in r.json()["detail"]
    r = _loan(api, drill["id"], "h-ana", "2026-11-29T12:00:00Z", "2026-11-29T10:00:00Z")
    assert r.status_code == 422
    assert "before it starts" in r.json()["detail"]
    r = _loan(api, drill["id"], "h-ana", "2026-11-29T12:00:00Z", "2026-12-05T10:00:00Z")
    assert r.status_code == 422
    assert "at most 3 days" in r.json()["detail"]
    r = _loan(api, drill["id"], "h-ana", "2026-11-29T12:00:00", "2026-11-29T14:00:00")
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    r = _loan(api, drill["id"], "h-chen", "2026-11-29T12:00:00Z", "2026-11-29T14:00:00Z")
    assert r.status_code == 409
    assert "yours" in r.json()["detail"]


def test_blocked_days_cancel_extend_and_problems(api: httpx.Client, world: World) -> None:
    drill = _thing(api, blocked_days=["2026-12-01"])
    r = _loan(api, drill["id"], "h-ana", "2026-11-30T20:00:00Z", "2026-12-01T09:00:00Z")
    assert r.status_code == 409
    assert r.json()["clash"]["kind"] == "blocked-day"
    assert r.json()["clash"]["day"] == "2026-12-01"

    lid = _loan(api, drill["id"], "h-ana", "2026-11-29T10:00:00Z", "2026-11-29T12:00:00Z").json()["id"]
    other = _loan(api, drill["id"], "h-ben", "2026-11-29T14:00:00Z", "2026-11-29T16:00:00Z").json()["id"]
    assert api.post(f"/loans/{lid}/accept", headers=who("h-chen")).status_code == 200
    assert api.post(f"/loans/{other}/accept", headers=who("h-chen")).status_code == 200
    # Extending into Ben's loan is refused with his period; to 14:00 is fine.
    r = api.post(f"/loans/{lid}/extend", json={"end": "2026-11-29T15:00:00Z"}, headers=who("h-ana"))
    assert r.status_code == 409
    assert r.json()["clash"]["loan"] == other
    r = api.post(f"/loans/{lid}/extend", json={"end": "2026-11-29T14:00:00Z"}, headers=who("h-ana"))
    assert r.status_code == 200
    assert r.json()["end"] == "2026-11-29T14:00:00Z"
    cal = api.get("/calendar", headers=who("h-ana")).json()["items"]
    assert [(b["starts_at"], b["ends_at"]) for b in cal] == [
        ("2026-11-29T10:00:00Z", "2026-11-29T14:00:00Z")]
    owner = api.get("/calendar", headers=who("h-chen")).json()["items"]
    assert ("2026-11-29T13:45:00Z", "2026-11-29T14:00:00Z") in [
        (b["starts_at"], b["ends_at"]) for b in owner]
    assert world.messages("home/h-chen/hub/sharing/loans/")[-1][1]["type"] == "loan-extended"

    # A problem report reaches the other side.
    r = api.post(f"/loans/{lid}/problem", json={"text": "chuck is loose"}, headers=who("h-ana"))
    assert r.status_code == 200
    assert r.json()["problem"] == "chuck is loose"
    last = world.messages(f"home/h-chen/hub/sharing/loans/{lid}")[-1][1]
    assert (last["type"], last["problem"]) == ("loan-problem", "chuck is loose")

    # Ben cancels: his period and calendar entry are freed, Chen is told.
    r = api.post(f"/loans/{other}/cancel", json={"reason": "plans changed"}, headers=who("h-ben"))
    assert r.json()["status"] == "cancelled"
    assert api.get("/calendar", headers=who("h-ben")).json()["items"] == []
    assert _loan(api, drill["id"], "h-eve", "2026-11-29T14:30:00Z",
                 "2026-11-29T15:00:00Z").status_code == 201
    # Withdrawing the thing is refused while a loan is accepted.
    r = api.post(f"/things/{drill['id']}/withdraw", headers=who("h-chen"))
    assert r.status_code == 409
    assert lid in r.json()["detail"]


def test_loans_join_the_household_calendar_clash_detection(api: httpx.Client,
                                                           world: World) -> None:
    drill = _thing(api)
    lid = _loan(api, drill["id"], "h-ana", "2026-11-29T10:00:00Z", "2026-11-29T12:00:00Z").json()["id"]
    api.post(f"/loans/{lid}/accept", headers=who("h-chen"))
    from datetime import UTC, datetime

    world.offers.gatherings.create(
        "h-ana", title="Coffee with Ben", starts_at=datetime(2026, 11, 29, 11, 0, tzinfo=UTC),
        ends_at=datetime(2026, 11, 29, 12, 30, tzinfo=UTC), capacity=2,
        place=Place(label="Ana's kitchen", home=True), invite=[], suggestion=None,
        actor="household:h-ana")
    cal = api.get("/calendar", headers=who("h-ana")).json()["items"]
    assert [(b["kind"], b["clash"]) for b in cal] == [("loan", True), ("gathering", True)]


def test_twenty_concurrent_accepts_have_one_winner(api: httpx.Client) -> None:
    """20 overlapping requests; the owner's 20 accepts race on the real server."""
    drill = _thing(api)
    households = ["h-ana", "h-ben", "h-dan", "h-eve", "h-fay", "h-gus", "h-hal", "h-ida",
                  "h-jon", "h-kim", "h-lea", "h-max", "h-ned", "h-oli", "h-pia", "h-quinn",
                  "h-rosa", "h-sam", "h-tom", "h-ana"]
    loans = []
    for i, h in enumerate(households):
        r = _loan(api, drill["id"], h, f"2026-11-29T10:{i:02d}:00Z", "2026-11-29T12:00:00Z")
        assert r.status_code == 201, r.text
        loans.append(r.json()["id"])
    barrier = Barrier(len(loans))

    def accept(lid: str) -> httpx.Response:
        with httpx.Client(base_url=str(api.base_url), timeout=60) as client:
            barrier.wait()
            return client.post(f"/loans/{lid}/accept", headers=who("h-chen"))

    with ThreadPoolExecutor(len(loans)) as pool:
        answers = list(pool.map(accept, loans))
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] + [409] * 19
    winner = next(lid for lid, r in zip(loans, answers, strict=True) if r.status_code == 200)
    for r in answers:
        if r.status_code == 409:
            assert r.json()["clash"]["loan"] == winner
    accepted = api.get("/loans", params={"status": "accepted"}, headers=who("h-chen")).json()
    assert [loan["id"] for loan in accepted["items"]] == [winner]
