"""The dashboards in a real browser against a real hub: login, and live device values."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.conftest import Broker
from tests.dashboards.conftest import UiHub, log_in
from tests.mqtt_helpers import client, wait_until


async def test_root_redirects_to_the_login_page_which_renders(ui_hub: UiHub, browser: Browser,
                                                             screenshot: Callable[..., Any]) -> None:
    async with httpx.AsyncClient(base_url=ui_hub.url) as http:
        root = await http.get("/")
        assert root.status_code == 303
        assert root.headers["location"] == "/ui/login"
        view = await http.get("/ui/household")
        assert view.status_code == 303
        assert view.headers["location"] == "/ui/login?next=/ui/household"
    page = await browser.new_page(viewport={"width": 390, "height": 800})
    await page.goto(ui_hub.url + "/")
    assert page.url.endswith("/ui/login")
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    await expect(page.get_by_label("Username")).to_be_editable()
    await expect(page.get_by_label("Password")).to_have_attribute("type", "password")
    await expect(page.get_by_role("main")).to_be_visible()
    await screenshot(page, "login")


async def test_a_wrong_password_is_refused_and_sets_no_session(ui_hub: UiHub, browser: Browser,
                                                               household: str) -> None:
    ui_hub.household(household, "right-password")
    page = await browser.new_page()
    await log_in(page, ui_hub.url, household, "wrong-password")
    await expect(page.get_by_role("alert")).to_have_text("wrong username or password")
    cookies = await page.context.cookies()
    assert [c for c in cookies if c["name"] == "hub_session"] == []


async def test_household_sees_its_devices_change_live_after_an_mqtt_publish(
    ui_hub: UiHub, browser: Browser, broker: Broker, household: str, screenshot: Callable[..., Any]
) -> None:
    other = household + "x"
    ui_hub.household(household, "ana-password")
    hub = ui_hub.hub
    with client(broker.port) as (pub, _):
        pub.publish(f"home/{household}/plug/fridge-plug", b'{"power": 12, "online": true}', qos=1).wait_for_publish(5)
        pub.publish(f"home/{household}/sensor/kitchen", b'{"temperature": 21.5}', qos=1).wait_for_publish(5)
        pub.publish(f"home/{household}/fridge/fridge",
                    b'{"stock": {"milk": [0.2, "l"], "eggs": [0, "pcs"]}}', qos=1).wait_for_publish(5)
        pub.publish(f"home/{other}/plug/neighbours-plug", b'{"power": 999}', qos=1).wait_for_publish(5)
        await wait_until(lambda: hub.pipeline.processed >= 4)

        page = await browser.new_page(viewport={"width": 1100, "height": 900})
        await log_in(page, ui_hub.url, household, "ana-password")
        assert page.url.endswith("/ui/household")
        cookie = next(c for c in await page.context.cookies() if c["name"] == "hub_session")
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Lax"

        power = page.locator('[data-key="fridge-plug|power|"]')
        await expect(power).to_have_text("12")
        await expect(page.locator('[data-key="fridge-plug|online"]')).to_have_text("online")
        await expect(page.locator('[data-key="kitchen|temperature|"]')).to_have_text("21.5")
        pantry = page.get_by_role("region", name="Pantry")
        await expect(pantry.get_by_role("row", name="milk")).to_contain_text("0.2 l")
        await expect(pantry.get_by_role("row", name="eggs")).to_contain_text("0 pcs")
        # Another household's device is not on the page.
        await expect(page.locator('[data-device="neighbours-plug"]')).to_have_count(0)
        await expect(page.locator("#live-state")).to_have_text("Live updates on.")

        pub.publish(f"home/{household}/plug/fridge-plug", b'{"power": 345}', qos=1).wait_for_publish(5)
        await expect(power).to_have_text("345", timeout=10_000)

        pub.publish(f"home/{household}/plug/fridge-plug", b'{"online": false}', qos=1).wait_for_publish(5)
        await expect(page.locator('[data-key="fridge-plug|online"]')).to_have_text("offline", timeout=10_000)

    # The small charts come from the telemetry history (flushed by its own thread).
    history = hub.components["history"]
    await wait_until(lambda: history.stats()["written"] >= 5)
    await page.reload()
    chart = page.locator('[data-device="fridge-plug"]').get_by_role("img")
    # 15-minute buckets over 24 h: 12 W and 345 W share one (mean 178.5 W, its min 12 W and
    # max 345 W) unless a boundary fell between them.
    await expect(chart).to_have_attribute(
        "aria-label",
        re.compile(r"^Power, 24 h: latest (178\.5|345) W, min 12 W, max 345 W$"))
    await expect(page.locator('[data-device="kitchen"]').get_by_role("img")).to_have_attribute(
        "aria-label", "Temperature, 24 h: latest 21.5 °C, min 21.5 °C, max 21.5 °C")
    await screenshot(page, "household-devices")
    await page.close()


async def test_the_stream_is_refused_without_a_session_and_scoped_with_one(
    ui_hub: UiHub, broker: Broker, household: str
) -> None:
    ui_hub.household(household, "ben-password")
    with client(broker.port) as (pub, _):
        pub.publish(f"home/{household}/plug/lamp", b'{"power": 7}', qos=1).wait_for_publish(5)
        pub.publish(f"home/{household}z/plug/secret", b'{"power": 8}', qos=1).wait_for_publish(5)
        await wait_until(lambda: ui_hub.hub.pipeline.processed >= 2)
    async with httpx.AsyncClient(base_url=ui_hub.url) as http:
        anonymous = await http.get("/ui/stream")
        assert anonymous.status_code == 303
        login = await http.post("/ui/login", data={"username": household, "password": "ben-password"})
        assert login.status_code == 303
        first = b""
        async with http.stream("GET", "/ui/stream") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            async with asyncio.timeout(5):
                async for chunk in response.aiter_bytes():
                    first += chunk
                    if b"event: devices" in first and first.endswith(b"\n\n"):
                        break
        assert b'"lamp|power|":[7,"W"]' in first
        assert b"secret" not in first



async def test_keyboard_only_login_and_landmarks(ui_hub: UiHub, browser: Browser, household: str) -> None:
    ui_hub.household(household, "kbd-password")
    page = await browser.new_page(viewport={"width": 390, "height": 800})
    await page.goto(ui_hub.url + "/ui/login")
    await expect(page.get_by_label("Username")).to_be_focused()
    await page.keyboard.type(household)
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Password")).to_be_focused()
    await page.keyboard.type("kbd-password")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert page.url.endswith("/ui/household")
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("main")).to_be_focused()
    await expect(page.get_by_role("banner")).to_have_count(1)
    await expect(page.get_by_role("navigation", name="Views")).to_have_count(1)
    await expect(page.get_by_role("main")).to_have_count(1)
    await expect(page.get_by_role("contentinfo")).to_have_count(1)
    for name in ("Devices", "Pantry", "Suggestions", "Calendar", "Gatherings and invitations",
                 "Notices for my area", "What I share"):
        await expect(page.get_by_role("region", name=name, exact=True)).to_have_count(1)
    # Nothing wider than a phone's screen.
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await page.close()


async def test_the_stream_is_bounded_and_ends_when_the_session_does(
    ui_hub: UiHub, household: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hub.dashboards import stream

    ui_hub.household(household, "sse-password")
    monkeypatch.setattr(stream, "HEARTBEAT_TICKS", 1)  # check the session every second
    async with httpx.AsyncClient(base_url=ui_hub.url) as http:
        await http.post("/ui/login", data={"username": household, "password": "sse-password"})
        monkeypatch.setattr(stream._Gauge, "open", stream.MAX_STREAMS)
        full = await http.get("/ui/stream")
        assert full.status_code == 503
        assert full.headers["retry-after"] == "5"
        monkeypatch.setattr(stream._Gauge, "open", 0)
        seen = b""
        async with http.stream("GET", "/ui/stream") as response:
            assert response.status_code == 200
            ui_hub.identity.logout(http.cookies["hub_session"])
            async with asyncio.timeout(10):
                async for chunk in response.aiter_bytes():
                    seen += chunk
        assert seen.endswith(b"event: logout\ndata: {}\n\n")
        assert stream._Gauge.open == 0
