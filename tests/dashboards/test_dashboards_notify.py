"""The notification preferences page in a real browser: axe-core clean at desktop and 360 px,
saved by keyboard alone; the unsubscribe link."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.dashboards.a11y import assert_accessible
from tests.dashboards.conftest import PHONE, UiHub, log_in
from tests.dashboards.test_dashboards_a11y import _tab_to
from tests.dashboards.test_dashboards_story import story  # noqa: F401  (fixture)


async def test_preferences_by_keyboard_at_phone_width(story: UiHub, browser: Browser) -> None:  # noqa: F811
    page = await (await browser.new_context(viewport=PHONE)).new_page()
    await log_in(page, story.url, "h-ana", "ana-password")
    await page.goto(story.url + "/ui/notifications")
    await assert_accessible(page, "notifications at 360 px")
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    email = page.get_by_label("Email address")
    await _tab_to(page, email)
    await page.keyboard.type("ana@example.org")
    await _tab_to(page, page.get_by_label("Suggestions"))
    await page.keyboard.press("Space")
    # A time field's spin buttons follow the browser's locale; the value is what matters.
    await page.get_by_label("From", exact=True).fill("22:00")
    await page.get_by_label("to", exact=True).fill("07:00")
    await _tab_to(page, page.get_by_role("button", name="Save"))
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await expect(page.locator("#flash")).to_contain_text("Your notification choices are saved.")
    notifier = story.hub.components["notifier"]
    account = story.hub.db.query_one("SELECT id FROM accounts WHERE username = 'h-ana'")["id"]
    prefs = notifier.prefs.get(account)
    assert (prefs.email, prefs.quiet_start, prefs.quiet_end) == ("ana@example.org", "22:00", "07:00")
    assert prefs.kinds == ("notice", "loan", "timebank", "project")  # Space unticked "Suggestions"

    # The email's unsubscribe link: one button, no login, then no more emails.
    token = notifier.unsubscribe_token(account)
    anon = await (await browser.new_context(viewport=PHONE)).new_page()
    await anon.goto(f"{story.url}/ui/unsubscribe/{token}")
    await assert_accessible(anon, "unsubscribe at 360 px")
    async with anon.expect_navigation():
        await anon.get_by_role("button", name="Unsubscribe").click()
    await expect(anon.get_by_role("heading", name="Unsubscribed")).to_be_visible()
    assert notifier.prefs.get(account).unsubscribed is True
