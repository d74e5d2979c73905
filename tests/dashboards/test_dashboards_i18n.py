"""The pages in the reader's language, on the real server (hub.i18n).

The login page follows ``Accept-Language``; a household whose language is Chinese sees its
page, suggestions, times (in its community's zone) and notices in Chinese, whatever the
browser asks for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect

from hub.clock import FakeClock
from hub.offers.seed import seed_story
from hub.offers.service import OffersService
from tests.conftest import Broker
from tests.dashboards.a11y import assert_accessible
from tests.dashboards.conftest import UiHub, log_in, running_hub
from tests.dashboards.test_dashboards_story import Action

SATURDAY = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(("header", "lang", "title", "label", "button"), [
    ("zh-CN,zh;q=0.9", "zh-Hans", "登录", "用户名", "登录"),
    ("de", "de", "Anmelden", "Benutzername", "Anmelden"),
    ("en-GB", "en", "Log in", "Username", "Log in"),
    ("fr", "en", "Log in", "Username", "Log in"),
])
async def test_the_login_page_speaks_the_browsers_language(
        ui_hub: UiHub, header: str, lang: str, title: str, label: str, button: str) -> None:
    async with httpx.AsyncClient(base_url=ui_hub.url) as http:
        answer = await http.get("/ui/login", headers={"Accept-Language": header})
    assert answer.status_code == 200
    assert answer.headers["content-language"] == lang
    assert "Accept-Language" in answer.headers["vary"]
    body = answer.text
    assert f'<html lang="{lang}">' in body
    assert f'<h1 id="login-title">{title}</h1>' in body
    assert f'<label for="username">{label}</label>' in body
    assert f'<button type="submit">{button}</button>' in body


def _cap(identifier: str) -> bytes:
    """A severe CAP alert with an English and a Chinese <info> block over Elm Street."""
    infos = ""
    for lang, event, headline, instruction in (
            ("en-GB", "Storm", "Severe storm tonight", "Stay indoors."),
            ("zh-CN", "暴风雨", "今晚有强烈暴风雨", "请留在室内。")):
        infos += (
            f"<info><language>{lang}</language><category>Met</category><event>{event}</event>"
            "<urgency>Expected</urgency><severity>Severe</severity><certainty>Likely</certainty>"
            "<onset>2026-11-28T17:00:00Z</onset><expires>2026-11-28T23:00:00Z</expires>"
            f"<headline>{headline}</headline><instruction>{instruction}</instruction>"
            "<area><areaDesc>Riverside</areaDesc>"
            "<polygon>52.0,4.9 52.0,5.1 52.1,5.1 52.1,4.9 52.0,4.9</polygon></area></info>")
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
            f"<identifier>{identifier}</identifier><sender>met@example.org</sender>"
            "<sent>2026-11-28T07:00:00Z</sent><status>Actual</status><msgType>Alert</msgType>"
            f"<scope>Public</scope>{infos}</alert>").encode()


@pytest.fixture
async def mei(broker: Broker, tmp_path: Path, topic_prefix: str) -> AsyncIterator[UiHub]:
    """Riverside in Asia/Shanghai time, Mei's household speaking Chinese, a grocer's slots."""
    clock = FakeClock(SATURDAY)
    async with running_hub(broker, tmp_path, topic_prefix, clock=clock) as ui:
        ui.identity.session_ttl_s = 24 * 3600.0
        seed_story(ui.hub.db, clock)
        ui.hub.db.execute("UPDATE communities SET time_zone = ? WHERE id = ?", ("Asia/Shanghai", "riverside"))
        ui.identity.create_household("h-mei", "riverside", "Mei", "Elm Street 14", 52.05, 5.0,
                                     language="zh", password="mei-password")
        ui.identity.create_provider("fresh-grocer", "riverside", "Fresh Grocer", ["grocery"],
                                    password="grocer-password")
        ui.identity.consent.grant("h-mei", "fresh-grocer", purpose="grocery_delivery",
                                  signals=["pantry_needs", "slot", "street_address"])
        yield ui


async def test_a_chinese_speaking_household_sees_its_page_in_chinese(mei: UiHub, browser: Browser) -> None:
    offers: OffersService = mei.hub.components["offers"]
    offers.sink.submit([Action(
        kind="suggest", household="h-mei", rule_id="pantry-low", pack="grocery", key="pantry-low:h-mei",
        title="Groceries running low: milk, eggs. Delivery?", message="milk 0.2 l, eggs 0 pcs.",
        data={"kind": "grocery", "items": [{"name": "milk", "qty": 0.2, "unit": "l"},
                                           {"name": "eggs", "qty": 0, "unit": "pcs"}]})])
    mei.notices.ingest_bytes(_cap("storm-1"), "riverside", "test")

    page = await (await browser.new_context(locale="en-US")).new_page()
    await log_in(page, mei.url, "h-mei", "mei-password")  # the login page is English for this browser
    await expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("我的家")
    await expect(page.get_by_role("navigation", name="视图").get_by_role("link", name="社区")).to_be_visible()
    await expect(page.get_by_role("contentinfo")).to_contain_text("时间为 Asia/Shanghai 时区。")

    suggestion = page.get_by_role("region", name="建议").get_by_role("listitem")
    await expect(suggestion.get_by_role("heading")).to_have_text("食品快用完了：牛奶、鸡蛋。需要送货吗？")
    await expect(suggestion).to_contain_text("牛奶 0.2 l、鸡蛋 0 pcs。请从您信任的杂货店选择送货时段。")
    slots = suggestion.get_by_role("group", name="选择送货时段")
    # The grocer's first slot, Saturday 09:00-10:00 UTC, in Shanghai time and in Chinese.
    await expect(slots.locator("label.slot").first).to_have_text("周六17:00–18:00 · Fresh Grocer · 剩余 5 个")
    await expect(suggestion.get_by_role("button", name="接受")).to_be_visible()

    notice = page.get_by_role("region", name="我所在区域的通知").get_by_role("listitem")
    await expect(notice.get_by_role("heading")).to_have_text("今晚有强烈暴风雨")
    await expect(notice).to_contain_text("暴风雨 · 严重 · 预计 · 自 周日01:00 至 周日07:00")
    await expect(notice).to_contain_text("应对措施： 请留在室内。")


async def test_a_one_tap_link_accepts_once_in_the_households_language_then_answers_410(
        mei: UiHub, browser: Browser) -> None:
    """An email's or push's accept link, on the real server and in Chromium, without a login."""
    offers: OffersService = mei.hub.components["offers"]
    offers.sink.submit([Action(
        kind="suggest", household="h-mei", rule_id="pantry-low", pack="grocery", key="pantry-low:h-mei",
        title="Groceries running low: milk. Delivery?",
        data={"kind": "grocery", "items": [{"name": "milk", "qty": 0.2, "unit": "l"}]})])
    [sug] = offers.suggestions.page("h-mei").items
    from hub.dashboards.links import links_of

    token = links_of(mei.hub).issue("h-mei", "accept_suggestion", f"{sug['id']}|fresh-grocer@2026-11-28T18:00:00Z")
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{mei.url}/ui/a/{token}")  # opening the link changes nothing
    await expect(page.get_by_role("heading", level=1)).to_have_text("食品快用完了：牛奶。需要送货吗？")
    await expect(page.get_by_text("时段：周日02:00 · fresh-grocer")).to_be_visible()
    assert offers.suggestions.get("h-mei", sug["id"]).state == "proposed"
    await assert_accessible(page, "one-tap link")
    async with page.expect_navigation():
        await page.get_by_role("button", name="接受").click()
    await expect(page.get_by_role("main")).to_contain_text("已接受建议。 时段：周日02:00 · fresh-grocer")
    assert offers.suggestions.get("h-mei", sug["id"]).state == "accepted"
    [booked] = mei.hub.db.query("SELECT taken FROM offer_slots WHERE id = ?", ("fresh-grocer@2026-11-28T18:00:00Z",))
    assert booked["taken"] == 1
    async with httpx.AsyncClient(base_url=mei.url, headers={"Accept-Language": "zh-CN"}) as http:
        again = await http.post(f"/ui/a/{token}")
        forged = await http.post(f"/ui/a/{token[:-3]}xyz")
    assert again.status_code == 410
    assert "此链接无法使用" in again.text
    assert "此链接已被使用" in again.text
    assert forged.status_code == 404
