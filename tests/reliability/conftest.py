"""Fixtures of the round-2 security rows (28, 29, 30, 37): a real hub on uvicorn.

:func:`live_hub` is the dashboards' running hub (:func:`tests.dashboards.conftest.running_hub`:
the real composition root, the session's Mosquitto, SQLite under ``tmp_path``, uvicorn on a
free loopback port) with an admin, two households and a provider provisioned through the real
identity service. ``browser`` is Debian's Chromium, as in the dashboard tests.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Broker
from tests.dashboards.conftest import UiHub, browser, running_hub

__all__ = ["Live", "browser", "live", "live_hub"]

ADMIN, ADMIN_PASSWORD = "community-admin", "admin-password-1"
ANA, ANA_PASSWORD = "h-ana", "ana-password-1"
BEN, BEN_PASSWORD = "h-ben", "ben-password-1"
GROCER, GROCER_PASSWORD = "fresh-grocer", "grocer-password-1"


@dataclass
class Live:
    ui: UiHub

    @property
    def url(self) -> str:
        return self.ui.url


@contextlib.asynccontextmanager
async def live(broker: Broker, data_dir: Path, prefix: str, **settings: Any) -> AsyncIterator[Live]:
    """A running hub with ``community-admin``, ``h-ana``, ``h-ben`` and ``fresh-grocer``,
    started with ``settings`` (e.g. ``trusted_proxies``, ``public_url``)."""
    async with running_hub(broker, data_dir, prefix, **settings) as ui:
        ui.identity.create_admin(ADMIN, ADMIN_PASSWORD, community="riverside")
        ui.household(ANA, ANA_PASSWORD)
        ui.household(BEN, BEN_PASSWORD)
        ui.identity.create_provider(GROCER, "riverside", "Fresh", kinds=["grocery"], password=GROCER_PASSWORD)
        yield Live(ui)


@pytest.fixture
async def live_hub(broker: Broker, tmp_path: Path, topic_prefix: str) -> AsyncIterator[Live]:
    """:func:`live` with the default settings."""
    async with live(broker, tmp_path, topic_prefix) as hub:
        yield hub
