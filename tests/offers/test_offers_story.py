"""The weekend story (STORY.md steps 1-5) against the offers services, with values."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from offers_fixtures import Action, Hub

from hub.errors import Conflict
from hub.offers.seed import LAKE_PIER
from hub.offers.slots import get_slot
from tests.stores import on_postgresql

DAY = "2026-11-28"


def at(hh_mm: str) -> datetime:
    h, m = hh_mm.split(":")
    return datetime(2026, 11, 28, int(h), int(m), tzinfo=UTC)


def slot(provider: str, hh_mm: str) -> str:
    return f"{provider}@{DAY}T{hh_mm}:00Z"


def fridge_low(household: str = "h-ana") -> Action:
    return Action(kind="suggest", household=household, rule_id="pantry-low", pack="grocery",
                  key=f"pantry-low:{household}",
                  title="Groceries running low: milk, eggs. Delivery?",
                  message="Milk and eggs are below your minimum.",
                  data={"kind": "grocery", "items": [
                      {"name": "milk", "qty": 0.2, "unit": "l"},
                      {"name": "eggs", "qty": 0, "unit": "pcs"}],
                      "telemetry": {"fridge": {"temp_c": 4.1, "door_open": False}}})


def morning(hub: Hub) -> dict[str, str]:
    """Step 1: Chen's ride, Ben's gathering, Ana goes and takes a seat."""
    o = hub.offers
    hub.clock.set(at("07:20"))
    ride = o.rides.offer("h-chen", dest_label="Lake Pier", dest_lat=LAKE_PIER[0],
                         dest_lon=LAKE_PIER[1], depart_earliest=at("08:30"),
                         depart_latest=None, seats=3, origin_label=None, origin_lat=None,
                         origin_lon=None, actor="h-chen")
    hub.clock.set(at("07:30"))
    fishing = o.gatherings.create(
        "h-ben", title="Fishing at the lake", starts_at=at("09:00"), ends_at=at("14:00"),
        capacity=6, place=_place("Lake Pier", *LAKE_PIER), invite=["h-ana"], suggestion=None,
        actor="h-ben")
    return {"ride": ride["id"], "fishing": fishing["id"]}


def _place(label: str, lat: float, lon: float):  # type: ignore[no-untyped-def]
    from hub.offers.gatherings import Place

    return Place(label=label, lat=lat, lon=lon)


def test_step1_gathering_ride_pickup_and_waitlist(hub: Hub) -> None:
    o = hub.offers
    ids = morning(hub)
    assert hub.messages("home/h-ana/hub/invitations/")[0][1]["title"] == "Fishing at the lake"
    answer = o.gatherings.rsvp("h-ana", ids["fishing"], True, actor="h-ana")
    assert answer["you"] == "going"
    assert sorted(answer["going"]) == ["h-ana", "h-ben"]
    assert answer["places_left"] == 4

    # The hub matched Chen's ride and offers Ana a seat: one suggestion, pickup 08:35.
    rides = [s for s in o.suggestions.page("h-ana").items if s["kind"] == "ride"]
    assert len(rides) == 1
    offer = rides[0]
    assert offer["data"]["ride"] == ids["ride"]
    assert offer["data"]["pickup_at"] == f"{DAY}T08:35:00Z"
    assert offer["data"]["arrive_at"] <= f"{DAY}T09:00:00Z"
    assert offer["data"]["seats_left"] == 3

    took = o.accept_suggestion("h-ana", offer["id"], slot=None, actor="h-ana")
    assert took["result"]["you"] == "booked"
    assert took["result"]["seats_left"] == 2

    # Chen sees the booking and the pickup time at Ana's street.
    chen = o.rides.get("h-chen", ids["ride"])
    assert chen["seats_left"] == 2
    assert [(r["household"], r["pickup_at"], r["pickup_label"]) for r in chen["riders"]] == [
        ("h-ana", f"{DAY}T08:35:00Z", "Elm Street 12")]
    told = hub.messages("home/h-chen/hub/rides/")
    assert told[-1][1]["pickup_at"] == f"{DAY}T08:35:00Z"

    # Two more riders fill it; the fourth waits instead of overbooking.
    assert o.rides.request("h-dan", ids["ride"], "h-dan")["you"] == "booked"
    assert o.rides.request("h-eve", ids["ride"], "h-eve")["you"] == "booked"
    fourth = o.rides.request("h-fay", ids["ride"], "h-fay")
    assert fourth["you"] == "waitlisted"
    assert fourth["seats_left"] == 0
    assert [r["household"] for r in o.rides.get("h-chen", ids["ride"])["waitlist"]] == ["h-fay"]
    # Ana sees her own seat only, never the other riders'.
    assert [r["household"] for r in o.rides.get("h-ana", ids["ride"])["riders"]] == ["h-ana"]
    # A place frees: the waitlist moves up, with its own pickup time.
    o.rides.leave("h-dan", ids["ride"], "h-dan")
    after = o.rides.get("h-chen", ids["ride"])
    assert sorted(r["household"] for r in after["riders"]) == ["h-ana", "h-eve", "h-fay"]
    fay = next(r for r in after["riders"] if r["household"] == "h-fay")
    assert fay["pickup_at"] == f"{DAY}T08:34:00Z"  # 2.2 km from Chen: 4 minutes
    # Ana's calendar: the ride ends before the gathering starts, so no clash.
    cal = o.calendar.page("h-ana").items
    assert [(b["kind"], b["clash"]) for b in cal] == [("ride", False), ("gathering", False)]


def accept_delivery(hub: Hub) -> tuple[str, str]:
    o = hub.offers
    hub.clock.set(at("08:00"))
    o.sink.submit([fridge_low()])
    hub.clock.set(at("08:10"))
    o.sink.submit([fridge_low()])  # still low: no second suggestion
    [sug] = [s for s in o.suggestions.page("h-ana").items if s["kind"] == "grocery"]
    accepted = o.accept_suggestion("h-ana", sug["id"], slot=slot("fresh-grocer", "18:00"),
                                   actor="h-ana")
    req = accepted["result"]["id"]
    [booking] = [b for b in o.calendar.page("h-ana").items if b["ref"] == req]
    return req, booking["id"]


def test_step2_grocery_suggestion_once_feed_consented_fields_claim(hub: Hub) -> None:
    o = hub.offers
    hub.clock.set(at("08:00"))
    o.sink.submit([fridge_low()])
    o.sink.submit([fridge_low()])
    sugs = o.suggestions.page("h-ana").items
    assert len(sugs) == 1
    s = sugs[0]
    assert s["title"] == "Groceries running low: milk, eggs. Delivery?"
    assert [x["slot"] for x in s["data"]["slots"]][:3] == [
        slot("fresh-grocer", "09:00"), slot("fresh-grocer", "10:00"), slot("fresh-grocer", "11:00")]
    assert len(hub.messages("home/h-ana/hub/suggestions/")) == 1

    req, _ = accept_delivery(hub)
    assert get_slot(hub.db, slot("fresh-grocer", "18:00")).free == 4
    [(topic, msg)] = hub.feed("fresh-grocer")
    assert topic == f"providers/fresh-grocer/feed/{req}"
    assert set(msg) == {"id", "type", "request", "kind", "items", "slot", "address"}
    assert msg["items"] == [{"name": "milk", "qty": 0.2, "unit": "l"},
                            {"name": "eggs", "qty": 0, "unit": "pcs"}]
    assert msg["slot"] == {"start": f"{DAY}T18:00:00Z", "end": f"{DAY}T19:00:00Z"}
    assert msg["address"] == {"street": "Elm Street 12"}
    assert b"temp_c" not in orjson.dumps(msg)
    assert b"telemetry" not in orjson.dumps(msg)

    claim = o.handle_claim("fresh-grocer", orjson.dumps({"request": req, "id": "c-1"}))
    assert claim.status == "claimed"
    assert o.grocery.get("h-ana", req)["state"] == "scheduled"
    again = o.handle_claim("fresh-grocer", orjson.dumps({"request": req, "id": "c-1"}))
    assert again.status == "duplicate"
    assert [t["to_state"] for t in hub.offers.uow.transitions("offer", req)] == [
        "accepted", "claimed", "scheduled"]
    assert [e.kind for e in hub.events if e.offer_id == req][:3] == [
        "accepted", "claimed", "scheduled"]
    [accepted] = hub.kinds("accepted")
    # The key lets the rules engine raise the low-pantry suggestion again later.
    assert accepted.data["key"] == "pantry-low:h-ana"
    assert accepted.data["slot"] == slot("fresh-grocer", "18:00")


def test_step2_two_providers_race_only_consented_fields(hub: Hub) -> None:
    o = hub.offers
    with hub.db.transaction() as conn:
        for pid in ("corner-shop", "big-mart"):
            conn.execute("INSERT INTO providers (id, community, name, kinds, created_at)"
                         " VALUES (?, 'riverside', ?, '[\"grocery\"]', 0)", (pid, pid))
        from hub.offers.slots import add_hourly_slots
        for pid in ("corner-shop", "big-mart"):
            add_hourly_slots(conn, pid, "grocery", hub.seed.day, 9, 21, 2)
    hub.grants.grant("h-ana", "corner-shop", "grocery_delivery", "pantry_needs", "slot")
    # big-mart: no grant at all -> gets nothing
    req, _ = accept_delivery(hub)
    assert {m["type"] for _, m in hub.feed("fresh-grocer")} == {"request"}
    [(_, corner)] = hub.feed("corner-shop")
    assert set(corner) == {"id", "type", "request", "kind", "items", "slot"}
    assert hub.feed("big-mart") == []
    with pytest.raises(Exception, match="no request"):
        o.grocery.claim("big-mart", req, "big-mart")

    won = o.handle_claim("corner-shop", orjson.dumps({"request": req, "id": "m-1"}))
    lost = o.handle_claim("fresh-grocer", orjson.dumps({"request": req, "id": "m-2"}))
    assert (won.status, lost.status) == ("claimed", "conflict")
    assert "already claimed" in lost.message
    # The reservation moved to the winner's slot at the same time.
    assert get_slot(hub.db, slot("fresh-grocer", "18:00")).free == 5
    assert get_slot(hub.db, slot("corner-shop", "18:00")).free == 1
    fresh = [m for _, m in hub.feed("fresh-grocer")]
    assert [m["type"] for m in fresh] == ["request", "taken", "claim-rejected"]
    assert set(fresh[1]) == {"id", "type", "request", "kind", "reason"}


def test_step3_dinner_clash_and_move_in_one_step(hub: Hub) -> None:
    o = hub.offers
    req, booking = accept_delivery(hub)
    o.handle_claim("fresh-grocer", orjson.dumps({"request": req, "id": "c-1"}))
    hub.clock.set(at("11:00"))
    dinner = Action(kind="suggest", household="h-ana", rule_id="no-gas-dinner", pack="notices",
                    key="no-gas-dinner:n-gas-1",
                    title="No gas for cooking tonight. Dinner together?",
                    data={"kind": "gathering", "place": "river-bistro",
                          "time": f"{DAY}T18:30:00Z", "notice_id": "n-gas-1"})
    o.sink.submit([dinner, dinner])
    [sug] = [s for s in o.suggestions.page("h-ana").items if s["kind"] == "gathering"]
    assert [x["starts_at"] for x in sug["data"]["sittings"]] == [f"{DAY}T12:00:00Z",
                                                                 f"{DAY}T18:30:00Z"]
    from hub.offers.gatherings import Place

    g = o.gatherings.create("h-ana", title="Dinner at river-bistro", starts_at=at("18:30"),
                            ends_at=None, capacity=None,
                            place=Place(label="River Bistro", provider="river-bistro", seats=3),
                            invite=["h-ben", "h-chen"], suggestion=sug["id"], actor="h-ana")
    assert g["capacity"] == 3
    assert g["ends_at"] == f"{DAY}T20:30:00Z"
    assert g["invited"] == ["h-ben", "h-chen"]
    assert get_slot(hub.db, slot("river-bistro", "18:30")).free == 12 - 3

    cal = {b["kind"]: b for b in o.calendar.page("h-ana").items}
    assert cal["grocery"]["clash"] is True
    assert cal["gathering"]["clash"] is True
    [clash] = hub.kinds("clashing")
    assert set(clash.data["bookings"]) == {booking, cal["gathering"]["id"]}
    assert clash.offer_id == booking
    assert (clash.data["type"], clash.data["starts"]) == ("grocery", f"{DAY}T18:00:00Z")
    assert clash.data["clashes_with"]["type"] == "gathering"
    assert clash.data["clashes_with"]["starts"] == f"{DAY}T18:30:00Z"
    [resched] = [s for s in o.suggestions.page("h-ana").items if s["kind"] == "reschedule"]
    assert resched["data"]["booking"] == booking
    offered = [a["slot"] for a in resched["data"]["alternatives"]]
    assert slot("fresh-grocer", "21:00") in offered
    assert offered[0] == slot("fresh-grocer", "17:00")  # nearest to 18:00 that fits
    assert slot("fresh-grocer", "19:00") not in offered  # overlaps the dinner
    assert slot("fresh-grocer", "20:00") not in offered

    feed_before = len(hub.feed("fresh-grocer"))
    moved = o.accept_suggestion("h-ana", resched["id"], slot=slot("fresh-grocer", "21:00"),
                                actor="h-ana")
    assert moved["result"]["starts_at"] == f"{DAY}T21:00:00Z"
    assert moved["result"]["clash"] is False
    assert get_slot(hub.db, slot("fresh-grocer", "18:00")).free == 5  # released
    assert get_slot(hub.db, slot("fresh-grocer", "21:00")).free == 4
    assert all(not b["clash"] for b in o.calendar.page("h-ana").items)
    feed = hub.feed("fresh-grocer")
    assert len(feed) == feed_before + 1
    assert feed[-1][1]["type"] == "update"
    assert feed[-1][1]["slot"] == {"start": f"{DAY}T21:00:00Z", "end": f"{DAY}T22:00:00Z"}
    assert o.grocery.get("h-ana", req)["state"] == "scheduled"
    assert o.suggestions.get("h-ana", resched["id"]).state == "accepted"
    # A claimed delivery cannot move to another provider's slot, nor into a full one.
    with pytest.raises(Conflict):
        o.move_booking("h-ana", booking, slot("fresh-grocer", "21:00"), "h-ana")


def test_step4_notice_cancel_withdraws_unless_acted_on(hub: Hub) -> None:
    o = hub.offers
    hub.clock.set(at("11:00"))
    for h in ("h-ana", "h-ben"):
        o.sink.submit([Action(kind="suggest", household=h, rule_id="no-gas-dinner",
                              key="no-gas-dinner:n-gas-1", title="Dinner together?",
                              data={"kind": "gathering", "notice_id": "n-gas-1"})])
    [ana_sug] = o.suggestions.page("h-ana").items
    [ben_sug] = o.suggestions.page("h-ben").items
    from hub.offers.gatherings import Place

    g = o.gatherings.create("h-ana", title="Dinner", starts_at=at("18:30"), ends_at=None,
                            capacity=None, place=Place(label="River Bistro",
                                                       provider="river-bistro", seats=3),
                            invite=["h-ben"], suggestion=ana_sug["id"], actor="h-ana")
    hub.clock.set(at("15:00"))
    # The update re-raises the same key: nothing new.
    o.sink.submit([Action(kind="suggest", household="h-ben", rule_id="no-gas-dinner",
                          key="no-gas-dinner:n-gas-1", title="Dinner together?",
                          data={"kind": "gathering", "notice_id": "n-gas-1"})])
    assert len(o.suggestions.page("h-ben").items) == 1
    o.sink.submit([Action(kind="withdraw", household="", rule_id="no-gas-dinner",
                          key="no-gas-dinner:n-gas-1", title="The outage was cancelled",
                          data={"notice_id": "n-gas-1"})])
    assert o.suggestions.get("h-ben", ben_sug["id"]).state == "cancelled"
    assert o.suggestions.get("h-ana", ana_sug["id"]).state == "accepted"
    assert o.gatherings.get("h-ana", g["id"])["state"] == "open"
    told = [m for _, m in hub.messages("home/h-ana/hub/suggestions/")
            if m.get("type") == "notice-cancelled"]
    assert len(told) == 1
    assert told[0]["title"] == "The outage was cancelled"
    assert [e.offer_id for e in hub.kinds("withdrawn")] == [ben_sug["id"]]


def test_step5_fulfil_rate_chain_and_tamper(hub: Hub) -> None:
    o = hub.offers
    req, _ = accept_delivery(hub)
    o.grocery.claim("fresh-grocer", req, "fresh-grocer")
    hub.clock.set(at("21:20"))
    done = o.grocery.fulfil("fresh-grocer", req, "fresh-grocer")
    assert done["state"] == "fulfilled"
    rating = o.grocery.rate("h-ana", req, 5, "Quick and friendly", "h-ana")
    assert rating["stars"] == 5
    assert rating["subject"] == "fresh-grocer"
    assert o.grocery.get("h-ana", req)["state"] == "rated"
    with pytest.raises(Conflict):
        o.grocery.rate("h-ana", req, 1, "again", "h-ana")
    report = o.verify_ratings()
    assert (report.ok, report.count) == (True, 1)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        hub.db.execute("UPDATE offer_ratings SET stars = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        hub.db.execute("DELETE FROM offer_ratings")
    # Someone with file access drops the guard and edits silently: the chain tells.
    hub.db.execute("DROP TRIGGER offer_ratings_no_update" + (" ON offer_ratings" if on_postgresql() else ""))
    hub.db.execute("UPDATE offer_ratings SET stars = 1 WHERE id = ?", (rating["id"],))
    broken = o.verify_ratings()
    assert (broken.ok, broken.broken_at) == (False, rating["id"])
    assert "content" in broken.reason
    assert [t["to_state"] for t in o.uow.transitions("offer", req)] == [
        "accepted", "claimed", "scheduled", "fulfilled", "rated"]


def test_cancel_releases_slot_and_tells_provider(hub: Hub) -> None:
    o = hub.offers
    req, booking = accept_delivery(hub)
    o.grocery.claim("fresh-grocer", req, "fresh-grocer")
    o.cancel_booking("h-ana", booking, "h-ana")
    assert get_slot(hub.db, slot("fresh-grocer", "18:00")).free == 5
    assert hub.feed("fresh-grocer")[-1][1]["type"] == "cancelled"
    assert o.grocery.get("h-ana", req)["state"] == "cancelled"
    assert hub.kinds("cancelled")[-1].offer_id == req


def test_revoked_consent_stops_feed(hub: Hub) -> None:
    o = hub.offers
    _req, booking = accept_delivery(hub)
    hub.grants.revoke("h-ana", "fresh-grocer", "grocery_delivery")
    purged = o.consent_revoked("h-ana", "fresh-grocer")
    assert purged == 1  # the unsent request is gone from the outbox
    assert hub.feed("fresh-grocer") == []
    assert o.grocery.feed("fresh-grocer").items == []
    o.cancel_booking("h-ana", booking, "h-ana")
    assert hub.feed("fresh-grocer") == []


def test_full_slot_and_expiry(hub: Hub) -> None:
    o = hub.offers
    hub.clock.set(at("08:00"))
    o.sink.submit([fridge_low(h) for h in hub.seed.households[:6]])
    for h in hub.seed.households[:5]:
        [s] = o.suggestions.page(h).items
        o.accept_suggestion(h, s["id"], slot=slot("fresh-grocer", "12:00"), actor=h)
    [s] = o.suggestions.page(hub.seed.households[5]).items
    with pytest.raises(Conflict, match="full"):
        o.accept_suggestion(hub.seed.households[5], s["id"], slot=slot("fresh-grocer", "12:00"),
                            actor="x")
    assert get_slot(hub.db, slot("fresh-grocer", "12:00")).free == 0
    hub.clock.advance(timedelta(hours=13))
    expired = o.expire_due()
    # The unanswered suggestion, and the five requests nobody claimed before 12:00.
    assert [e.split("-")[0] for e in expired] == ["sug"] + ["req"] * 5
    assert [e.offer_id for e in hub.kinds("expired")] == expired
    assert get_slot(hub.db, slot("fresh-grocer", "12:00")).free == 5


def test_service_request_runs_the_same_flow(hub: Hub) -> None:
    o = hub.offers
    with hub.db.transaction() as conn:
        conn.execute("INSERT INTO providers (id, community, name, kinds, created_at)"
                     " VALUES ('fix-it', 'riverside', 'Fix-it', '[\"service\"]', 0)")
        from hub.offers.slots import add_hourly_slots
        add_hourly_slots(conn, "fix-it", "service", hub.seed.day, 9, 12, 1)
    hub.grants.grant("h-ben", "fix-it", "service_visit", "slot", "street_address")
    hub.clock.set(at("08:00"))
    o.sink.submit([Action(kind="suggest", household="h-ben", key="leak:h-ben",
                          title="Water leak under the sink. Plumber?",
                          data={"kind": "service", "items": [{"name": "plumbing"}]})])
    [s] = o.suggestions.page("h-ben").items
    assert [x["slot"] for x in s["data"]["slots"]] == [
        slot("fix-it", f"{h:02d}:00") for h in (9, 10, 11, 12)]
    req = o.accept_suggestion("h-ben", s["id"], slot=slot("fix-it", "10:00"),
                              actor="h-ben")["result"]["id"]
    [(_, msg)] = hub.feed("fix-it")
    assert set(msg) == {"id", "type", "request", "kind", "slot", "address"}  # no items granted
    assert msg["kind"] == "service"
    assert o.grocery.claim("fix-it", req, "fix-it")["state"] == "scheduled"
    [b] = o.calendar.page("h-ben").items
    assert (b["kind"], b["title"], b["starts_at"]) == ("service", "Service visit",
                                                       f"{DAY}T10:00:00Z")


def test_whole_weekend_story_in_one_run(hub: Hub) -> None:
    """Steps 1-5 back to back, then the exact provider feed the outbox holds."""
    from hub.offers.gatherings import Place

    o = hub.offers
    # Ana shares items and slot with fresh-grocer, and her street; nothing else is asked.
    # 1. Morning
    ids = morning(hub)
    o.gatherings.rsvp("h-ana", ids["fishing"], True, actor="h-ana")
    [ride_sug] = [s for s in o.suggestions.page("h-ana").items if s["kind"] == "ride"]
    seat = o.accept_suggestion("h-ana", ride_sug["id"], slot=None, actor="h-ana")["result"]
    assert seat["seats_left"] == 2
    assert seat["riders"][0]["pickup_at"] == f"{DAY}T08:35:00Z"
    for rider in ("h-dan", "h-eve"):
        o.rides.request(rider, ids["ride"], rider)
    assert o.rides.request("h-fay", ids["ride"], "h-fay")["you"] == "waitlisted"
    # 2. The fridge runs low (twice reported, once suggested), 18:00 picked, claimed.
    req, booking = accept_delivery(hub)
    assert len([s for s in o.suggestions.page("h-ana").items if s["kind"] == "grocery"]) == 1
    assert o.handle_claim("fresh-grocer",
                          orjson.dumps({"request": req, "id": "c-1"})).status == "claimed"
    # 3. 11:00 gas notice -> dinner suggestion -> table for 3 -> clash -> move to 21:00.
    hub.clock.set(at("11:00"))
    o.sink.submit([Action(kind="suggest", household="h-ana", rule_id="no-gas-dinner",
                          key="no-gas-dinner:n-gas-1",
                          title="No gas for cooking tonight. Dinner together?",
                          data={"kind": "gathering", "place": "river-bistro",
                                "notice_id": "n-gas-1"})])
    [dinner_sug] = [s for s in o.suggestions.page("h-ana").items if s["kind"] == "gathering"]
    o.gatherings.create("h-ana", title="Dinner at river-bistro", starts_at=at("18:30"),
                        ends_at=None, capacity=None,
                        place=Place(label="River Bistro", provider="river-bistro", seats=3),
                        invite=["h-ben", "h-chen"], suggestion=dinner_sug["id"], actor="h-ana")
    assert get_slot(hub.db, slot("river-bistro", "18:30")).free == 9
    assert o.calendar.get("h-ana", booking).clash is True
    o.move_booking("h-ana", booking, slot("fresh-grocer", "21:00"), "h-ana")
    assert o.calendar.get("h-ana", booking).clash is False
    assert get_slot(hub.db, slot("fresh-grocer", "18:00")).free == 5
    # 4. 15:00 update raises nothing twice; the cancel variant keeps what Ana booked.
    hub.clock.set(at("15:00"))
    o.sink.submit([Action(kind="suggest", household="h-ana", rule_id="no-gas-dinner",
                          key="no-gas-dinner:n-gas-1", title="(updated)",
                          data={"kind": "gathering", "notice_id": "n-gas-1"})])
    assert len([s for s in o.suggestions.page("h-ana").items if s["kind"] == "gathering"]) == 1
    o.sink.submit([Action(kind="withdraw", household="h-ana", rule_id="no-gas-dinner",
                          key="no-gas-dinner:n-gas-1", data={"notice_id": "n-gas-1"})])
    assert o.suggestions.get("h-ana", dinner_sug["id"]).state == "accepted"
    # 5. Evening: fulfilled at 21:20, rated 5/5, the chain verifies.
    hub.clock.set(at("21:20"))
    o.grocery.fulfil("fresh-grocer", req, "fresh-grocer")
    o.grocery.rate("h-ana", req, 5, "", "h-ana")
    assert o.verify_ratings().ok is True
    # Exactly these feed messages reached the grocer, each with only consented fields.
    feed = hub.feed("fresh-grocer")
    assert [(t, m["type"]) for t, m in feed] == [
        (f"providers/fresh-grocer/feed/{req}", "request"),
        (f"providers/fresh-grocer/feed/{req}", "claimed"),
        (f"providers/fresh-grocer/feed/{req}", "update"),
    ]
    for _, m in feed:
        assert set(m) == {"id", "type", "request", "kind", "items", "slot", "address"}
        assert m["address"] == {"street": "Elm Street 12"}
    assert len({m["id"] for _, m in feed}) == 3
    assert [m["type"] for _, m in hub.feed("river-bistro")] == ["table-booking"]
    assert [t["to_state"] for t in o.uow.transitions("offer", req)] == [
        "accepted", "claimed", "scheduled", "scheduled", "fulfilled", "rated"]


def test_sink_inside_the_engines_transaction_reports_after_its_commit(hub: Hub) -> None:
    o = hub.offers
    hub.clock.set(at("11:00"))
    o.sink.submit([Action(kind="suggest", household="h-ben", rule_id="no-gas-dinner",
                          key="d:n-gas-1", data={"kind": "gathering", "notice_id": "n-gas-1"})])
    [sug] = o.suggestions.page("h-ben").items
    with hub.db.transaction():  # the rules engine calls submit inside its own transaction
        o.sink.submit([Action(kind="withdraw", household="", rule_id="no-gas-dinner",
                              key="d:n-gas-1", data={"notice_id": "n-gas-1"})])
        assert hub.kinds("withdrawn") == []
    assert o.uow.drain(5)
    assert [e.offer_id for e in hub.kinds("withdrawn")] == [sug["id"]]


def test_narrowed_consent_narrows_waiting_messages(hub: Hub) -> None:
    o = hub.offers
    req, _ = accept_delivery(hub)
    [(_, before)] = hub.feed("fresh-grocer")
    assert before["address"] == {"street": "Elm Street 12"}
    # Ana keeps sharing items and slot but no longer her street (the revoking transaction
    # of the identity package calls drop_unsent_feed).
    hub.grants.revoke("h-ana", "fresh-grocer", "grocery_delivery")
    hub.grants.grant("h-ana", "fresh-grocer", "grocery_delivery", "pantry_needs", "slot")
    with o.uow.tx() as conn:
        assert o.drop_unsent_feed(conn, "h-ana", ["fresh-grocer"]) == 1
    [(topic, after)] = hub.feed("fresh-grocer")
    assert topic == f"providers/fresh-grocer/feed/{req}"
    assert set(after) == {"id", "type", "request", "kind", "items", "slot"}
    assert after["id"] != before["id"]
    assert [f["request"] for f in o.grocery.feed("fresh-grocer").items] == [req]
    assert "address" not in o.grocery.feed("fresh-grocer").items[0]


def test_gathering_at_home_waitlist_moves_up(hub: Hub) -> None:
    from hub.offers.gatherings import Place

    o = hub.offers
    g = o.gatherings.create("h-ben", title="Board games", starts_at=at("16:00"),
                            ends_at=at("18:00"), capacity=2,
                            place=Place(label="Ben's", home=True),
                            invite=["h-ana", "h-tom", "h-gus"], suggestion=None, actor="h-ben")
    assert (g["place"], g["lat"], g["lon"]) == ("Ben's", 52.023, 5.002)
    assert o.gatherings.rsvp("h-ana", g["id"], True, "h-ana")["you"] == "going"
    assert o.gatherings.rsvp("h-tom", g["id"], True, "h-tom")["you"] == "waitlisted"
    assert o.gatherings.rsvp("h-gus", g["id"], True, "h-gus")["you"] == "waitlisted"
    left = o.gatherings.rsvp("h-ana", g["id"], False, "h-ana")
    assert sorted(left["going"]) == ["h-ben", "h-tom"]
    assert left["waitlist"] == ["h-gus"]
    assert [b["title"] for b in o.calendar.page("h-tom").items] == ["Board games"]
    assert o.calendar.page("h-ana").items == []


def test_accept_ride_closes_the_offered_seat_suggestion(hub: Hub) -> None:
    o = hub.offers
    ids = morning(hub)
    o.gatherings.rsvp("h-ana", ids["fishing"], True, actor="h-ana")
    [offer] = [s for s in o.suggestions.page("h-ana").items if s["kind"] == "ride"]
    seat = o.accept_ride("h-ana", ids["ride"], "h-ana")
    assert seat["you"] == "booked"
    assert seat["seats_left"] == 2
    assert o.suggestions.get("h-ana", offer["id"]).state == "accepted"
