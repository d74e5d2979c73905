"""The weekend story (../shared/STORY.md) through the dashboards, in a real browser.

A real hub (broker, SQLite, HTTP) with the real identity, consent, offers and notices:
Ana sees a live value change, accepts the grocery suggestion and picks a slot, sees the
clash with the dinner, moves the delivery in one step; fresh-grocer claims and fulfils.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from hub.clock import FakeClock
from hub.offers.gatherings import Place
from hub.offers.seed import LAKE_PIER, seed_story
from hub.offers.service import OffersService
from tests.conftest import Broker
from tests.dashboards.conftest import UiHub, log_in, running_hub
from tests.mqtt_helpers import client, wait_until

SATURDAY = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


def at(hh_mm: str) -> datetime:
    h, m = hh_mm.split(":")
    return SATURDAY.replace(hour=int(h), minute=int(m))


@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    """What the rules engine hands the offers sink (its ``ActionLike`` contract)."""

    kind: str
    household: str
    rule_id: str
    pack: str
    key: str
    title: str
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = SATURDAY


FRIDGE_LOW = Action(
    kind="suggest", household="h-ana", rule_id="pantry-low", pack="grocery", key="pantry-low:h-ana",
    title="Groceries running low: milk, eggs. Delivery?", message="Milk and eggs are below your minimum.",
    data={"kind": "grocery", "items": [{"name": "milk", "qty": 0.2, "unit": "l"},
                                       {"name": "eggs", "qty": 0, "unit": "pcs"}]})


def calendar_of(page: Page) -> Any:
    return page.get_by_role("region", name="Calendar")


@pytest.fixture
async def story(broker: Broker, tmp_path: Path, topic_prefix: str) -> AsyncIterator[UiHub]:
    """Riverside seeded, Ana, Ben and fresh-grocer with logins, Ana's grocery consent."""
    clock = FakeClock(SATURDAY)
    async with running_hub(broker, tmp_path, topic_prefix, clock=clock) as ui:
        ui.identity.session_ttl_s = 24 * 3600.0  # the story's clock jumps from 07:00 to 11:00
        seed_story(ui.hub.db, clock)
        for hid, name, street in (("h-ana", "Ana", "Elm Street 12"), ("h-ben", "Ben", "Elm Street 30")):
            ui.identity.create_household(hid, "riverside", name, street, password=f"{name.lower()}-password")
        ui.identity.create_provider("fresh-grocer", "riverside", "Fresh Grocer", ["grocery"],
                                    password="grocer-password")
        ui.identity.consent.grant("h-ana", "fresh-grocer", purpose="grocery_delivery",
                                  signals=["pantry_needs", "slot", "street_address"])
        yield ui


async def _flash(page: Page, text: str) -> None:
    await expect(page.get_by_role("status")).to_have_text(text)


async def test_weekend_story_in_the_browser(story: UiHub, browser: Browser, broker: Broker,
                                           screenshot: Callable[..., Any]) -> None:
    hub = story.hub
    offers: OffersService = hub.components["offers"]
    with client(broker.port) as (pub, _):
        pub.publish("home/h-ana/plug/fridge-plug", b'{"power": 80, "online": true}', qos=1).wait_for_publish(5)
        pub.publish("home/h-ana/fridge/fridge", b'{"stock": {"milk": [0.2, "l"], "eggs": [0, "pcs"]}, '
                    b'"temperature": 4.1}', qos=1).wait_for_publish(5)
        await wait_until(lambda: hub.pipeline.processed >= 2)

        ana = await (await browser.new_context(viewport={"width": 1100, "height": 900})).new_page()
        await log_in(ana, story.url, "h-ana", "ana-password")
        assert ana.url.endswith("/ui/household")
        await expect(ana.locator("#live-state")).to_have_text("Live updates on.")

        # A live value change: the fridge plug's power, straight from MQTT.
        power = ana.locator('[data-key="fridge-plug|power|"]')
        await expect(power).to_have_text("80")
        pub.publish("home/h-ana/plug/fridge-plug", b'{"power": 95}', qos=1).wait_for_publish(5)
        await expect(power).to_have_text("95", timeout=10_000)
    await expect(ana.get_by_role("region", name="Pantry").get_by_role("row", name="milk")).to_contain_text("0.2 l")

    # 07:20 Chen offers 3 seats to Lake Pier; 07:30 Ben invites Ana fishing there. She sees
    # the invitation live, says she is going, and takes the seat the hub matched.
    story.hub.clock.set(at("07:20"))  # type: ignore[attr-defined]
    offers.rides.offer("h-chen", dest_label="Lake Pier", dest_lat=LAKE_PIER[0], dest_lon=LAKE_PIER[1],
                       depart_earliest=at("08:30"), depart_latest=None, seats=3, origin_label=None,
                       origin_lat=None, origin_lon=None, actor="household:h-chen")
    story.hub.clock.set(at("07:30"))  # type: ignore[attr-defined]
    offers.gatherings.create("h-ben", title="Fishing at the lake", starts_at=at("09:00"), ends_at=at("14:00"),
                             capacity=6, place=Place(label="Lake Pier", lat=LAKE_PIER[0], lon=LAKE_PIER[1]),
                             invite=["h-ana"], suggestion=None, actor="household:h-ben")
    invitation = ana.get_by_role("region", name="Gatherings and invitations").get_by_role("listitem").filter(
        has_text="Fishing at the lake")
    await expect(invitation).to_contain_text("You are invited.", timeout=10_000)
    async with ana.expect_navigation():
        await invitation.get_by_role("button", name="Going to Fishing at the lake", exact=True).click()
    await _flash(ana, "You are going.")
    await expect(invitation).to_contain_text("2 going, 4 places left. You are going.")
    await expect(calendar_of(ana).locator(".booking.kind-gathering")).to_contain_text("Fishing at the lake")
    ride = ana.get_by_role("region", name="Suggestions").get_by_role("listitem").filter(
        has_text="Ride to Lake Pier with Chen")
    await expect(ride).to_contain_text("Pickup 08:35 at your street; 3 seats left.")
    async with ana.expect_navigation():
        await ride.get_by_role("button", name="Accept").click()
    await _flash(ana, "Suggestion accepted.")
    await expect(calendar_of(ana).locator(".booking.kind-ride")).to_contain_text("Sat 08:35")

    # The fridge ran low: the suggestion appears live, once, with slots to pick from.
    story.hub.clock.set(at("08:00"))  # type: ignore[attr-defined]
    offers.sink.submit([FRIDGE_LOW])
    offers.sink.submit([FRIDGE_LOW])
    suggestions = ana.get_by_role("region", name="Suggestions")
    grocery = suggestions.get_by_role("listitem").filter(has_text="Groceries running low: milk, eggs. Delivery?")
    await expect(grocery).to_have_count(1, timeout=10_000)
    picker = grocery.get_by_role("group", name="Pick a delivery slot")
    await expect(picker.get_by_role("radio")).to_have_count(12)
    await expect(picker.get_by_role("radio").first).to_be_checked()
    await picker.get_by_role("radio", name="Sat 18:00–19:00 · Fresh Grocer · 5 free", exact=True).check()
    async with ana.expect_navigation():
        await grocery.get_by_role("button", name="Accept").click()
    await _flash(ana, "Delivery booked.")
    calendar = calendar_of(ana)
    delivery = calendar.locator(".booking.kind-grocery")
    await expect(delivery).to_contain_text("Sat 18:00–19:00")
    await expect(suggestions.get_by_role("listitem").filter(has_text="Groceries running low")).to_have_count(0)

    # fresh-grocer sees only what Ana consented to share, and claims it.
    grocer = await (await browser.new_context(viewport={"width": 1100, "height": 800})).new_page()
    await log_in(grocer, story.url, "fresh-grocer", "grocer-password")
    assert grocer.url.endswith("/ui/provider")
    feed = grocer.get_by_role("region", name="Requests for me")
    request = feed.get_by_role("listitem")
    await expect(request).to_have_count(1)
    await expect(request).to_contain_text("milk × 0.2 l, eggs × 0 pcs")
    await expect(request).to_contain_text("Elm Street 12")
    await expect(request).to_contain_text("Sat 18:00–19:00")
    await expect(request).not_to_contain_text("4.1")  # never the raw telemetry
    async with grocer.expect_navigation():
        await request.get_by_role("button", name="Claim").click()
    await _flash(grocer, "Claimed: it is on your schedule.")
    schedule = grocer.get_by_role("region", name="My schedule")
    await expect(schedule.get_by_role("heading", name=re.compile(r"Sat 18:00–19:00 1 job"))).to_be_visible()
    await expect(feed.get_by_role("listitem")).to_have_count(0)

    # 11:00: the gas outage notice, posted in the community view, reaches Ana's and Ben's
    # streets, not Chen's; the rule pack suggests dinner together at river-bistro.
    story.hub.clock.set(at("11:00"))  # type: ignore[attr-defined]
    story.identity.create_admin("riverside-admin", "admin-password", community="riverside")
    admin = await (await browser.new_context(viewport={"width": 1100, "height": 900})).new_page()
    await log_in(admin, story.url, "riverside-admin", "admin-password")
    await admin.goto(story.url + "/ui/community")
    form = admin.get_by_role("region", name="Post a notice")
    await form.get_by_label("Event").fill("Gas supply interruption")
    await form.get_by_label("Headline").fill("Planned gas supply interruption, 17:00-23:00")
    await form.get_by_label("Category").select_option("Infra")
    await form.get_by_label("Severity").select_option("Moderate")
    await form.get_by_label("From (UTC)").fill("2026-11-28T17:00")
    await form.get_by_label("Until (UTC)").fill("2026-11-28T23:00")
    await form.get_by_label("Area name").fill("Elm Street area")
    await form.get_by_label("Area outline").fill("52.022,4.999; 52.025,4.999; 52.025,5.007; 52.022,5.007")
    async with admin.expect_navigation():
        await form.get_by_role("button", name="Post notice").click()
    await _flash(admin, "Notice posted; 4 households reached.")  # Elm Street: Ana, Ben, Gus, Tom
    [notice] = story.notices.active(community="riverside")
    reached = story.notices.households_of(notice.id, "riverside")
    assert {"h-ana", "h-ben"} <= reached
    assert "h-chen" not in reached
    await screenshot(admin, "community")

    # Ana books a table for 3 at 18:30 and invites Ben; the dinner clashes with the delivery.
    dinner = suggestions.get_by_role("listitem").filter(has_text="No gas for cooking tonight. Dinner together?")
    await expect(dinner).to_have_count(1, timeout=10_000)
    await expect(dinner).to_contain_text("Planned gas supply interruption, 17:00-23:00 (")
    await ana.reload()
    await expect(ana.get_by_role("region", name="Notices for my area").get_by_role(
        "heading", name="Planned gas supply interruption, 17:00-23:00")).to_be_visible()
    await dinner.get_by_role("radio", name="Sat 18:30–20:30 · 12 seats free", exact=True).check()
    await dinner.get_by_role("spinbutton", name="Seats").fill("3")
    await dinner.get_by_role("textbox", name="Invite").fill("Ben")
    async with ana.expect_navigation():
        await dinner.get_by_role("button", name="Book a table").click()
    await _flash(ana, "Table for 3 booked; invitations sent.")
    [table] = hub.db.query("SELECT capacity - taken AS free FROM offer_slots WHERE id = ?",
                           ("river-bistro@2026-11-28T18:30:00Z",))
    assert table["free"] == 12 - 3
    await expect(calendar.locator(".booking.clash")).to_have_count(2)
    await expect(delivery.get_by_text("Clash: overlaps another booking")).to_be_visible()
    await expect(suggestions.get_by_role("listitem").filter(has_text="clashes with")).to_have_count(1)
    await screenshot(ana, "household-clash")

    # Ana moves it to 21:00-22:00 in one step.
    await delivery.get_by_label("Move to").select_option(label="Sat 21:00–22:00 (5 free)")
    async with ana.expect_navigation():
        await delivery.get_by_role("button", name="Move").click()
    await _flash(ana, "Delivery moved.")
    await expect(delivery).to_contain_text("Sat 21:00–22:00")
    await expect(calendar.locator(".booking.clash")).to_have_count(0)
    await expect(suggestions.get_by_role("listitem").filter(has_text="clashes with")).to_have_count(0)
    await screenshot(ana, "household")

    # fresh-grocer sees the new slot (live) and marks the delivery fulfilled.
    await expect(schedule.get_by_role("heading", name=re.compile(r"Sat 21:00–22:00 1 job"))).to_be_visible(
        timeout=10_000)
    async with grocer.expect_navigation():
        await schedule.get_by_role("button", name="Mark fulfilled").click()
    await _flash(grocer, "Marked fulfilled.")
    await expect(schedule.get_by_role("listitem")).to_contain_text("fulfilled")
    await expect(schedule.get_by_role("button", name="Mark fulfilled")).to_have_count(0)
    slots = grocer.get_by_role("region", name="My slots")
    await expect(slots.get_by_role("row", name="Sat 21:00–22:00")).to_contain_text("1 of 5")
    await expect(slots.get_by_role("row", name="Sat 18:00–19:00")).to_contain_text("0 of 5")

    # Ana rates the delivery 5/5; fresh-grocer sees the rating (append-only).
    await ana.reload()
    delivered = calendar.locator(".booking.kind-grocery")
    await expect(delivered).to_contain_text("Delivered")
    await delivered.get_by_role("radio", name="5").check()
    await delivered.get_by_label("Comment").fill("Right on time")
    async with ana.expect_navigation():
        await delivered.get_by_role("button", name="Rate").click()
    await _flash(ana, "Thank you: rated 5/5.")
    await expect(delivered).to_contain_text("Delivered and rated")
    await expect(delivered.get_by_role("button", name="Rate")).to_have_count(0)
    await grocer.reload()
    ratings = grocer.get_by_role("region", name="Ratings")
    await expect(ratings.get_by_role("img", name="5 of 5 stars")).to_be_visible()
    await expect(ratings).to_contain_text("Right on time")
    await screenshot(grocer, "provider")
    [request_row] = hub.db.query("SELECT state, starts_at FROM offers WHERE household = 'h-ana'")
    assert (request_row["state"], request_row["starts_at"]) == ("rated", "2026-11-28T21:00:00Z")
    assert offers.verify_ratings().ok

    # The community admin sees every household of Riverside and what the rules decided.
    await admin.goto(story.url + "/ui/admin")
    homes = admin.get_by_role("region", name="Households and devices")
    await expect(homes.get_by_role("row")).to_have_count(1 + 20)
    await expect(homes.get_by_role("row", name="Ana h-ana")).to_contain_text("fridge-plug")
    traces = admin.get_by_role("region", name="Rule traces")
    await expect(traces.get_by_role("row").filter(has_text="activity-ride")).to_have_count(2)
    await expect(traces.get_by_role("row").filter(has_text="gas-outage-dinner").first).to_contain_text("fired")
    await expect(traces.get_by_role("row").filter(has_text="activity-ride").first).to_contain_text("fired")
    await screenshot(admin, "admin")

    # The community view: the gatherings of the day and what was exchanged this week.
    await admin.get_by_role("navigation", name="Views").get_by_role("link", name="Community").click()
    gatherings = admin.get_by_role("region", name="Gatherings")
    await expect(gatherings.get_by_role("listitem")).to_have_count(2)
    await expect(gatherings.get_by_role("listitem").filter(has_text="Dinner at river-bistro")).to_contain_text(
        "1 going, 2 places left")
    week = admin.get_by_role("region", name="This week in riverside")
    await expect(week).to_contain_text("deliveries made1")
    await expect(week).to_contain_text("gatherings2")
    await expect(admin.get_by_role("region", name="Active notices").get_by_role("img")).to_have_accessible_name(
        "Map of the affected areas: Elm Street area")
    await screenshot(admin, "community-gatherings")


async def test_households_and_providers_see_only_their_own(story: UiHub, browser: Browser) -> None:
    offers: OffersService = story.hub.components["offers"]
    offers.sink.submit([FRIDGE_LOW])
    ben = await browser.new_page()
    await log_in(ben, story.url, "h-ben", "ben-password")
    await expect(ben.get_by_role("region", name="Suggestions").get_by_role("listitem")).to_have_count(0)
    [sug] = offers.suggestions.page("h-ana").items
    # Ben posting Ana's suggestion id gets "not found", and nothing is booked.
    csrf = await ben.locator('meta[name="csrf-token"]').get_attribute("content")
    answer = await ben.request.post(f"{story.url}/ui/suggestions/{sug['id']}/accept",
                                    form={"csrf": csrf or "", "slot": "fresh-grocer@2026-11-28T18:00:00Z"},
                                    max_redirects=0)
    assert answer.status == 303
    await ben.goto(story.url + "/ui/household")
    await expect(ben.get_by_role("status")).to_contain_text("no suggestion")
    assert offers.suggestions.get("h-ana", sug["id"]).state == "proposed"
    # A household cannot open the provider view, a provider not the household view.
    assert (await ben.request.get(f"{story.url}/ui/provider", max_redirects=0)).status == 403
    grocer = await browser.new_page()
    await log_in(grocer, story.url, "fresh-grocer", "grocer-password")
    assert (await grocer.request.get(f"{story.url}/ui/household", max_redirects=0)).status == 403


async def test_revoking_consent_in_the_browser_stops_the_feed_at_once(story: UiHub, browser: Browser) -> None:
    offers: OffersService = story.hub.components["offers"]
    offers.sink.submit([FRIDGE_LOW])
    [sug] = offers.suggestions.page("h-ana").items
    offers.accept_suggestion("h-ana", sug["id"], slot="fresh-grocer@2026-11-28T18:00:00Z", actor="household:h-ana")
    grocer = await browser.new_page()
    await log_in(grocer, story.url, "fresh-grocer", "grocer-password")
    feed = grocer.get_by_role("region", name="Requests for me")
    await expect(feed.get_by_role("listitem")).to_contain_text("Elm Street 12")

    ana = await browser.new_page()
    await log_in(ana, story.url, "h-ana", "ana-password")
    shared = ana.get_by_role("region", name="What I share")
    await expect(shared).to_contain_text(
        "Fresh Grocer may see pantry needs, delivery slot, street address for grocery delivery.")
    async with ana.expect_navigation():
        await shared.get_by_role("button", name="Revoke what Fresh Grocer may see").click()
    await _flash(ana, "Consent revoked: nothing more is shared under it.")
    await expect(shared).to_contain_text(re.compile(r"Revoked \w{3} \d{2}:\d{2}\."))  # wall-clock time
    await expect(shared.get_by_role("button")).to_have_count(0)

    await grocer.reload()
    await expect(feed).to_contain_text("No open requests.")
    await expect(feed).not_to_contain_text("Elm Street 12")
