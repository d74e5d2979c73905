"""What people read is theirs: their language, their community's time zone, each other's names.

On the real HTTP server: a German and a Chinese household see the one-time messages of their
actions (flash), the text labels of the SVG charts and maps, and the CAP severity and urgency
words of a notice in their language, and neighbours by name, not by id. In a real browser,
by keyboard and at 360 px: the community admin sets the time zone; a name that is not an
IANA zone is refused beside the field, with what was typed kept, and changes nothing.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Browser, expect

from hub.events import Reading
from hub.offers.gatherings import Place
from hub.offers.seed import seed_story
from hub.offers.service import OffersService
from tests.conftest import Broker
from tests.dashboards.conftest import UiHub, log_in, running_hub
from tests.dashboards.test_dashboards_story import Action
from tests.mqtt_helpers import client, wait_until

CSRF = re.compile(r'<meta name="csrf-token" content="([0-9a-f]+)">')


def _storm(identifier: str, onset: datetime) -> bytes:
    """A severe, expected storm over Riverside, in English only (the sender's own words)."""
    end = onset + timedelta(hours=6)
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
            f"<identifier>{identifier}</identifier><sender>met@example.org</sender>"
            f"<sent>{onset.isoformat()}</sent><status>Actual</status><msgType>Alert</msgType>"
            "<scope>Public</scope><info><language>en-GB</language><category>Met</category>"
            "<event>Storm</event><urgency>Expected</urgency><severity>Severe</severity>"
            f"<certainty>Likely</certainty><onset>{onset.isoformat()}</onset>"
            f"<expires>{end.isoformat()}</expires><headline>Severe storm tonight</headline>"
            "<area><areaDesc>Riverside</areaDesc>"
            "<polygon>52.0,4.9 52.0,5.1 52.1,5.1 52.1,4.9 52.0,4.9</polygon></area></info></alert>").encode()


@pytest.fixture
async def street(broker: Broker, tmp_path: Path, topic_prefix: str) -> AsyncIterator[UiHub]:
    """Riverside (Berlin time) with Ana, Lena who reads German and Mei who reads Chinese,
    each with a fridge plug that reported a day of power; a storm notice; Ana's gathering."""
    async with running_hub(broker, tmp_path, topic_prefix) as ui:
        hub = ui.hub
        seed_story(hub.db, hub.clock)
        hub.db.execute("UPDATE communities SET time_zone = ? WHERE id = ?", ("Europe/Berlin", "riverside"))
        ui.identity.create_household("h-ana", "riverside", "Ana", "Elm Street 12", password="ana-password")
        for hid, name, language in (("h-lena", "Lena", "de"), ("h-mei", "Mei", "zh")):
            ui.identity.create_household(hid, "riverside", name, "Elm Street 14", 52.05, 5.0,
                                         language=language, password=f"{name.lower()}-password")
        ui.identity.create_admin("riverside-admin", "admin-password", community="riverside")
        with client(broker.port) as (pub, _):
            for hid in ("h-lena", "h-mei"):
                pub.publish(f"home/{hid}/plug/fridge-plug", b'{"power": 150, "online": true}',
                            qos=1).wait_for_publish(5)
            await wait_until(lambda: all(hub.twin.device(h, "fridge-plug") is not None
                                         for h in ("h-lena", "h-mei")), within=20)
        now = time.time()
        for hid in ("h-lena", "h-mei"):
            for k in range(96):  # a reading every 15 min for a day: 120 W, one of 180 W
                at = now - 86_400 + 900 * k + 60
                power = 180.0 if k == 40 else 120.0
                hub.history.write(hid, [Reading(device="fridge-plug", metric="power", value=power, unit="W")], at)
        hub.history.flush()
        onset = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
        ui.notices.ingest_bytes(_storm("storm-texts", onset), "riverside", "test")
        offers: OffersService = hub.components["offers"]
        offers.gatherings.create("h-ana", title="Fishing at the lake", starts_at=onset,
                                 ends_at=onset + timedelta(hours=2), capacity=6, place=Place(label="Lake Pier"),
                                 invite=["h-lena", "h-mei"], suggestion=None, actor="household:h-ana")
        for hid in ("h-lena", "h-mei"):
            offers.sink.submit([Action(
                kind="suggest", household=hid, rule_id="pantry-low", pack="grocery", key=f"pantry-low:{hid}",
                title="Groceries running low: milk. Delivery?",
                data={"kind": "grocery", "items": [{"name": "milk", "qty": 0.2, "unit": "l"}]})])
        yield ui


async def _logged_in(http: httpx.AsyncClient, username: str, password: str) -> str:
    """Log in through the form; the CSRF token of the page it lands on."""
    answer = await http.post("/ui/login", data={"username": username, "password": password})
    assert answer.status_code == 303, answer.text
    home = await http.get(answer.headers["location"])
    found = CSRF.search(home.text)
    assert found is not None
    return found.group(1)


def _text(body: str) -> str:
    """A page's text with tags removed and entities decoded (what a reader reads)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


#: language -> what each kind of text reads like in it
WORDS = {
    "de": {"user": "h-lena", "password": "lena-password", "declined": "Vorschlag abgelehnt.",
           "seats": "Plätze: eine Zahl von 1 bis 50", "wrong": "falscher Benutzername oder falsches Passwort",
           "chart": r"Leistung, 24 h: zuletzt [\d.,]+ W, Minimum 120 W, Maximum 180 W",
           "map": "Karte der betroffenen Gebiete: Riverside", "severity": "Schwer", "urgency": "Erwartet",
           "role": "(Haushalt)", "host": "Gastgeber: Ana", "zone": "Europe/Berlin"},
    "zh": {"user": "h-mei", "password": "mei-password", "declined": "已拒绝建议。",
           "seats": "座位数：1 到 50 之间的数字", "wrong": "用户名或密码错误",
           "chart": r"功率，24 小时：最新 [\d.,]+ W，最低 120 W，最高 180 W",
           "map": "受影响区域地图：Riverside", "severity": "严重", "urgency": "预计",
           "role": "(住户)", "host": "主办人：Ana", "zone": "Europe/Berlin"},
}


@pytest.mark.parametrize("language", ["de", "zh"])
async def test_flash_messages_chart_labels_and_cap_words_are_in_the_households_language(
        street: UiHub, language: str) -> None:
    words = WORDS[language]
    offers: OffersService = street.hub.components["offers"]
    async with httpx.AsyncClient(base_url=street.url, headers={"Accept-Language": "en"}) as http:
        csrf = await _logged_in(http, words["user"], words["password"])
        page = await http.get("/ui/household")
        assert page.status_code == 200
        assert page.headers["content-language"] == {"de": "de", "zh": "zh-Hans"}[language]
        text = _text(page.text)

        # The chart's text label (what a screen reader says) and the notice map's.
        labels = re.findall(r'role="img" aria-label="([^"]*)"', page.text)
        assert any(re.fullmatch(words["chart"], html.unescape(label)) for label in labels), labels
        assert words["map"] in [html.unescape(label) for label in labels]
        # CAP words of the notice, and the household's role in the header.
        notice = re.search(r'<li class="notice severity-severe">.*?<p class="meta">(.*?)</p>', page.text, re.S)
        assert notice is not None
        meta = _text(notice.group(1))
        assert words["severity"] in meta
        assert words["urgency"] in meta
        assert "Severe" not in meta
        assert "Expected" not in meta
        assert words["role"] in text
        # Neighbours by name: Ana hosts the gathering, and her id is nowhere on the page.
        assert words["host"] in text
        assert "h-ana" not in text
        assert words["zone"] in text

        # A flash message of an action that worked, and of one refused.
        [sug] = offers.suggestions.page(words["user"]).items
        done = await http.post(f"/ui/suggestions/{sug['id']}/decline", data={"csrf": csrf})
        assert done.status_code == 303
        after = _text((await http.get("/ui/household")).text)
        assert words["declined"] in after
        assert "Suggestion declined." not in after
        refused = await http.post(f"/ui/suggestions/{sug['id']}/gather",
                                  data={"csrf": csrf, "sitting": "x", "seats": "99"})
        assert refused.status_code == 303
        assert words["seats"] in _text((await http.get("/ui/household")).text)

    async with httpx.AsyncClient(base_url=street.url,
                                 headers={"Accept-Language": {"de": "de-DE", "zh": "zh-CN"}[language]}) as http:
        wrong = await http.post("/ui/login", data={"username": words["user"], "password": "not-the-password"})
    assert wrong.status_code == 401
    assert words["wrong"] in _text(wrong.text)


async def test_the_admin_sets_the_time_zone_by_keyboard_and_a_bad_name_is_refused_beside_the_field(
        street: UiHub, browser: Browser, screenshot: Callable[..., Any]) -> None:
    hub = street.hub
    admin = await (await browser.new_context(viewport={"width": 1100, "height": 900})).new_page()
    await log_in(admin, street.url, "riverside-admin", "admin-password")
    assert admin.url.endswith("/ui/admin")
    field = admin.get_by_label("Community time zone (IANA name)")
    await expect(field).to_have_value("Europe/Berlin")

    # Keyboard only: into the field, replace what is there, Enter submits.
    await field.focus()
    await admin.keyboard.press("Control+A")
    await admin.keyboard.type("Mars/Olympus_Mons")
    async with admin.expect_navigation() as nav:
        await admin.keyboard.press("Enter")
    assert (await nav.value).status == 422
    await expect(field).to_have_value("Mars/Olympus_Mons")  # what was typed is kept
    await expect(field).to_have_attribute("aria-invalid", "true")
    await expect(field).to_be_focused()
    error = admin.get_by_role("alert").filter(has_text="time zone:")
    await expect(error).to_have_text(
        "time zone: Mars/Olympus_Mons is not an IANA time zone name (such as Europe/Berlin)")
    assert await field.get_attribute("aria-describedby") == "tz-help tz-error"
    assert hub.db.query_one("SELECT time_zone FROM communities WHERE id = 'riverside'")["time_zone"] == "Europe/Berlin"
    await screenshot(admin, "admin-time-zone-refused")

    await admin.keyboard.press("Control+A")
    await admin.keyboard.type("Asia/Tokyo")
    async with admin.expect_navigation():
        await admin.keyboard.press("Enter")
    await expect(admin.locator("#flash")).to_have_text("Times are now shown in Asia/Tokyo.")
    await expect(admin.get_by_role("contentinfo")).to_contain_text("Times are in Asia/Tokyo.")
    await expect(field).to_have_value("Asia/Tokyo")
    assert hub.db.query_one("SELECT time_zone FROM communities WHERE id = 'riverside'")["time_zone"] == "Asia/Tokyo"

    # Every page of the community follows: the storm's onset on the community page.
    [notice] = street.notices.active(community="riverside")
    onset = datetime.fromisoformat(str(notice.marshal()["onset"]).replace("Z", "+00:00"))
    tokyo = onset.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%H:%M")
    await admin.goto(f"{street.url}/ui/community")
    await expect(admin.get_by_role("region", name="Active notices")).to_contain_text(tokyo)
    async with httpx.AsyncClient(base_url=street.url) as http:
        await _logged_in(http, "h-lena", "lena-password")
        assert "Asia/Tokyo" in _text((await http.get("/ui/household")).text)


async def test_a_refused_sharing_action_is_flashed_in_the_readers_language(street: UiHub) -> None:
    """Lena reads German: a refusal of the sharing service (a domain error, not a page's own
    sentence) is flashed in German, and the photo upload's refusal is German too; the browser's
    English Accept-Language loses to her setting. Ana reads the English."""
    async with httpx.AsyncClient(base_url=street.url, headers={"Accept-Language": "en"}) as http:
        csrf = await _logged_in(http, "h-lena", "lena-password")
        refused = await http.post("/ui/sharing/things/t-nope/withdraw", data={"csrf": csrf})
        assert refused.status_code == 303
        after = _text((await http.get(refused.headers["location"])).text)
        photo = await http.post("/ui/sharing/things/t-nope/photos", content=b"\x89PNG",
                                headers={"X-CSRF-Token": csrf, "Content-Type": "image/png"})
    assert "kein Gegenstand t-nope von Ihnen" in after
    assert photo.status_code == 422  # the image is checked before the thing is looked up
    assert photo.json()["detail"].startswith("kein lesbares JPEG-, PNG- oder WebP-Bild (")
    async with httpx.AsyncClient(base_url=street.url) as http:  # Ana reads English
        csrf = await _logged_in(http, "h-ana", "ana-password")
        refused = await http.post("/ui/sharing/things/t-nope/withdraw", data={"csrf": csrf})
        after = _text((await http.get(refused.headers["location"])).text)
    assert "no thing t-nope of yours" in after
    assert "kein Gegenstand" not in after  # Lena's language stays hers
