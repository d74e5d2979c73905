"""Fixtures for the dashboard tests: a real hub on a real broker, and Debian's Chromium.

The hub is the real composition root (:class:`hub.service.Hub`) with the dashboards'
router added, on the session's Mosquitto, with its SQLite database under ``tmp_path`` and
its HTTP server on a free loopback port. Chromium is driven by Playwright's async API in
the test's own event loop (never ``playwright install``: the system browser is used).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from argon2 import PasswordHasher
from playwright.async_api import Browser, Page, async_playwright

from hub.clock import Clock
from hub.config import Settings
from hub.dashboards import router as dashboards_router
from hub.errors import PayloadRejected
from hub.events import Normalized, Reading
from hub.identity import Identity
from hub.identity.accounts import Passwords
from hub.ingest.pipeline import PipelinePorts
from hub.notices import NoticeBook
from hub.service import Hub
from tests.conftest import Broker
from tests.dashboards.a11y import assert_accessible

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

UNITS = {"power": "W", "temperature": "°C", "energy": "kWh", "humidity": "%"}


class JsonDeviceAdapter:
    """A tiny stand-in for the devices package: ``{"power": 12, "online": true, ...}``.

    Topic ``<vendor>/<device>``; every known numeric key becomes a reading, ``online`` an
    availability reading, ``stock`` (``{"milk": [0.2, "l"]}``) pantry readings.
    """

    def normalize(self, topic: str, payload: bytes, *, household: str | None = None) -> Normalized:
        try:
            body = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise PayloadRejected("not JSON", topic=topic) from exc
        if not isinstance(body, dict):
            raise PayloadRejected("not a JSON object", topic=topic)
        device = topic.rsplit("/", 1)[-1]
        readings = []
        for key, value in body.items():
            if key in UNITS and isinstance(value, int | float):
                readings.append(Reading(device=device, metric=key, value=value, unit=UNITS[key]))
            elif key == "online" and isinstance(value, bool):
                readings.append(Reading(device=device, metric="online", value=value, unit=None))
            elif key == "stock" and isinstance(value, dict):
                for item, (amount, unit) in value.items():
                    readings.append(Reading(device=device, metric="stock", value=amount, unit=unit, channel=item))
        if not readings:
            raise PayloadRejected("no reading in the payload", topic=topic)
        return Normalized(readings=tuple(readings))


@dataclass
class UiHub:
    hub: Hub
    identity: Identity
    notices: NoticeBook

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.hub.api_port}"

    def household(self, hid: str, password: str, *, community: str = "riverside", street: str = "Elm Street 12",
                  lat: float = 52.0225, lon: float = 5.0) -> str:
        """Provision a household login (username = household id) with the real identity service."""
        self.identity.create_household(hid, community, hid.title(), street, lat, lon,
                                       {"postcode": ["1234"]}, password=password)
        return hid


@contextlib.asynccontextmanager
async def running_hub(broker: Broker, data_dir: Path, prefix: str, *, clock: Clock | None = None,
                      extra: Callable[[Hub], None] | None = None, **overrides: Any) -> AsyncIterator[UiHub]:
    """A running hub with the dashboards and everything ``hub/wiring.py`` builds.

    Packages not wired yet are added by ``extra`` before the hub starts, the way the lead
    will wire them.
    """
    settings = Settings(
        mqtt_url=f"mqtt://127.0.0.1:{broker.port}",
        mqtt_client_id=f"{prefix}-hub",
        data_dir=data_dir,
        api_port=0,
        **overrides,
    )
    ports = PipelinePorts(normalizer=JsonDeviceAdapter())
    hub = Hub(settings, clock=clock, ports=ports)
    hub.add_router(dashboards_router)
    # The hub's own identity, notice book and history (hub/wiring.py); with injected
    # ports the history is ours to plug in, and cheap password hashing keeps tests fast.
    identity: Identity = hub.identity
    identity.passwords = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    ports.history = hub.history
    if extra is not None:
        extra(hub)
    stop = asyncio.Event()
    task = asyncio.create_task(hub.run(stop), name="hub")
    await asyncio.wait_for(hub.ready.wait(), 15)
    try:
        yield UiHub(hub, identity, hub.notices)
    finally:
        stop.set()
        await asyncio.wait_for(task, 8)


@pytest.fixture
async def ui_hub(broker: Broker, tmp_path: Path, topic_prefix: str) -> AsyncIterator[UiHub]:
    """A running hub with the dashboards (see :func:`running_hub`)."""
    async with running_hub(broker, tmp_path, topic_prefix) as ui:
        yield ui


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright."""
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


PHONE = {"width": 360, "height": 780}


@pytest.fixture
def screenshot(tmp_path: Path) -> Callable[[Page, str], Any]:
    """Save full-page screenshots of a view, at its own width and at phone width (360 px),
    after checking both with axe-core (0 WCAG 2.2 AA violations) and that nothing makes the
    page scroll sideways on the phone.

    They go to the test's temporary folder, so that a test run changes no tracked file;
    ``make screenshots`` (HUB_UPDATE_SCREENSHOTS=1) writes them to docs/screenshots/.
    """
    folder = SCREENSHOTS if os.environ.get("HUB_UPDATE_SCREENSHOTS") == "1" else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)

    async def take(page: Page, name: str) -> Path:
        await assert_accessible(page, name)
        path = folder / f"{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000, f"the {name} screenshot is nearly empty"
        size = page.viewport_size
        if size and size["width"] <= PHONE["width"]:  # already a phone-width view
            return path
        await page.set_viewport_size(PHONE)
        try:
            await assert_accessible(page, f"{name} at 360 px")
            wide = await page.evaluate("document.documentElement.scrollWidth")
            assert wide <= PHONE["width"], f"{name} scrolls sideways at 360 px ({wide} px wide)"
            await page.screenshot(path=str(folder / f"{name}-phone.png"), full_page=True)
        finally:
            if size:
                await page.set_viewport_size(size)
        return path

    return take


async def log_in(page: Page, base: str, username: str, password: str) -> None:
    """Fill the login form and submit it (waits for the next page)."""
    await page.goto(f"{base}/ui/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Log in").click()
