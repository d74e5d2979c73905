"""Accessibility in a real browser: axe-core on the pages and states the story screenshots
do not reach (they are checked in the ``screenshot`` fixture), and Ana's morning by keyboard
alone: see the suggestion, pick a slot, accept, hear the result.
"""

from __future__ import annotations

from playwright.async_api import Browser, Locator, Page, expect

from hub.offers.service import OffersService
from tests.dashboards.a11y import assert_accessible
from tests.dashboards.conftest import PHONE, UiHub, log_in
from tests.dashboards.test_dashboards_story import FRIDGE_LOW, story  # noqa: F401  (fixture)


async def _both_widths(page: Page, where: str) -> None:
    await assert_accessible(page, where)
    size = page.viewport_size
    await page.set_viewport_size(PHONE)
    await assert_accessible(page, f"{where} at 360 px")
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], where
    if size:
        await page.set_viewport_size(size)


async def test_every_page_and_state_has_no_axe_violation(story: UiHub, browser: Browser) -> None:  # noqa: F811
    offers: OffersService = story.hub.components["offers"]
    page = await (await browser.new_context(viewport={"width": 1100, "height": 900})).new_page()
    await page.goto(story.url + "/ui/login")
    await _both_widths(page, "login")
    await page.get_by_label("Username").fill("h-ana")
    await page.get_by_label("Password").fill("wrong")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await _both_widths(page, "login with an error")

    await log_in(page, story.url, "h-ana", "ana-password")
    await _both_widths(page, "household, nothing yet")
    offers.sink.submit([FRIDGE_LOW])
    await page.reload()
    await expect(page.get_by_role("region", name="Suggestions").get_by_role("listitem")).to_have_count(1)
    await _both_widths(page, "household with a suggestion")
    for path in ("/ui/timebank", "/ui/projects", "/ui/community", "/ui/community/ledger"):
        await page.goto(story.url + path)
        await _both_widths(page, f"household: {path}")
    await page.goto(story.url + "/ui/provider")  # not for a household: the refusal page
    await expect(page.get_by_role("alert")).to_be_visible()
    await _both_widths(page, "refused")

    zh = await (await browser.new_context(locale="zh-CN")).new_page()
    await zh.goto(story.url + "/ui/login")
    await expect(zh.locator("html")).to_have_attribute("lang", "zh-Hans")
    await _both_widths(zh, "login in Chinese")

    story.identity.create_admin("riverside-admin", "admin-password", community="riverside")
    admin = await (await browser.new_context(viewport={"width": 1100, "height": 900})).new_page()
    await log_in(admin, story.url, "riverside-admin", "admin-password")
    for path in ("/ui/admin", "/ui/community", "/ui/community/ledger", "/ui/projects"):
        await admin.goto(story.url + path)
        await _both_widths(admin, f"admin: {path}")

    grocer = await (await browser.new_context(viewport={"width": 1100, "height": 900})).new_page()
    await log_in(grocer, story.url, "fresh-grocer", "grocer-password")
    for path in ("/ui/provider", "/ui/projects"):
        await grocer.goto(story.url + path)
        await _both_widths(grocer, f"provider: {path}")


async def _tab_to(page: Page, target: Locator, *, limit: int = 80) -> None:
    """Press Tab until ``target`` has the focus (as a keyboard user would), and check the
    focus is visible there."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await target.evaluate("el => el === document.activeElement"):
            outline = await target.evaluate("el => getComputedStyle(el).outlineStyle")
            assert outline != "none", "the keyboard focus is not visible"
            return
    raise AssertionError(f"Tab never reached {target}")


async def test_anas_morning_by_keyboard_alone(story: UiHub, browser: Browser) -> None:  # noqa: F811
    offers: OffersService = story.hub.components["offers"]
    page = await (await browser.new_context(viewport={"width": 1100, "height": 900})).new_page()
    await page.goto(story.url + "/ui/login")

    # The login form has the focus in Username; typed and sent by keyboard.
    await expect(page.get_by_label("Username")).to_be_focused()
    await page.keyboard.type("h-ana")
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Password")).to_be_focused()
    await page.keyboard.type("ana-password")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert page.url.endswith("/ui/household")
    # The first Tab reaches the skip link, visibly; it jumps to the content.
    await _tab_to(page, page.get_by_role("link", name="Skip to content"), limit=1)

    # The suggestion arrives live, and the polite live region says so.
    live = page.locator("#live-state")
    await expect(live).to_have_text("Live updates on.")
    assert await live.get_attribute("aria-live") == "polite"
    offers.sink.submit([FRIDGE_LOW])
    await expect(live).to_have_text("Suggestions and bookings updated.", timeout=10_000)

    # See the suggestion, pick the 18:00 slot with the arrow keys, accept with Enter.
    grocery = page.get_by_role("region", name="Suggestions").get_by_role("listitem").filter(
        has_text="Groceries running low: milk, eggs. Delivery?")
    slots = grocery.get_by_role("group", name="Pick a delivery slot")
    first = slots.get_by_role("radio").first
    await expect(first).to_be_checked()
    await _tab_to(page, first)
    wanted = slots.get_by_role("radio", name="Sat 18:00–19:00 · Fresh Grocer · 5 free", exact=True)
    for _ in range(await slots.get_by_role("radio").count()):
        if await wanted.is_checked():
            break
        await page.keyboard.press("ArrowDown")
    await expect(wanted).to_be_checked()
    await expect(wanted).to_be_focused()
    await _tab_to(page, grocery.get_by_role("button", name="Accept"))
    async with page.expect_navigation():
        await page.keyboard.press("Enter")

    # The result is announced: the flash sits in a polite live region.
    status = page.get_by_role("status").filter(has_text="Delivery booked.")
    await expect(status).to_have_attribute("aria-live", "polite")
    await expect(page.get_by_role("region", name="Calendar").locator(".booking.kind-grocery")).to_contain_text(
        "Sat 18:00–19:00")
