"""The time bank, projects and open-ledger pages in a real browser at phone width (360 px),
driven by keyboard where a person would: the bike repair recorded and confirmed, a pledge
moving a project's progress bar, the chain head shown as ``hub ledger verify`` prints it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from ledger_fixtures import Live, screenshot_dir

from hub.ledger import verify_ledger

pytestmark = pytest.mark.timeout(180)

PHONE = {"width": 360, "height": 780}


async def login(browser: Any, live: Live, user: str) -> Any:
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    await page.goto(f"{live.url}/ui/login")
    await page.get_by_label("Username").fill(user)
    await page.get_by_label("Password").fill(f"{user}-password")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Log in").click()
    return page


async def fits_phone(page: Any) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways at 360 px ({width} px)"


async def test_bike_repair_pledge_and_ledger_in_the_browser(live: Live, browser: Any,
                                                            tmp_path: Path) -> None:
    shots = screenshot_dir(tmp_path)
    ana = await login(browser, live, "h-ana")
    await ana.goto(f"{live.url}/ui/timebank")
    await fits_phone(ana)
    assert (await ana.get_by_test_id("balance").inner_text()) == "+0.00 h"
    await ana.get_by_label("Who helped").select_option("h-chen")
    await ana.get_by_label("Hours").fill("1.5")
    await ana.get_by_label("What for").fill("fixed my bike <b>brakes</b>")
    await ana.get_by_label("What for").focus()
    async with ana.expect_navigation():
        await ana.keyboard.press("Enter")  # the form submits from the keyboard
    assert "waiting for Chen to confirm" in await ana.locator("#flash").inner_text()

    chen = await login(browser, live, "h-chen")
    await chen.goto(f"{live.url}/ui/timebank")
    confirm = chen.get_by_role("button", name="Confirm 1.5 h from Ana")
    await confirm.focus()
    async with chen.expect_navigation():
        await chen.keyboard.press("Enter")
    assert "confirmed" in await chen.locator("#flash").inner_text()
    assert (await chen.get_by_test_id("balance").inner_text()) == "+1.50 h"

    await ana.goto(f"{live.url}/ui/timebank")
    assert (await ana.get_by_test_id("balance").inner_text()) == "-1.50 h"
    row = ana.locator("#statement tbody tr").first
    assert "fixed my bike <b>brakes</b>" in await row.inner_text()  # shown as text, escaped
    await fits_phone(ana)
    await ana.screenshot(path=str(shots / "timebank-balance.png"), full_page=True)

    # Ben proposes the pellet order; Chen pledges by API, Ana by the page.
    ben = await asyncio.to_thread(live.client, "h-ben")
    chen_api = await asyncio.to_thread(live.client, "h-chen")
    with ben, chen_api:
        made = await asyncio.to_thread(ben.post, "/projects", json={
            "title": "Heating pellets, bulk", "goal_pledges": 6,
            "deadline": "2030-12-06T18:00:00Z", "provider": "fresh-grocer",
            "description": "6 households needed by Friday"})
        pid = made.json()["id"]
        await asyncio.to_thread(chen_api.post, f"/projects/{pid}/pledges", json={"amount": 1})
    await ana.goto(f"{live.url}/ui/projects")
    bar = ana.get_by_role("progressbar", name="Pledges for Heating pellets, bulk")
    assert await bar.get_attribute("aria-valuenow") == "1"
    pledge = ana.get_by_role("button", name="Pledge to Heating pellets, bulk")
    await pledge.focus()
    async with ana.expect_navigation():
        await ana.keyboard.press("Enter")
    assert await bar.get_attribute("aria-valuenow") == "2"
    assert "2 of 6 pledges" in await ana.locator(f"#project-{pid}").inner_text()
    await fits_phone(ana)
    await ana.screenshot(path=str(shots / "project-progress.png"), full_page=True)

    grocer = await login(browser, live, "fresh-grocer")
    await grocer.goto(f"{live.url}/ui/projects")
    await fits_phone(grocer)
    await grocer.get_by_label("My price").fill("1450")
    async with grocer.expect_navigation():
        await grocer.get_by_role("button", name="Bid on Heating pellets, bulk").click()
    assert "1 bid so far" in await grocer.locator("#flash").inner_text()
    assert "fresh-grocer 1450.00" in await grocer.locator(f"#project-{pid}").inner_text()

    await ana.goto(f"{live.url}/ui/community/ledger")
    head = verify_ledger(live.hub.db).head
    assert (await ana.get_by_test_id("head").inner_text()) == head
    assert (await ana.get_by_test_id("sum").inner_text()) == "0.00 h"
    assert (await ana.get_by_test_id("entries").inner_text()) == "1"
    await fits_phone(ana)

    admin = await login(browser, live, "riverside-admin")
    await admin.goto(f"{live.url}/ui/community/ledger")
    await fits_phone(admin)
    await admin.get_by_label("Credit limit (hours, 0 or below)").fill("-8")
    await admin.get_by_label("Welcome grant (hours for a new account)").fill("1")
    async with admin.expect_navigation():
        await admin.get_by_role("button", name="Save").click()
    assert "Credit limit -8 h, welcome grant 1 h" in await admin.locator("#flash").inner_text()
    await admin.get_by_label("Credit limit (hours, 0 or below)").fill("5")
    async with admin.expect_navigation():
        await admin.get_by_role("button", name="Save").click()
    assert "credit_limit must be 0 or negative" in await admin.locator("#flash").inner_text()
    assert live.hub.components["timebank"].settings("riverside")["credit_limit"] == -8
