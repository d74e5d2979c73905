"""STORY.md section 6, the sharing part, end to end: a real embedded hub (Mosquitto with
dynamic security, SQLite, HTTP on loopback), the actors playing it through the API and
MQTT (:mod:`hub.demo.sunday_sharing`), each step checked from outside: HTTP answers with
the person's own login, MQTT messages on their own broker login, and the pages in
Debian's Chromium."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import async_playwright, expect
from story_support import FakeTimeline, RunningHub
from test_story_e2e import Watchers

from hub.clock import FakeClock
from hub.demo import sunday_sharing
from hub.demo.story import StepResult, StoryPlayer
from tests.dashboards.conftest import CHROMIUM, CHROMIUM_ARGS, log_in

pytestmark = pytest.mark.timeout(180)

SATURDAY = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
SUNDAY = SATURDAY.date() + timedelta(days=1)


def at(t: time, day: int = 0) -> datetime:
    return datetime.combine(SUNDAY + timedelta(days=day), t, UTC)


def iso(t: time, day: int = 0) -> str:
    return at(t, day).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
async def sunday(tmp_path: Path) -> Any:
    clock = FakeClock(SATURDAY)
    running = RunningHub(tmp_path / "hub", clock)
    await running.start()
    try:
        creds = running.provision()
        sunday_sharing.seed_sharing(running.h.db, clock, SATURDAY)
        members = {h: running.h.identity.create_member_mqtt(h) for h in ("h-ana", "h-ben", "h-chen")}
        watchers = Watchers(running.broker_port, members)  # type: ignore[arg-type]
        try:
            yield running, creds, watchers
        finally:
            watchers.close()
    finally:
        await running.stop()


async def test_sunday_sharing_end_to_end(sunday: Any) -> None:
    running, creds, watchers = sunday
    player = StoryPlayer(running.api_url, ("127.0.0.1", running.broker_port), creds, FakeTimeline(running))
    steps: dict[str, StepResult] = {}

    async def get(who: str, path: str) -> Any:
        r = await player.request(who, "GET", path)
        assert r.status_code == 200, (who, path, r.status_code, r.text)
        return r.json()

    async def observe(step: StepResult) -> None:
        steps[step.name] = step

    await player.play(observer=observe, saturday=False, chapters=sunday_sharing.CHAPTERS)

    # 09:00 the drill: listed, matched to Ana's wanted post, both told.
    listed = steps["chen-lists-drill"].facts
    assert listed["mode"] == "lend"
    assert listed["pickup"] == {"level": "exact", "street": "Mill Lane",
                                "place": "Mill Lane 3, the blue shed by the gate"}
    wanted = steps["ana-posts-wanted"]
    assert wanted.story_time == at(time(9, 0))
    assert wanted.facts["matches"] == [player.ids["drill"]]
    assert wanted.facts["chen_asked"] == "Ana needs a drill today; lend yours?"
    chen_told = watchers.got("h-chen", "/hub/sharing/wanted/")
    assert chen_told[0]["message"] == "Ana needs a drill today 10:00-12:00; lend your Cordless drill?"
    ana_told = watchers.got("h-ana", "/hub/sharing/wanted/")
    assert ana_told[0]["type"] == "wanted-matched"

    # Chen accepts; only now does Ana see where to pick it up.
    accepted = steps["chen-accepts-loan"].facts
    assert (accepted["requested"], accepted["status"]) == ("requested", "accepted")
    assert accepted["pickup_before"] == {"level": "street", "street": "Mill Lane", "place": None}
    assert accepted["pickup_after"] == "Mill Lane 3, the blue shed by the gate"
    loan_msgs = watchers.got("h-ana", "/hub/sharing/loans/")
    assert next(m for m in loan_msgs if m["type"] == "loan-accepted")["pickup_place"] == \
        "Mill Lane 3, the blue shed by the gate"
    assert any(m["type"] == "loan-requested" for m in watchers.got("h-chen", "/hub/sharing/loans/"))
    refused = steps["second-request-refused"].facts
    assert refused["status"] == 409
    assert refused["clash"] == {"kind": "loan", "loan": player.ids["loan"],
                                "start": iso(time(10)), "end": iso(time(12))}
    wanted_now = await get("h-ana", f"/wanted/{player.ids['wanted']}")
    assert wanted_now["state"] == "fulfilled"

    # 09:30 the carpet cleaner: the plug's 61 idle days raise "share it?"; one tap lists it.
    carpet = steps["ben-shares-carpet-cleaner"]
    assert carpet.story_time == at(time(9, 30))
    assert carpet.facts["suggestion"] == "Your carpet cleaner has not been used for 61 days. Share it?"
    assert carpet.facts["state"] == "available"
    found = await get("h-ana", "/things?q=carpet")
    assert [t["title"] for t in found["items"]] == ["Carpet cleaner"]
    assert (await get("h-ben", "/suggestions?state=accepted"))["items"][0]["kind"] == "share"

    # Dana's child seat: the first claimant wins, picks it up by Monday evening.
    seat = steps["dana-gives-child-seat"].facts
    assert (seat["first"], seat["second"], seat["winner"]) == ("won", "waiting", "h-eve")
    assert seat["pickup_by"] == iso(time(18), day=1)

    # The handover at 10:00 and the return at 11:50, both confirmed, rated both ways.
    assert steps["drill-handed-over"].facts["status"] == "out"
    back = steps["drill-returned-and-rated"]
    assert back.story_time == at(time(11, 50))
    assert back.facts["status"] == "returned"
    assert back.facts["condition"] == "borrower: Works fine, bits cleaned\nowner: All there"
    assert back.facts["ratings"] == ["h-chen", "h-ana"]
    assert back.facts["chain_ok"] is True
    assert back.facts["chain_count"] == 2
    # The durable reminder before the pickup reached Ana and Chen on their own logins.
    assert "loan-pickup" in [m["type"] for m in watchers.got("h-ana", "/hub/sharing/loans/")]
    assert "loan-return" in [m["type"] for m in watchers.got("h-chen", "/hub/sharing/loans/")]
    assert "loan-overdue" not in [m["type"] for m in watchers.got("h-ana", "/hub/sharing/loans/")]

    # In the browser: Ana's loan in Borrowed and lent, the library with both things.
    ana = creds["households"]["h-ana"]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1000, "height": 900})
            await log_in(page, running.api_url, ana["username"], ana["password"])
            await page.goto(f"{running.api_url}/ui/loans")
            loan = page.locator(f'[data-loan="{player.ids["loan"]}"]')
            await expect(loan).to_contain_text("Cordless drill")
            await expect(loan).to_contain_text("returned")
            await page.goto(f"{running.api_url}/ui/library")
            library = page.get_by_role("region", name="Things to borrow, take or swap")
            await expect(library.get_by_role("heading", name="Carpet cleaner")).to_be_visible()
            await expect(library.get_by_role("heading", name="Cordless drill")).to_be_visible()
        finally:
            await browser.close()
