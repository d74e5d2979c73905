"""The community and admin views in a real browser: a notice posted, targeted, drawn."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, expect

from tests.conftest import Broker
from tests.dashboards.conftest import UiHub, log_in, running_hub
from tests.mqtt_helpers import client, wait_until

# Around Ana's street (52.0225, 5.0) and not Chen's (52.0, 5.0).
OUTLINE = "52.018,4.99; 52.028,4.99; 52.028,5.01; 52.018,5.01"


async def test_admin_posts_a_notice_that_reaches_and_is_drawn_for_the_right_households(
    ui_hub: UiHub, browser: Browser, broker: Broker, topic_prefix: str, screenshot: Callable[..., Any]
) -> None:
    ana, chen = f"{topic_prefix}-ana", f"{topic_prefix}-chen"
    ui_hub.household(ana, "ana-password", street="Elm Street 12", lat=52.0225, lon=5.0)
    ui_hub.household(chen, "chen-password", street="Mill Lane 3", lat=52.0, lon=5.0)
    ui_hub.identity.create_admin("riverside-admin", "admin-password", community="riverside")
    with client(broker.port) as (pub, _):
        pub.publish(f"home/{ana}/plug/kettle", b'{"power": 2000}', qos=1).wait_for_publish(5)
        pub.publish(f"home/{chen}/plug/lamp", b'{"online": false}', qos=1).wait_for_publish(5)
        pub.publish(f"home/{chen}/plug/broken", b"{not json", qos=1).wait_for_publish(5)
        await wait_until(lambda: ui_hub.hub.pipeline.processed >= 3)

    admin = await browser.new_page(viewport={"width": 1100, "height": 900})
    await log_in(admin, ui_hub.url, "riverside-admin", "admin-password")
    assert admin.url.endswith("/ui/admin")
    health = admin.get_by_role("region", name="Broker and pipeline")
    await expect(health.get_by_role("listitem").filter(has_text="broker")).to_contain_text("up")
    await expect(health.get_by_role("listitem").filter(has_text="storage")).to_contain_text("up")
    homes = admin.get_by_role("region", name="Households and devices")
    await expect(homes.get_by_role("row", name=ana)).to_contain_text("kettle")
    chen_row = homes.get_by_role("row", name=chen)
    await expect(chen_row.locator("td").nth(1)).to_have_text("0")  # online
    await expect(chen_row.locator("td").nth(2)).to_have_text("1")  # offline
    dead = admin.get_by_role("region", name="Dead letters")
    await expect(dead.get_by_role("row").filter(has_text=f"home/{chen}/plug/broken")).to_contain_text("not JSON")
    await screenshot(admin, "admin-dead-letters")

    await admin.get_by_role("navigation", name="Views").get_by_role("link", name="Community").click()
    await expect(admin.get_by_role("heading", name="Post a notice")).to_be_visible()
    form = admin.get_by_role("region", name="Post a notice")
    await form.get_by_label("Event").fill("Gas supply interruption")
    await form.get_by_label("Headline").fill("Planned gas supply interruption, 17:00-23:00")
    await form.get_by_label("Category").select_option("Infra")
    await form.get_by_label("Severity").select_option("Moderate")
    await form.get_by_label("Area name").fill("North of the mill")
    await form.get_by_label("Area outline").fill(OUTLINE)
    async with admin.expect_navigation():
        await form.get_by_role("button", name="Post notice").click()
    await expect(admin.get_by_role("status")).to_have_text("Notice posted; 1 household reached.")
    notices = admin.get_by_role("region", name="Active notices")
    await expect(notices.get_by_role("heading", name="Planned gas supply interruption, 17:00-23:00")).to_be_visible()
    area_map = notices.get_by_role("img", name="Map of the affected areas: North of the mill")
    await expect(area_map.locator("polygon")).to_have_count(1)
    await screenshot(admin, "community-notice")

    # Ana's household sees it under "my area", Chen's does not; both see it in the community.
    async with httpx.AsyncClient(base_url=ui_hub.url) as http:
        await http.post("/ui/login", data={"username": chen, "password": "chen-password"})
        chen_home = await http.get("/ui/household")
        assert "No notices for your area." in chen_home.text
        assert "Planned gas supply interruption" not in chen_home.text
        chen_community = await http.get("/ui/community")
        assert "Planned gas supply interruption, 17:00-23:00" in chen_community.text
        assert "Post a notice" not in chen_community.text
        refused = await http.post("/ui/community/notices", data={"event": "x", "csrf": "forged"})
        assert refused.status_code == 403
        assert len(ui_hub.notices.active(community="riverside")) == 1
        admin_view = await http.get("/ui/admin")
        assert admin_view.status_code == 403
    page = await browser.new_page(viewport={"width": 390, "height": 844})
    await log_in(page, ui_hub.url, ana, "ana-password")
    mine = page.get_by_role("region", name="Notices for my area")
    await expect(mine.get_by_role("heading", name="Planned gas supply interruption, 17:00-23:00")).to_be_visible()
    await expect(mine.get_by_role("img")).to_have_count(1)
    await screenshot(page, "household-phone")


async def test_a_notice_with_a_malformed_outline_is_refused_with_the_reason(ui_hub: UiHub, browser: Browser) -> None:
    ui_hub.identity.create_admin("admin2", "admin-password", community="riverside")
    page = await browser.new_page()
    await log_in(page, ui_hub.url, "admin2", "admin-password")
    await page.goto(ui_hub.url + "/ui/community")
    form = page.get_by_role("region", name="Post a notice")
    await form.get_by_label("Event").fill("Water main repair")
    await form.get_by_label("Area outline").fill("52.0; 5.0")
    async with page.expect_navigation():
        await form.get_by_role("button", name="Post notice").click()
    await expect(page.get_by_role("status")).to_contain_text("area: write points as 'lat,lon; lat,lon; ...'")
    await form.get_by_label("Event").fill("Water main repair")
    await form.get_by_label("Area outline").fill("52.0,5.0; 52.1,5.0")
    async with page.expect_navigation():
        await form.get_by_role("button", name="Post notice").click()
    await expect(page.get_by_role("status")).to_contain_text("a polygon needs 3 to 1000 points")
    assert ui_hub.notices.active(community="riverside") == []


async def test_with_a_tile_url_the_area_is_drawn_by_the_vendored_leaflet(
    broker: Broker, tmp_path: Path, topic_prefix: str, browser: Browser
) -> None:
    # The hub's own static route stands in for a tile server (the tests have no internet).
    tiles = "/ui/static/vendor/leaflet/images/layers.png?z={z}&x={x}&y={y}"
    async with running_hub(broker, tmp_path, topic_prefix, map_tile_url=tiles) as ui:
        ui.identity.create_admin("admin3", "admin-password", community="riverside")
        ui.household(f"{topic_prefix}-ana", "ana-password")
        page = await browser.new_page()
        outside: list[str] = []
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(ui.url) else None)
        await log_in(page, ui.url, "admin3", "admin-password")
        await page.goto(ui.url + "/ui/community")
        form = page.get_by_role("region", name="Post a notice")
        await form.get_by_label("Event").fill("Road works")
        await form.get_by_label("Or a circle").fill("52.0225,5.0,0.8")
        async with page.expect_navigation():
            await form.get_by_role("button", name="Post notice").click()
        await expect(page.get_by_role("status")).to_have_text("Notice posted; 1 household reached.")
        box = page.locator("#area-map")
        await expect(box).to_have_class(re.compile(r"\bleaflet-container\b"))
        await expect(page.get_by_role("region", name="Map of the affected areas")).to_be_visible()
        await expect(box.locator(".leaflet-overlay-pane path")).to_have_count(1)
        await expect(box.locator("img.leaflet-tile").first).to_have_attribute("src", re.compile(r"layers\.png\?z=\d+"))
        assert outside == []  # nothing fetched from anywhere but the hub
        assert errors == []
        await page.close()


async def test_an_admin_of_no_community_on_a_one_community_hub_administers_that_one(
    ui_hub: UiHub, topic_prefix: str
) -> None:
    ui_hub.household(f"{topic_prefix}-ana", "ana-password")
    ui_hub.identity.create_admin("hub-operator", "operator-password")
    async with httpx.AsyncClient(base_url=ui_hub.url) as http:
        login = await http.post("/ui/login", data={"username": "hub-operator", "password": "operator-password"})
        assert login.headers["location"] == "/ui/admin"
        community = await http.get("/ui/community")
        assert community.status_code == 200
        assert '<h1>Community <span class="sub">riverside</span></h1>' in community.text
        assert "Post a notice" in community.text
    ui_hub.identity.create_household(f"{topic_prefix}-far", "hillside", "Far", password="far-password")
    async with httpx.AsyncClient(base_url=ui_hub.url) as http:
        await http.post("/ui/login", data={"username": "hub-operator", "password": "operator-password"})
        community = await http.get("/ui/community")
        # Two communities now: nothing to narrow to, so no community view to post from.
        assert "Post a notice" not in community.text
