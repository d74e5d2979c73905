"""What a person expects to see: names, local times and a real 24 h chart (real browser)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from playwright.async_api import Browser, expect

from hub.dashboards import localtime
from hub.events import Reading
from tests.dashboards.conftest import log_in, screenshot  # noqa: F401  (the screenshot fixture)
from tests.homes.conftest import Embedded
from tests.mqtt_helpers import client, wait_until

AMS = ZoneInfo("Europe/Amsterdam")


def test_local_times_are_shown_and_read_in_the_community_zone() -> None:
    assert localtime.show("2026-12-06T17:00:00Z", AMS, "%H:%M") == "18:00"
    assert localtime.show("2026-07-06T17:00:00Z", AMS, "%H:%M") == "19:00"  # summer time
    assert localtime.read_local("2026-12-06T18:00", AMS) == datetime(2026, 12, 6, 17, tzinfo=UTC)
    assert localtime.read_local("2026-12-06T18:00+00:00", AMS) == datetime(2026, 12, 6, 18, tzinfo=UTC)
    assert localtime.zone_label(localtime.zone_named("Nowhere/Atlantis")) == "UTC"
    assert localtime.show("not a time", AMS) == "not a time"


async def test_the_household_page_shows_names_local_times_and_a_24_hour_chart(
    embedded: Embedded, browser: Browser, household: str, screenshot: Callable[..., Any]  # noqa: F811
) -> None:
    hub = embedded.hub
    creds = hub.identity.create_household(household, "lakeside", "Ana Alvarez", "1 River Lane",
                                          password="ana-password")
    hub.db.execute("UPDATE communities SET time_zone = ? WHERE id = ?", ("Europe/Amsterdam", "lakeside"))
    # The plug reports through the real path (its gateway login), then 24 h of history:
    # every 5 minutes, with the plug off the network from 8 to 4 hours ago (a gap).
    with client(embedded.mqtt_port, client_id=creds.mqtt_username, username=creds.mqtt_username,
                password=creds.mqtt_password) as (gw, _):
        gw.publish(f"home/{household}/tele/washer/SENSOR",
                   json.dumps({"ENERGY": {"Power": 150, "Total": 12.5}}), qos=1).wait_for_publish(5)
        await wait_until(lambda: hub.twin.device(household, "washer") is not None, within=20)
    now = time.time()
    for k in range(288):
        at = now - 86_400 + 300 * k + 1
        if 4 * 3600 < now - at < 8 * 3600:
            continue
        power = 2000.0 if k % 24 == 0 else 100.0 + (k % 12) * 10
        hub.history.write(household, [Reading(device="washer", metric="power", value=power, unit="W")], at)
    hub.history.flush()

    page = await browser.new_page(viewport={"width": 1000, "height": 900})
    await log_in(page, embedded.url, household, "ana-password")
    await expect(page.get_by_role("heading", level=1)).to_have_text("My home Ana Alvarez")
    await expect(page.locator(".who")).to_contain_text("Ana Alvarez")
    assert household not in (await page.get_by_role("main").text_content() or "")
    await expect(page.get_by_role("contentinfo")).to_contain_text("Times are in Europe/Amsterdam.")

    washer = page.locator('[data-device="washer"]')
    # The latest bucket holds the live 150 W and maybe the last written sample: its mean.
    chart = washer.get_by_role("img", name=re.compile(r"^Power, 24 h: latest \d+(\.\d+)? W, min 100 W, max 2,000 W$"))
    await expect(chart).to_be_visible()
    # The gap splits the line into two runs, each with its min-max band.
    await expect(chart.locator("polyline")).to_have_count(2)
    await expect(chart.locator("polygon.band")).to_have_count(2)
    # Labelled in local time, from the first 15-minute bucket of the last 24 h.
    # The page's "now" lies between the test's `now` and this moment: a 15-minute boundary may
    # fall in between on a slow machine, so the first bucket is one of those two.
    starts = {localtime.show((t - 86_400) // 900 * 900, AMS, "%H:%M") for t in (now, time.time())}
    caption = washer.locator("figcaption", has_text="Power, 24 h")
    await expect(caption).to_contain_text(re.compile("|".join(f"{s}–" for s in starts)))
    await screenshot(page, "household-24h-local")

    # The device can be renamed, and its new name is what the page shows.
    await page.get_by_text("Rename or remove washer").click()
    await page.get_by_label("New name").fill("Washing machine")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Rename").click()
    await expect(page.get_by_role("heading", name="Washing machine", exact=True)).to_be_visible()
