"""A real embedded hub for the end-to-end story: start, provision, restart, settle."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from hub.broker.supervisor import free_port
from hub.clock import FakeClock
from hub.config import Settings
from hub.offers.seed import HOUSEHOLDS, PROVIDERS, seed_story
from hub.service import Hub

SECRET = "story-secret-" + "x" * 24
CAST = ("h-ana", "h-ben", "h-chen", "h-dan", "h-eve", "h-fay")


class RunningHub:
    """One embedded hub (managed Mosquitto with dynamic security, SQLite, HTTP) that
    can be stopped and started again on the same data directory and ports."""

    def __init__(self, data_dir: Path, clock: FakeClock, **settings: Any) -> None:
        self.data_dir = data_dir
        self.extra_settings = settings
        self.clock = clock
        self.api_port = free_port()
        self.broker_port = free_port()
        self.hub: Hub | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.starts = 0

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def h(self) -> Hub:
        assert self.hub is not None, "the hub is not running"
        return self.hub

    async def start(self) -> Hub:
        settings = Settings(data_dir=self.data_dir, api_port=self.api_port, broker_port=self.broker_port,
                            secret_key=SECRET, timer_max_sleep_s=0.5, **self.extra_settings)
        hub = Hub(settings, clock=self.clock)
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(hub.run(self._stop), name=f"story-hub-{self.starts}")
        ready = asyncio.create_task(hub.ready.wait())
        done, _ = await asyncio.wait({ready, self._task}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            if self._task in done:
                self._task.result()
            raise AssertionError("the hub did not become ready in 30 s")
        self.hub = hub
        self.starts += 1
        return hub

    async def stop(self) -> None:
        if self._task is None or self._stop is None:
            return
        self._stop.set()
        await asyncio.wait_for(self._task, 15)
        self._task = None
        self.hub = None

    async def settle(self, within: float = 15.0) -> None:
        """Wait until the hub has processed what it received and sent what it committed."""
        hub = self.h
        deadline = time.monotonic() + within
        while True:
            quiet = hub.transport.stats.queue_depth == 0 and hub.outbox.unsent_count() == 0
            if quiet:
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"hub did not settle: queue {hub.transport.stats.queue_depth},"
                    f" outbox {hub.outbox.unsent_count()}")
            await asyncio.sleep(0.01)

    def provision(self) -> dict[str, Any]:
        """Riverside from the seed, accounts for the cast and the providers, Ana's consent.

        Returns the credentials in the shape of ``var/demo/credentials.json``.
        """
        hub = self.h
        seed_story(hub.db, self.clock)
        admin = hub.identity.create_admin("riverside-admin", "admin-password-1", community="riverside")
        households: dict[str, Any] = {}
        for hid, name, street, lat, lon, postcode in HOUSEHOLDS:
            if hid in CAST:
                creds = hub.identity.create_household(
                    hid, "riverside", name, street, lat, lon,
                    {"postcode": [postcode], "community": ["riverside"]},
                    password=f"{hid}-password")
                households[hid] = creds.marshal()
        providers: dict[str, Any] = {}
        for pid, name, kinds, lat, lon, radius in PROVIDERS:
            creds = hub.identity.create_provider(pid, "riverside", name, kinds, lat, lon, radius,
                                                 password=f"{pid}-password")
            providers[pid] = creds.marshal()
        grant = hub.identity.consent.grant(
            "h-ana", "fresh-grocer", purpose="grocery_delivery",
            signals=["pantry_needs", "slot", "street_address"])
        return {
            "api": self.api_url,
            "mqtt": {"host": "127.0.0.1", "port": self.broker_port},
            "admin": {"username": admin.username, "password": admin.password},
            "households": households,
            "providers": providers,
            "grant": grant.id,
        }


class FakeTimeline:
    """Story time on the hub's :class:`FakeClock`: ``until`` lets the hub finish what it
    received, moves the clock, makes the rules engine tick and waits for the results."""

    def __init__(self, running: RunningHub) -> None:
        self.running = running
        self.clock = running.clock

    def now(self) -> datetime:
        return self.clock.now()

    async def until(self, when: datetime) -> None:
        await self.running.settle()
        if when > self.clock.now():
            self.clock.set(when)
        self.running.h.rules.tick(self.clock.now())
        await self.running.settle()
        # Sharing's periodic jobs (reminders, draws, plug scans) at the new story time.
        self.running.h.sharing.run_due()
        await self.running.settle()
