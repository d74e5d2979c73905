"""Devices and rules join in: the shipped community pack raises sharing suggestions from
plug readings and wanted posts (the real rules engine, its offers sink, the store)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from sharing_support import World, who

from hub.rules import RuleEngine

PACK = Path(__file__).resolve().parents[2] / "rules" / "community.yaml"


@pytest.fixture
def engine(world: World) -> Iterator[RuleEngine]:
    engine = RuleEngine(world.db, world.clock, world.offers.sink)
    assert engine.reload([str(PACK)]).ok
    world.offers.set_on_event(engine.on_event)
    yield engine
    world.offers.set_on_event(None)


def _plug(world: World, household: str, device: str, name: str, watts: float,
          first_seen_days_ago: float) -> None:
    now = world.clock.timestamp()
    with world.db.transaction() as conn:
        conn.execute(
            "INSERT INTO devices (household, device, kind, name, metrics, first_seen, last_seen)"
            " VALUES (?, ?, 'plug', ?, '[]', ?, ?) ON CONFLICT (household, device) DO UPDATE"
            " SET last_seen = excluded.last_seen",
            (household, device, name, now - first_seen_days_ago * 86400, now))
        conn.execute(
            "INSERT INTO device_state (household, device, metric, channel, value, unit, ts,"
            " updated_at) VALUES (?, ?, 'power', '', ?, 'W', NULL, ?) ON CONFLICT (household,"
            " device, metric, channel) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at", (household, device, orjson.dumps(watts).decode(),
                                                  now))


def _suggestions(world: World, household: str) -> list[dict[str, object]]:
    return world.offers.suggestions.page(household, state="proposed", limit=50).items


@pytest.mark.usefixtures("engine")
def test_an_idle_carpet_cleaner_is_suggested_for_sharing_and_listed_in_one_tap(
        world: World, api: httpx.Client) -> None:
    _plug(world, "h-ben", "plug-cc", "Carpet cleaner", 0.0, first_seen_days_ago=61)
    _plug(world, "h-ben", "plug-fan", "Fan", 0.0, first_seen_days_ago=30)   # idle, not long
    _plug(world, "h-ben", "plug-tv", "Television", 80.0, first_seen_days_ago=400)  # in use
    world.sharing.run_due()
    found = _suggestions(world, "h-ben")
    assert [s["title"] for s in found] == [
        "Your carpet cleaner has not been used for 61 days. Share it?"]
    sug = found[0]
    assert sug["data"]["kind"] == "share"
    assert sug["data"]["device"] == "plug-cc"
    # Told once: the next scans (the same day, and the day after) raise nothing new.
    world.sharing.run_due()
    world.clock.advance(timedelta(days=1))
    world.sharing.run_due()
    assert len(_suggestions(world, "h-ben")) == 1

    # One tap: list it from the suggestion; the suggestion is accepted.
    r = api.post("/things", json={"title": "Carpet cleaner", "category": "cleaning",
                                  "device": "plug-cc", "suggestion": sug["id"]},
                 headers=who("h-ben"))
    assert r.status_code == 201, r.text
    assert world.offers.suggestions.get("h-ben", str(sug["id"])).state == "accepted"
    # Listed, it is not suggested again even when the cooldown has passed (the fan, idle
    # for 62 days by then, is).
    world.clock.advance(timedelta(days=31))
    world.sharing.run_due()
    assert [s["title"] for s in _suggestions(world, "h-ben")] == [
        "Your fan has not been used for 62 days. Share it?"]


@pytest.mark.usefixtures("engine")
def test_a_wanted_post_asks_the_owner_to_lend(world: World, api: httpx.Client) -> None:
    api.post("/things", json={"title": "Cordless drill", "category": "tools"},
             headers=who("h-chen"))
    r = api.post("/wanted", json={"text": "Wanted: a drill, today 10:00-12:00",
                                  "start": "2026-11-29T10:00:00Z", "end": "2026-11-29T12:00:00Z"},
                 headers=who("h-ana"))
    assert r.status_code == 201
    found = _suggestions(world, "h-chen")
    assert [s["title"] for s in found] == ["Ana needs a drill today; lend yours?"]
    assert found[0]["data"]["wanted"] == r.json()["id"]
    assert _suggestions(world, "h-ana") == []


@pytest.mark.usefixtures("engine")
def test_a_shared_washing_machine_reports_its_use_in_the_slot(world: World,
                                                              api: httpx.Client) -> None:
    _plug(world, "h-ben", "plug-wm", "Washing machine", 1.0, first_seen_days_ago=1)
    wm = api.post("/things", json={"title": "Washing machine", "category": "household",
                                   "device": "plug-wm", "terms": {"max_days": 1}},
                  headers=who("h-ben")).json()
    lid = api.post(f"/things/{wm['id']}/loans", json={
        "start": "2026-11-29T10:00:00Z", "end": "2026-11-29T12:00:00Z"},
        headers=who("h-ana")).json()["id"]
    api.post(f"/loans/{lid}/accept", headers=who("h-ben"))
    world.clock.set(world.clock.now().replace(hour=9, minute=50))
    _plug(world, "h-ben", "plug-wm", "Washing machine", 500.0, 1)
    world.sharing.run_due()
    assert world.sharing.appliances.use(lid) is None  # before the slot: not the borrower's use
    world.clock.set(world.clock.now().replace(hour=10, minute=5))
    world.sharing.run_due()
    started = world.sharing.appliances.use(lid)
    assert started == {"started_at": "2026-11-29T10:05:00Z", "ended_at": None}
    world.clock.set(world.clock.now().replace(hour=11, minute=20))
    _plug(world, "h-ben", "plug-wm", "Washing machine", 1.5, 1)
    world.sharing.run_due()
    assert world.sharing.appliances.use(lid) == {"started_at": "2026-11-29T10:05:00Z",
                                                 "ended_at": "2026-11-29T11:20:00Z"}
    told = [p["type"] for _, p in world.messages(f"home/h-ana/hub/sharing/loans/{lid}")]
    assert [t for t in told if t.startswith("appliance")] == ["appliance-use-started",
                                                              "appliance-use-ended"]
    notes = [t["note"] for t in world.offers.uow.transitions("loan", lid)]
    assert "use-started (500 W)" in notes
    assert "use-ended (2 W)" in notes
    titles = {str(s["title"]) for s in world.offers.suggestions.page("h-ana", limit=50).items}
    assert {"Washing machine is in use", "Washing machine has finished"} <= titles
