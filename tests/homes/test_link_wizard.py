"""Link a Tasmota plug yourself, in a real browser, on the real broker with dynamic security."""

from __future__ import annotations

import json
import re

from playwright.async_api import Browser, expect

from tests.dashboards.conftest import log_in
from tests.homes.conftest import Embedded, try_login
from tests.mqtt_helpers import client, wait_until

PLUG = {"Time": "2026-12-06T21:00:00", "ENERGY": {"Total": 1.25, "Power": 45, "Voltage": 231, "Current": 0.2}}


async def test_a_household_links_a_tasmota_plug_and_revokes_its_login(
    embedded: Embedded, browser: Browser, household: str
) -> None:
    hub = embedded.hub
    hub.identity.create_household(household, "riverside", "Ana", "1 River Lane", password="ana-password")
    hub.identity.create_admin("riverside-admin", "admin-password-1", community="riverside")

    page = await browser.new_page(viewport={"width": 360, "height": 800})
    await log_in(page, embedded.url, household, "ana-password")
    await page.get_by_role("link", name="Add a device or a home broker").click()
    await page.get_by_label("Tasmota").check()
    await page.get_by_label("A name for it").fill("Kitchen plug")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Get a login and the settings").click()

    username = (await page.locator("#cred-username").text_content() or "").strip()
    password = (await page.locator("#cred-password").text_content() or "").strip()
    snippet = await page.locator("#snippet").text_content() or ""
    assert re.fullmatch(r"ln-[0-9a-f]{16}", username)
    assert len(password) >= 40
    assert snippet.startswith(f"Backlog MqttHost 127.0.0.1; MqttPort {embedded.mqtt_port}; MqttUser {username};"
                              f" MqttPassword {password}; MqttClient {username}; Topic kitchen_plug;")
    assert snippet.endswith(f"FullTopic home/{household}/%prefix%/%topic%/")
    status = page.locator("#link-status")
    await expect(status).to_have_text("Waiting for the first message…")

    # The plug, configured by that Backlog line: its login, its client id, its FullTopic.
    with client(embedded.mqtt_port, client_id=username, username=username, password=password) as (plug, _):
        plug.publish(f"home/{household}/tele/kitchen_plug/SENSOR", json.dumps(PLUG), qos=1).wait_for_publish(5)
        await expect(status).to_have_text("Linked: 1 device found.", timeout=20_000)
        await expect(page.locator("#link-devices")).to_contain_text("kitchen_plug")

    # Shown once: the list of logins never shows the secret again.
    await page.goto(embedded.url + "/ui/household/devices/add")
    links = page.get_by_role("region", name="Your logins")
    await expect(links).to_contain_text(username)
    await expect(links).to_contain_text("linked")
    assert password not in await page.content()

    await page.goto(embedded.url + "/ui/household")
    await expect(page.locator('[data-key="kitchen_plug|power|"]')).to_have_text("45")
    await expect(page.locator('[data-key="kitchen_plug|energy|"]')).to_have_text("1.25")

    # Revoke: the broker refuses the login from now on.
    assert not try_login(embedded.mqtt_port, username, password).is_failure
    await page.goto(embedded.url + "/ui/household/devices/add")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Revoke Kitchen plug").click()
    await expect(page.locator("#flash")).to_contain_text(f"Login {username} revoked")
    refused = try_login(embedded.mqtt_port, username, password)
    assert refused.is_failure, refused
    assert refused.value in (0x86, 0x87), refused  # bad username or password / not authorized

    # The admin sees every step in the audit.
    admin = await browser.new_page()
    await log_in(admin, embedded.url, "riverside-admin", "admin-password-1")
    audit = admin.get_by_role("region", name="Device links (audit)")
    await expect(audit).to_contain_text("created")
    await expect(audit).to_contain_text("first message")
    await expect(audit).to_contain_text("revoked")
    await expect(audit).to_contain_text(username)


async def test_rotate_kicks_the_old_secret_and_a_renamed_device_can_be_removed_with_its_history(
    embedded: Embedded, browser: Browser, household: str
) -> None:
    hub = embedded.hub
    hub.identity.create_household(household, "riverside", "Ben", password="ben-password")
    page = await browser.new_page()
    await log_in(page, embedded.url, household, "ben-password")
    await page.goto(embedded.url + "/ui/household/devices/add")
    await page.get_by_label("Zigbee2MQTT").check()
    await page.get_by_label("A name for it").fill("Zigbee stick")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Get a login and the settings").click()
    username = (await page.locator("#cred-username").text_content() or "").strip()
    old = (await page.locator("#cred-password").text_content() or "").strip()
    assert f"base_topic: \"home/{household}/zigbee2mqtt\"" in (await page.locator("#snippet").text_content() or "")

    await page.goto(embedded.url + "/ui/household/devices/add")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Rotate Zigbee stick").click()
    new = (await page.locator("#cred-password").text_content() or "").strip()
    assert new != old
    assert try_login(embedded.mqtt_port, username, old).is_failure
    assert not try_login(embedded.mqtt_port, username, new).is_failure

    with client(embedded.mqtt_port, client_id=username, username=username, password=new) as (z2m, _):
        z2m.publish(f"home/{household}/zigbee2mqtt/hall_sensor",
                    json.dumps({"temperature": 19.5, "humidity": 40}), qos=1).wait_for_publish(5)
        await wait_until(lambda: hub.twin.device(household, "hall_sensor") is not None, within=20)
    hub.history.flush()
    assert hub.history.series(household, "hall_sensor")

    await page.goto(embedded.url + "/ui/household")
    await page.get_by_text("Rename or remove hall_sensor").click()
    await page.get_by_label("New name").fill("Hall")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Rename").click()
    await expect(page.locator("#flash")).to_contain_text("Renamed to Hall.")
    await expect(page.get_by_role("heading", name="Hall", exact=True)).to_be_visible()

    await page.get_by_text("Rename or remove Hall").click()
    async with page.expect_navigation():
        await page.get_by_role("button", name="Remove it and its history").click()
    await expect(page.locator("#flash")).to_contain_text("Device and its history removed.")
    assert hub.twin.device(household, "hall_sensor") is None
    assert hub.history.series(household, "hall_sensor") == []
    assert hub.db.query_one("SELECT 1 FROM devices WHERE household = ? AND device = ?",
                            (household, "hall_sensor")) is None
