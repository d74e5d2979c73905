"""Helpers of the time-bank, projects and trust tests (imported by name: test dirs have no
__init__, and ``conftest`` is a name every folder has).

:class:`Bank`: the services on a real SQLite file with a fake clock (fast unit tests).
:func:`running_hub` / :class:`Live`: the real composition root (:class:`hub.service.Hub`) on the session's Mosquitto,
its SQLite store under ``tmp_path`` and its HTTP server on a free loopback port, with the
story's households provisioned through the real identity service.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher

from hub.clock import FakeClock
from hub.config import Settings
from hub.errors import PayloadRejected
from hub.identity.accounts import Passwords
from hub.ingest.pipeline import PipelinePorts
from hub.ledger import Skills, TimeBank
from hub.offers.context import Context
from hub.offers.live import LiveUpdates
from hub.offers.seed import seed_story
from hub.offers.uow import UnitOfWork
from hub.service import Hub
from hub.storage.database import Database
from tests.conftest import Broker

SUNDAY = datetime(2026, 11, 29, 14, 0, tzinfo=UTC)
CAST = ("h-ana", "h-ben", "h-chen", "h-dan", "h-eve", "h-fay", "h-gus", "h-hal")


@dataclass
class Bank:
    db: Database
    clock: FakeClock
    uow: UnitOfWork
    ctx: Context
    tb: TimeBank
    skills: Skills
    live: LiveUpdates

    def messages(self, prefix: str) -> list[str]:
        return [r[0] for r in self.db.query("SELECT topic FROM outbox WHERE topic LIKE ?"
                                            " ORDER BY seq", (f"{prefix}%",))]


class NoDevices:
    """These tests send no device messages: anything that arrives is refused."""

    def normalize(self, topic: str, payload: bytes, *, household: str | None = None) -> Any:
        raise PayloadRejected("no devices in the time-bank tests", topic=topic)


class Live:
    """A running hub with logins for the cast, the admin and fresh-grocer."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.hub.api_port}"

    def token(self, username: str, password: str | None = None) -> dict[str, str]:
        r = httpx.post(f"{self.url}/auth/login", json={
            "username": username, "password": password or f"{username}-password"}, timeout=20)
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def client(self, username: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.token(username), timeout=30)


def provision(hub: Hub) -> None:
    """Riverside, logins for the cast (password ``<id>-password``), fresh-grocer, an admin."""
    from hub.offers.seed import HOUSEHOLDS, PROVIDERS

    identity = hub.identity
    identity.passwords = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    seed_story(hub.db, hub.clock)
    for hid, name, street, lat, lon, postcode in HOUSEHOLDS:
        if hid in CAST:
            identity.create_household(hid, "riverside", name, street, lat, lon,
                                      {"postcode": [postcode]}, password=f"{hid}-password")
    for pid, name, kinds, lat, lon, radius in PROVIDERS:
        identity.create_provider(pid, "riverside", name, kinds, lat, lon, radius,
                                 password=f"{pid}-password")
    identity.create_admin("riverside-admin", "riverside-admin-password", community="riverside")


@contextlib.asynccontextmanager
async def running_hub(broker: Broker, data_dir: Path, prefix: str, clock: Any = None,
                      *, provisioned: bool = False) -> AsyncIterator[Live]:
    """The real hub (everything hub/wiring.py builds) on the session's broker."""
    settings = Settings(mqtt_url=f"mqtt://127.0.0.1:{broker.port}", mqtt_client_id=f"{prefix}-hub",
                        data_dir=data_dir, api_port=0)
    ports = PipelinePorts(normalizer=NoDevices())
    hub = Hub(settings, clock=clock, ports=ports)
    if not provisioned:
        provision(hub)
    stop = asyncio.Event()
    task = asyncio.create_task(hub.run(stop), name="hub")
    ready = asyncio.create_task(hub.ready.wait())
    done, _ = await asyncio.wait({ready, task}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        ready.cancel()
        if task in done:
            task.result()
        raise AssertionError("the hub did not become ready in 30 s")
    try:
        yield Live(hub)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)




CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def screenshot_dir(tmp_path: Path) -> Path:
    """docs/screenshots with HUB_UPDATE_SCREENSHOTS=1 (``make screenshots``), else tmp."""
    import os

    folder = SCREENSHOTS if os.environ.get("HUB_UPDATE_SCREENSHOTS") == "1" else tmp_path / "shots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def hub_cli(*args: str, data_dir: Path) -> Any:
    """Run ``hub ARGS`` as a user would, on the store of ``data_dir``."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    from tests.stores import store_env

    env = {**os.environ, **store_env(data_dir), "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
