"""The sharing pages in a real browser (Debian's Chromium) on a real hub: list a thing
with a photo, find it in the library, ask, accept, see the loan in the calendar; by
keyboard, at 360 px, with hostile titles shown as text."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image
from playwright.async_api import Browser, Page, expect

from tests.dashboards.conftest import UiHub, log_in

HOSTILE = '<img src=x onerror="window.pwned=1">Ladder'


def _png() -> bytes:
    image = Image.new("RGB", (640, 400), (30, 110, 200))
    for x in range(0, 640, 40):
        for y in range(0, 400, 40):
            image.putpixel((x, y), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def _fits(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    wide = await page.evaluate("""[...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > 361)
        .map(e => e.tagName + '.' + e.className).slice(0, 5)""")
    assert width <= 360, f"{page.url} is {width} px wide at a 360 px viewport: {wide}"


async def test_list_find_borrow_accept_and_see_the_loan(ui_hub: UiHub, browser: Browser,
                                                        topic_prefix: str,
                                                        screenshot: Callable[..., Any]) -> None:
    ana, chen = f"{topic_prefix}-ana", f"{topic_prefix}-chen"
    ui_hub.household(ana, "ana-password", street="Elm Street 12", lat=52.0225, lon=5.0)
    ui_hub.household(chen, "chen-password", street="Mill Lane 3", lat=52.0, lon=5.0)
    start = (datetime.now(UTC) + timedelta(days=1)).replace(hour=10, minute=0, second=0,
                                                            microsecond=0)

    owner = await browser.new_page(viewport={"width": 1100, "height": 900})
    await log_in(owner, ui_hub.url, chen, "chen-password")
    await owner.get_by_role("link", name="My things").click()
    form = owner.get_by_role("region", name="List a thing")
    await form.get_by_label("Title").fill("Cordless drill")
    await form.get_by_label("Mode").select_option("lend")
    await form.get_by_label("Category").select_option("tools")
    await form.get_by_label("Description").fill("18 V, two batteries")
    await form.get_by_label("Pickup place").fill("Mill Lane 3, blue shed")
    async with owner.expect_navigation():
        await form.get_by_role("button", name="List it").click()
    await expect(owner.locator("#flash")).to_have_text("Listed Cordless drill.")
    await form.get_by_label("Title").fill(HOSTILE)
    async with owner.expect_navigation():
        await form.get_by_role("button", name="List it").click()

    # A photo through the page's upload form: checked, re-encoded, then shown.
    mine = owner.get_by_role("region", name="What I share").get_by_role("listitem").filter(
        has_text="Cordless drill")
    await mine.get_by_label("Add a photo").set_input_files(
        files=[{"name": "drill.png", "mimeType": "image/png", "buffer": _png()}])
    async with owner.expect_navigation():
        await mine.get_by_role("button", name="Upload").click()
    photo = owner.get_by_role("img", name="Photo of")
    await expect(photo).to_have_count(1)
    assert await photo.evaluate("img => img.naturalWidth") == 640

    borrower = await browser.new_page(viewport={"width": 1100, "height": 900})
    await log_in(borrower, ui_hub.url, ana, "ana-password")
    await borrower.get_by_role("link", name="Library").click()
    library = borrower.get_by_role("region", name="Things to borrow, take or swap")
    await expect(library.get_by_role("heading", name="Cordless drill")).to_be_visible()
    await expect(library.get_by_role("img", name="Photo of Cordless drill")).to_be_visible()
    # The hostile title is text, not markup; no script ran.
    await expect(library.get_by_role("heading", name=HOSTILE)).to_be_visible()
    assert await borrower.evaluate("window.pwned === undefined")
    # Before acceptance, Ana sees Chen's street only.
    card = library.get_by_role("listitem").filter(has_text="Cordless drill")
    await expect(card).to_contain_text("Mill Lane")
    await expect(card).not_to_contain_text("blue shed")

    # The search form, then the borrow form, by keyboard only.
    await borrower.get_by_label("Search").focus()
    await borrower.keyboard.type("drill")
    async with borrower.expect_navigation():
        await borrower.keyboard.press("Enter")
    await expect(library.get_by_role("heading", name=HOSTILE)).to_have_count(0)
    await screenshot(borrower, "sharing-library")
    await card.get_by_label("From").fill(start.strftime("%Y-%m-%dT%H:%M"))
    await card.get_by_label("Until").fill((start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    await card.get_by_label("Until").focus()
    # Tab walks the date field's parts, then reaches the button.
    for _ in range(12):
        await borrower.keyboard.press("Tab")
        if await borrower.evaluate("document.activeElement.textContent") == \
                "Ask to borrow Cordless drill":
            break
    assert await borrower.evaluate("document.activeElement.textContent") == \
        "Ask to borrow Cordless drill"
    async with borrower.expect_navigation():
        await borrower.keyboard.press("Enter")
    await expect(borrower.locator("#flash")).to_have_text(f"Asked {chen.title()} for Cordless drill.")

    # Chen accepts on Requests, by keyboard.
    await owner.goto(f"{ui_hub.url}/ui/requests")
    accept = owner.get_by_role("button", name=f"Accept: lend Cordless drill to {ana.title()}")
    await accept.focus()
    async with owner.expect_navigation():
        await owner.keyboard.press("Enter")
    await expect(owner.locator("#flash")).to_have_text(f"Lending Cordless drill to {ana.title()}.")

    # Now Ana sees the exact place, and the loan sits in her calendar.
    await borrower.goto(f"{ui_hub.url}/ui/loans")
    borrowed = borrower.get_by_role("region", name="Borrowed")
    await expect(borrowed.locator(".pickup")).to_have_text("Mill Lane 3, blue shed")
    await borrower.goto(f"{ui_hub.url}/ui/household")
    calendar = borrower.get_by_role("region", name="Calendar")
    loan = calendar.get_by_role("listitem").filter(has_text="Borrowing Cordless drill")
    await expect(loan).to_contain_text("Loan")
    await expect(loan).to_contain_text(start.strftime("%a %H:%M"))
    await screenshot(borrower, "sharing-loan-calendar")

    # Both confirm the handover from Borrowed and lent.
    for page, region in ((borrower, "Borrowed"), (owner, "Lent")):
        await page.goto(f"{ui_hub.url}/ui/loans")
        async with page.expect_navigation():
            await page.get_by_role("region", name=region).get_by_role(
                "button", name="Confirm handover of Cordless drill").click()
    await expect(owner.locator("#flash")).to_have_text("Handover confirmed. It is out.")

    # At phone width every sharing page fits without sideways scrolling.
    await borrower.set_viewport_size({"width": 360, "height": 740})
    for path in ("/ui/library", "/ui/things", "/ui/loans", "/ui/requests"):
        await borrower.goto(f"{ui_hub.url}{path}")
        await _fits(borrower)


async def test_an_idle_plug_is_shared_in_one_tap_from_the_household_page(
        ui_hub: UiHub, browser: Browser, topic_prefix: str) -> None:
    ben = f"{topic_prefix}-ben"
    ui_hub.household(ben, "ben-password", street="Elm Street 30", lat=52.023, lon=5.002)
    hub = ui_hub.hub
    now = hub.clock.timestamp()
    with hub.db.transaction() as conn:
        conn.execute("INSERT INTO devices (household, device, kind, name, metrics, first_seen,"
                     " last_seen) VALUES (?, 'carpet-cleaner', 'plug', 'carpet-cleaner', '[]', ?,"
                     " ?)", (ben, now - 61 * 86400, now))
        conn.execute("INSERT INTO device_state (household, device, metric, channel, value, unit,"
                     " updated_at) VALUES (?, 'carpet-cleaner', 'power', '', '0', 'W', ?)",
                     (ben, now))
    hub.sharing.run_due()

    page = await browser.new_page(viewport={"width": 360, "height": 740})
    await log_in(page, ui_hub.url, ben, "ben-password")
    suggestions = page.get_by_role("region", name="Suggestions")
    title = "Your carpet cleaner has not been used for 61 days. Share it?"
    await expect(suggestions.get_by_role("heading", name=title)).to_be_visible()
    share = suggestions.get_by_role("button", name="List Carpet cleaner in the library")
    await share.focus()
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await expect(page.locator("#flash")).to_have_text("Listed Carpet cleaner.")
    mine = page.get_by_role("region", name="What I share")
    await expect(mine.get_by_role("heading", name="Carpet cleaner")).to_be_visible()
    await page.goto(f"{ui_hub.url}/ui/household")
    await expect(page.get_by_role("region", name="Suggestions")).to_contain_text("No open suggestions.")
    await _fits(page)
