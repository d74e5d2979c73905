"""The installable web app in Chromium: a valid manifest with icons, a service worker that
registers for /ui/ and serves the offline page when the network is gone; installable by
Chromium's own checks (DevTools ``Page.getInstallabilityErrors``)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from playwright.async_api import async_playwright, expect

from tests.dashboards.a11y import assert_accessible
from tests.dashboards.conftest import CHROMIUM, CHROMIUM_ARGS, UiHub


async def test_the_manifest_and_its_icons_are_valid(ui_hub: UiHub) -> None:
    async with httpx.AsyncClient(base_url=ui_hub.url) as http:
        answer = await http.get("/ui/manifest.webmanifest", headers={"Accept-Language": "zh-CN"})
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/manifest+json")
        m = answer.json()
        assert (m["name"], m["lang"], m["start_url"], m["scope"], m["display"]) == (
            "社区中心", "zh-Hans", "/ui/", "/ui/", "standalone")
        sizes = set()
        for icon in m["icons"]:
            png = await http.get(icon["src"])
            assert png.status_code == 200
            assert png.headers["content-type"] == "image/png"
            image = Image.open(io.BytesIO(png.content))
            assert f"{image.width}x{image.height}" == icon["sizes"]
            sizes.add((icon["sizes"], icon["purpose"]))
        assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
        worker = await http.get("/ui/sw.js")
        assert worker.status_code == 200
        assert worker.headers["content-type"].startswith("text/javascript")


async def test_chromium_installs_it_and_the_offline_page_is_served_offline(ui_hub: UiHub, tmp_path: Path) -> None:
    # A profile on disk: Chromium never offers to install from an incognito context.
    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 360, "height": 780})
        try:
            await _install_and_go_offline(ui_hub, context)
        finally:
            await context.close()


async def _install_and_go_offline(ui_hub: UiHub, context: Any) -> None:
    page = await context.new_page()
    await page.goto(ui_hub.url + "/ui/login")
    scope = await page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == ui_hub.url + "/ui/"

    cdp = await context.new_cdp_session(page)
    parsed = await cdp.send("Page.getAppManifest")
    assert parsed["url"] == ui_hub.url + "/ui/manifest.webmanifest"
    assert parsed["errors"] == []
    installability = await cdp.send("Page.getInstallabilityErrors")
    assert installability["installabilityErrors"] == []

    # The worker controls the page once it is claimed; then the network goes away.
    await page.reload()
    assert await page.evaluate("navigator.serviceWorker.controller !== null")
    await context.set_offline(True)
    await page.goto(ui_hub.url + "/ui/household")
    await expect(page.get_by_role("heading", level=1)).to_have_text("You are offline")
    await assert_accessible(page, "offline page at 360 px")
    await context.set_offline(False)
    await page.goto(ui_hub.url + "/ui/login")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
