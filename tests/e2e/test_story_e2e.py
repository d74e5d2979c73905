"""The weekend story (STORY.md) end to end: a real embedded hub (Mosquitto with dynamic
security, SQLite files, HTTP on loopback), the story's actors playing it through the API
and MQTT (:class:`hub.demo.story.StoryPlayer`), every fact checked from outside, as the
person concerned would see it: HTTP answers with their login, MQTT messages on their own
broker login. The hub is restarted in the middle of the fridge's ``for: 30m``.
"""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import orjson
import pytest
from story_support import FakeTimeline, RunningHub

from hub.clock import FakeClock
from hub.demo.story import StepResult, StoryDay, StoryPlayer
from hub.offers.slots import add_hourly_slots
from tests.mqtt_helpers import Collector, client, wait_until

pytestmark = pytest.mark.timeout(120)

SATURDAY = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
D = StoryDay(SATURDAY.date())
FEED_KEYS = {"id", "type", "request", "kind", "items", "slot", "address"}


def slot(provider: str, t: time) -> str:
    return D.slot(provider, t)


class Watchers:
    """What the people of Ana's, Ben's and Chen's households receive on their own MQTT
    logins (``hm-<household>``: ``home/<h>/hub/#`` and the community's notices), and what
    corner-shop, the rival grocer, receives on its feed."""

    def __init__(self, port: int, logins: dict[str, tuple[str, str]]) -> None:
        self._stack = contextlib.ExitStack()
        self.seen: dict[str, Collector] = {}
        for who, (user, password) in logins.items():
            topics = [(f"providers/{who}/feed/#", 1)] if who == "corner-shop" else [(f"home/{who}/hub/#", 1)]
            _, collector = self._stack.enter_context(
                client(port, client_id=user, username=user, password=password, subscribe=topics))
            self.seen[who] = collector

    def close(self) -> None:
        self._stack.close()

    def got(self, who: str, fragment: str, within: float = 10.0) -> list[dict[str, Any]]:
        """The JSON messages ``who`` received on topics containing ``fragment`` (waits
        for the first)."""
        seen = self.seen[who]
        assert seen.wait_for(lambda ms: any(fragment in t and p for t, p, _ in ms), timeout=within), (
            f"{who} got nothing on *{fragment}*")
        return [orjson.loads(p) for t, p, _ in list(seen.messages) if fragment in t and p]

    def notices(self, household: str) -> list[tuple[str, bytes, bool]]:
        return [m for m in self.seen[household].messages if "/hub/notices/" in m[0]]


def retained_notices(port: int, login: dict[str, str], household: str) -> list[dict[str, Any]]:
    """The retained notices the household's gateway (``gw-<h>``) gets on subscribing now.

    The broker queues a subscription's retained messages while it handles the SUBSCRIBE,
    so once the SUBACK of a second SUBSCRIBE on the same connection is in, they have all
    arrived.
    """
    user, password = login["username"], login["password"]
    topics = [(f"home/{household}/hub/notices/#", 1)]
    with client(port, client_id=user, username=user, password=password, subscribe=topics) as (c, seen):
        second = threading.Event()
        c.on_subscribe = lambda *_a: second.set()
        c.subscribe(f"home/{household}/hub/story-probe", 1)
        assert second.wait(5), "no SUBACK"
        return [orjson.loads(p) for t, p, r in list(seen.messages) if p and r]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(SATURDAY)


@pytest.fixture
async def story(tmp_path: Path, clock: FakeClock) -> Any:
    running = RunningHub(tmp_path / "hub", clock)
    await running.start()
    try:
        creds = running.provision()
        # A second grocer Ana also trusts (items and slot, not her street): the rival claim.
        shop = running.h.identity.create_provider("corner-shop", "riverside", "Corner Shop", ["grocery"],
                                                  52.02, 5.0, 5.0, password="corner-shop-password")
        creds["providers"]["corner-shop"] = shop.marshal()
        with running.h.db.transaction() as conn:
            add_hourly_slots(conn, "corner-shop", "grocery", D.day, 9, 23, 2)
            # A late slot of fresh-grocer: still ahead when Ana's fridge empties again.
            add_hourly_slots(conn, "fresh-grocer", "grocery", D.day, 23, 23, 5)
        running.h.identity.consent.grant("h-ana", "corner-shop", purpose="grocery_delivery",
                                         signals=["pantry_needs", "slot"])
        members = {h: running.h.identity.create_member_mqtt(h) for h in ("h-ana", "h-ben", "h-chen")}
        logins = dict(members) | {"corner-shop": (shop.mqtt_username, shop.mqtt_password)}
        watchers = Watchers(running.broker_port, logins)  # type: ignore[arg-type]
        try:
            yield running, creds, members, watchers
        finally:
            watchers.close()
    finally:
        await running.stop()


def _by_name(results: list[StepResult]) -> dict[str, StepResult]:
    return {r.name: r for r in results}


async def test_weekend_story_end_to_end(story: Any, clock: FakeClock) -> None:
    running, creds, _members, watchers = story
    player = StoryPlayer(running.api_url, ("127.0.0.1", running.broker_port), creds, FakeTimeline(running))
    seen: dict[str, StepResult] = {}
    port = running.broker_port

    async def as_(who: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        r = await player.request(who, method, path, body)
        return r.status_code, (r.json() if r.content else None)

    async def get(who: str, path: str) -> Any:
        code, body = await as_(who, "GET", path)
        assert code == 200, (who, path, code, body)
        return body

    async def check(step: StepResult) -> None:
        seen[step.name] = step
        f = step.facts
        await CHECKS[step.name](step, f)

    # -- 1. morning -------------------------------------------------------------------
    async def chen_offers_ride(step: StepResult, f: dict[str, Any]) -> None:
        assert (f["seats"], f["seats_left"], f["depart"]) == (3, 3, D.iso(time(8, 30)))

    async def ben_creates_gathering(step: StepResult, f: dict[str, Any]) -> None:
        assert step.story_time == D.at(StoryDay.BEN_GATHERING)
        assert (f["title"], f["capacity"], f["invited"]) == ("Fishing at the lake", 6, ["h-ana"])
        ana = await get("h-ana", f"/gatherings/{f['gathering']}")
        assert (ana["starts_at"], ana["ends_at"], ana["place"]) == (D.iso(time(9)), D.iso(time(14)), "Lake Pier")
        invitations = watchers.got("h-ana", "/hub/invitations/")
        assert [i["title"] for i in invitations] == ["Fishing at the lake"]

    async def ana_accepts(step: StepResult, f: dict[str, Any]) -> None:
        assert (f["going"], f["places_left"]) == (["h-ana", "h-ben"], 4)
        assert f["offered_ride"] == player.ids["ride"]
        assert f["pickup_at"] == D.iso(time(8, 35))

    async def ana_takes_seat(step: StepResult, f: dict[str, Any]) -> None:
        assert (f["you"], f["seats_left"]) == ("booked", 2)
        # Chen sees the booking and the pickup time at Ana's street.
        assert f["chen_sees"] == [("h-ana", D.iso(time(8, 35)), "Elm Street 12")]
        told = watchers.got("h-chen", "/hub/rides/")
        assert told[-1]["pickup_at"] == D.iso(time(8, 35))

    async def ride_fills_up(step: StepResult, f: dict[str, Any]) -> None:
        assert f["riders"] == ["h-dan", "h-eve", "h-fay"]
        assert f["answers"] == ["booked", "booked", "waitlisted"]  # the fourth rider waits
        ride = await get("h-chen", f"/rides/{player.ids['ride']}")
        assert (ride["seats_left"], len(ride["riders"])) == (0, 3)
        assert [r["household"] for r in ride["waitlist"]] == ["h-fay"]
        # Ana sees her own seat only, never the other riders'.
        mine = await get("h-ana", f"/rides/{player.ids['ride']}")
        assert [r["household"] for r in mine["riders"]] == ["h-ana"]

    # -- 2. the fridge, and a hub restart in the middle of its for: 30m -----------------
    before_restart: dict[str, Any] = {}

    async def fridge_reports_low(step: StepResult, f: dict[str, Any]) -> None:
        assert step.story_time == D.at(time(8, 0))
        assert f["due"] == D.iso(time(8, 30))  # for: 30m, story time
        before_restart["bookings"] = await get("h-ana", "/bookings")
        assert sorted(b["kind"] for b in before_restart["bookings"]["items"]) == ["gathering", "ride"]
        subscriptions = player.feed.subscriptions  # type: ignore[union-attr]
        # Stop the hub (and its broker) and start a new one on the same data directory.
        await running.stop()
        clock.set(D.at(time(8, 5)))
        await running.start()
        # Nothing accepted was lost: the same bookings, the timer still due at 08:30.
        after = await get("h-ana", "/bookings")
        assert after == before_restart["bookings"]
        rules = await get("admin", "/api/rules")
        assert [(p["rule"].split("/")[-1], p["household"], p["device"], p["due"]) for p in rules["pending"]] == [
            ("pantry-low", "h-ana", "fridge", D.iso(time(8, 30)))] * len(rules["pending"])
        assert len(rules["pending"]) in (1, 2)  # milk and eggs: one latch each
        # fresh-grocer's own subscriber is back before anything is sent to it.
        await wait_until(lambda: player.feed.subscriptions > subscriptions, within=15)  # type: ignore[union-attr]

    async def fridge_still_low(step: StepResult, f: dict[str, Any]) -> None:
        assert f["grocery_suggestions"] == 0  # 15 minutes low is not 30

    async def grocery_suggested(step: StepResult, f: dict[str, Any]) -> None:
        assert step.story_time == D.at(time(8, 30))
        assert f["title"] == "Groceries running low: milk, eggs. Delivery?"
        assert f["items"] == ["milk", "eggs"]
        assert f["count"] == 1
        # The next free slots of the consented grocers, soonest first.
        assert f["slots"][:2] == [slot("fresh-grocer", time(9)), slot("corner-shop", time(9))] or \
            f["slots"][:2] == [slot("corner-shop", time(9)), slot("fresh-grocer", time(9))]
        assert all(s.startswith(("fresh-grocer@", "corner-shop@")) for s in f["slots"])
        # The timer fired once, after the restart, and raised one suggestion.
        traces = await get("admin", "/api/rules/traces?rule_id=pantry-low&household=h-ana")
        assert [t["outcome"] for t in traces].count("fired") == 1
        all_grocery = await get("h-ana", "/suggestions?limit=100")
        assert [s["kind"] for s in all_grocery["items"]].count("grocery") == 1
        told = watchers.got("h-ana", "/hub/suggestions/")
        assert [m.get("title") for m in told].count("Groceries running low: milk, eggs. Delivery?") == 1

    async def ana_picks_slot(step: StepResult, f: dict[str, Any]) -> None:
        assert f["slot"] == slot("fresh-grocer", time(18))
        assert f["feed_topic"] == f"providers/fresh-grocer/feed/{f['request']}"
        msg = f["feed_message"]
        assert set(msg) == FEED_KEYS  # only items, slot and a street-level address
        assert msg["items"] == [{"name": "milk", "qty": 0.2, "unit": "l"}, {"name": "eggs", "qty": 0, "unit": "pcs"}]
        assert msg["slot"] == {"start": D.iso(time(18)), "end": D.iso(time(19))}
        assert msg["address"] == {"street": "Elm Street 12"}
        raw = orjson.dumps(msg)
        for key in (b"temp_c", b"door_open", b"telemetry", b"seq", b"lat", b"h-ana"):
            assert key not in raw
        # corner-shop was granted items and slot only: no address on its feed.
        assert watchers.seen["corner-shop"].wait_for(lambda ms: any(b'"request"' in p for _, p, _ in ms))
        shop_requests = [m for m in watchers.seen["corner-shop"].messages if b'"type":"request"' in m[1]]
        assert len(shop_requests) == 1, [(t, orjson.loads(p)["id"], r) for t, p, r in shop_requests]
        [(_, shop_msg, _)] = shop_requests
        assert set(orjson.loads(shop_msg)) == FEED_KEYS - {"address"}
        fs = await get("fresh-grocer", "/provider/slots")
        assert {s["id"]: s["free"] for s in fs}[slot("fresh-grocer", time(18))] == 4

    async def grocer_claims(step: StepResult, f: dict[str, Any]) -> None:
        assert (f["feed_type"], f["state"]) == ("claimed", "scheduled")
        rid = player.ids["request"]
        # The rival's claim loses: exactly one claim wins.
        code, lost = await as_("corner-shop", "POST", f"/provider/requests/{rid}/claim", {})
        assert code == 409, lost
        assert "already claimed" in lost["detail"]
        assert watchers.seen["corner-shop"].wait_for(
            lambda ms: any(b'"taken"' in p for _, p, _ in ms))
        sched = await get("fresh-grocer", "/provider/schedule")
        assert [(j["request"], j["state"]) for j in sched["items"]] == [(rid, "scheduled")]
        shop = await get("corner-shop", "/provider/schedule")
        assert shop["items"] == []

    # -- 3. the gas notice ----------------------------------------------------------------
    async def utility_notice(step: StepResult, f: dict[str, Any]) -> None:
        nid = f["notice"]
        assert f["ana_notices"] == [nid]
        assert f["dinner_title"] == "No gas for cooking tonight. Dinner together?"
        assert D.iso(time(18, 30)) in f["sittings"]
        ben = await get("h-ben", "/households/h-ben/notices")
        assert [n["id"] for n in ben] == [nid]
        assert ben[0]["category"] == ["Infra"]
        chen = await get("h-chen", "/households/h-chen/notices")
        assert chen == []
        community = await get("admin", "/communities/riverside/notices")
        # Elm Street: Ana, Ben, Gus and Tom; not Chen on Mill Lane.
        assert [(n["id"], n["households"]) for n in community] == [(nid, 4)]
        # Retained for the households concerned only.
        for h in ("h-ana", "h-ben"):
            got = retained_notices(port, creds["households"][h]["mqtt"], h)
            assert [n["id"] for n in got] == [nid], h
        assert retained_notices(port, creds["households"]["h-chen"]["mqtt"], "h-chen") == []
        assert watchers.notices("h-chen") == []
        # The rule pack reacted for Ben too, not for Chen.
        bens = await get("h-ben", "/suggestions")
        assert [s["kind"] for s in bens["items"]] == ["gathering"]
        chens = await get("h-chen", "/suggestions")
        assert [s["kind"] for s in chens["items"] if s["kind"] == "gathering"] == []
        # Ana cannot read Ben's notices, suggestions or bookings.
        assert (await as_("h-ana", "GET", "/households/h-ben/notices"))[0] == 404
        assert (await as_("h-ana", "GET", f"/suggestions/{bens['items'][0]['id']}"))[0] == 404
        ben_bookings = await get("h-ben", "/bookings")
        [ben_fishing] = ben_bookings["items"]
        assert (await as_("h-ana", "GET", f"/bookings/{ben_fishing['id']}"))[0] == 404
        assert (await as_("h-ana", "POST", f"/bookings/{ben_fishing['id']}/cancel", {}))[0] == 404

    async def ana_books_dinner(step: StepResult, f: dict[str, Any]) -> None:
        assert (f["capacity"], f["invited"]) == (3, ["h-ben", "h-chen"])
        assert (f["bistro_free_before"], f["bistro_free_after"]) == (12, 9)  # drops by 3

    async def clash_flagged(step: StepResult, f: dict[str, Any]) -> None:
        assert f["booking"] == player.ids["delivery"]
        assert f["clash"] is True
        assert slot("fresh-grocer", time(21)) in f["alternatives"]
        assert slot("fresh-grocer", time(19)) not in f["alternatives"]  # overlaps the dinner
        cal = await get("h-ana", "/calendar")
        clashing = sorted(b["kind"] for b in cal["items"] if b["clash"])
        assert clashing == ["gathering", "grocery"]

    async def ana_moves(step: StepResult, f: dict[str, Any]) -> None:
        assert (f["slot"], f["starts_at"], f["clash"]) == (slot("fresh-grocer", time(21)), D.iso(time(21)), False)
        assert f["feed_slot"] == {"start": D.iso(time(21)), "end": D.iso(time(22))}
        assert f["old_slot_free"] == 5  # the 18:00 slot's capacity is released
        fs = await get("fresh-grocer", "/provider/slots")
        assert {s["id"]: s["free"] for s in fs}[slot("fresh-grocer", time(21))] == 4
        cal = await get("h-ana", "/calendar")
        assert not any(b["clash"] for b in cal["items"])
        feed = await get("fresh-grocer", "/provider/schedule")
        assert feed["items"][0]["slot"] == {"start": D.iso(time(21)), "end": D.iso(time(22))}

    # -- 4. update ---------------------------------------------------------------------------
    async def utility_updates(step: StepResult, f: dict[str, Any]) -> None:
        first = player.ids["notice"]
        assert f["ana_notices"] == [(f["notice"], "2026-11-28T21:00:00+00:00")]  # replaced
        assert f["dinner_suggestions"] == 1  # nothing raised twice
        bens = await get("h-ben", "/suggestions?limit=100")
        assert [s["kind"] for s in bens["items"]] == ["gathering"]
        for h in ("h-ana", "h-ben"):
            assert [n["id"] for n in retained_notices(port, creds["households"][h]["mqtt"], h)] == [f["notice"]]
        # Ana's household saw the first notice, its clearing, and the replacement, once each.
        old_topic, new_topic = f"home/h-ana/hub/notices/{first}", f"home/h-ana/hub/notices/{f['notice']}"
        assert watchers.seen["h-ana"].wait_for(
            lambda ms: any(t == old_topic and not p for t, p, _ in ms) and any(t == new_topic for t, _, _ in ms))
        ana = [(t, p) for t, p, _ in watchers.notices("h-ana")]
        assert [t for t, p in ana if p] == [old_topic, new_topic]
        assert [t for t, p in ana if not p] == [old_topic]

    # -- 5. evening ----------------------------------------------------------------------------
    async def fulfilled(step: StepResult, f: dict[str, Any]) -> None:
        assert step.story_time == D.at(time(21, 20))
        assert f["state"] == "fulfilled"

    async def rated(step: StepResult, f: dict[str, Any]) -> None:
        assert (f["stars"], f["subject"], f["chain_ok"], f["ratings"]) == (5, "fresh-grocer", True, 1)
        rid = player.ids["request"]
        code, again = await as_("h-ana", "POST", f"/requests/{rid}/rate", {"stars": 1})
        assert code == 409, again  # append-only: no second rating, no edit
        ratings = await get("fresh-grocer", "/provider/ratings")
        assert [r["stars"] for r in ratings] == [5]

    CHECKS = {
        "chen-offers-ride": chen_offers_ride,
        "ben-creates-gathering": ben_creates_gathering,
        "ana-accepts-invitation": ana_accepts,
        "ana-takes-seat": ana_takes_seat,
        "ride-fills-up": ride_fills_up,
        "fridge-reports-low": fridge_reports_low,
        "fridge-still-low": fridge_still_low,
        "grocery-suggested": grocery_suggested,
        "ana-picks-slot": ana_picks_slot,
        "grocer-claims": grocer_claims,
        "utility-publishes-notice": utility_notice,
        "ana-books-dinner": ana_books_dinner,
        "clash-flagged": clash_flagged,
        "ana-moves-delivery": ana_moves,
        "utility-updates-notice": utility_updates,
        "delivery-fulfilled": fulfilled,
        "ana-rates": rated,
    }

    results = await player.play(observer=check)
    assert [r.name for r in results] == list(CHECKS)

    # fresh-grocer's own subscriber: each message once, in order, only consented fields.
    rid = player.ids["request"]
    feed = [(t, m) for t, m in player.feed.snapshot() if m.get("request") == rid]  # type: ignore[union-attr]
    assert [m["type"] for _, m in feed] == ["request", "claimed", "update"]
    assert len({m["id"] for _, m in feed}) == len(feed)
    assert all(set(m) == FEED_KEYS for _, m in feed)

    # Throughout: a revoked consent stops the flow at once. Ana stops sharing with
    # fresh-grocer (she still trusts corner-shop); her fridge empties again.
    code, revoked = await as_("h-ana", "POST", f"/consents/{creds['grant']}/revoke", {})
    assert (code, revoked["grantee_provider"]) == (200, "fresh-grocer")
    assert revoked["revoked_at"] is not None
    await player.fridge_reports({"milk": (1.5, "l"), "eggs": (6, "pcs")})  # the delivery came
    await wait_until(lambda: getattr(running.h.rules.value("h-ana", "stock", "milk"), "value", None) == 1.5)
    await player.timeline.until(D.at(time(21, 40)))
    await player.fridge_reports({"milk": (0.1, "l"), "eggs": (0, "pcs")})  # and is eaten
    due = await player.wait_pending("h-ana", "fridge")
    assert due == D.iso(time(22, 10))
    await player.timeline.until(D.at(time(22, 10)))
    sugs = await get("h-ana", "/suggestions?state=proposed")
    [again] = [s for s in sugs["items"] if s["kind"] == "grocery"]
    offered = [x["slot"] for x in again["data"]["slots"]]
    assert offered
    assert all(x.startswith("corner-shop@") for x in offered)
    code, refused = await as_("h-ana", "POST", f"/suggestions/{again['id']}/accept",
                              {"slot": slot("fresh-grocer", time(23))})
    assert (code, refused["detail"]) == (409, "no consent covers provider fresh-grocer")
    open_feed = await get("fresh-grocer", "/provider/feed")
    assert open_feed["items"] == []
    await running.settle()
    requests = [m for _, m in player.feed.snapshot() if m.get("type") == "request"]  # type: ignore[union-attr]
    assert [m["request"] for m in requests] == [rid]  # nothing new reached fresh-grocer


async def test_variant_the_utility_cancels(story: Any, clock: FakeClock) -> None:
    running, creds, _members, watchers = story
    player = StoryPlayer(running.api_url, ("127.0.0.1", running.broker_port), creds, FakeTimeline(running))
    results = _by_name(await player.play(cancel_notice=True))

    async def get(who: str, path: str) -> Any:
        r = await player.request(who, "GET", path)
        assert r.status_code == 200, (who, path, r.status_code, r.text)
        return r.json()

    cancelled = results["utility-cancels-notice"].facts
    assert cancelled["ana_notices"] == 0
    # Ana acted on the dinner suggestion: her gathering and table stay, and she is told.
    assert cancelled["dinner_state"] == "open"
    assert cancelled["told"] == ["The gas outage was cancelled"]
    fs = await get("river-bistro", "/provider/slots")
    assert {s["id"]: s["free"] for s in fs}[slot("river-bistro", time(18, 30))] == 9
    ana = await get("h-ana", f"/suggestions/{player.ids['dinner_suggestion']}")
    assert ana["state"] == "accepted"
    # Ben did not act on his: it is withdrawn.
    bens = await get("h-ben", "/suggestions?limit=100")
    [ben_dinner] = [s for s in bens["items"] if s["kind"] == "gathering"]
    assert ben_dinner["state"] in {"cancelled", "withdrawn"}
    ben_notices = await get("h-ben", "/households/h-ben/notices")
    assert ben_notices == []
    # The retained notices are cleared for both households (an empty retained message).
    for h in ("h-ana", "h-ben"):
        last_topic, last_payload, _ = watchers.notices(h)[-1]
        assert last_topic == f"home/{h}/hub/notices/{player.ids['notice']}"
        assert last_payload == b""
        assert retained_notices(running.broker_port, creds["households"][h]["mqtt"], h) == []
    # The evening goes on as before.
    assert results["ana-rates"].facts["chain_ok"] is True
