"""Fixtures for the time-bank, projects and trust tests (helpers: ``ledger_fixtures``).

``bank``: the services on a real SQLite file with a fake clock (fast unit tests).
``live``: the real composition root on the session's Mosquitto with the cast provisioned.
``browser``: Debian's Chromium through Playwright.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from ledger_fixtures import CHROMIUM, CHROMIUM_ARGS, SUNDAY, Bank, Live, running_hub

from hub.clock import FakeClock
from hub.ledger import Skills, TimeBank
from hub.offers.consent import AllowAll
from hub.offers.context import Context
from hub.offers.live import LiveUpdates
from hub.offers.seed import seed_story
from hub.offers.uow import UnitOfWork
from hub.storage.outbox import Outbox
from tests.conftest import Broker
from tests.stores import open_db


@pytest.fixture
def bank(tmp_path: Path) -> Iterator[Bank]:
    db = open_db(tmp_path / "hub.sqlite3")
    clock = FakeClock(SUNDAY)
    seed_story(db, clock)
    uow = UnitOfWork(db, Outbox(db), clock)
    live = LiveUpdates()
    ctx = Context(uow=uow, consent=AllowAll(), live=live)
    yield Bank(db, clock, uow, ctx, TimeBank(ctx), Skills(ctx), live)
    db.close()


@pytest.fixture
async def live(broker: Broker, tmp_path: Path, topic_prefix: str) -> AsyncIterator[Live]:
    async with running_hub(broker, tmp_path, topic_prefix) as running:
        yield running


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (as in tests/dashboards)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()
