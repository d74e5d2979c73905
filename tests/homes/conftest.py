"""Fixtures for the homes tests: an embedded hub exactly as production runs it.

Managed Mosquitto with dynamic security (so that logins are real and refused ones are
refused by the broker), the real device normalizer, SQLite, the HTTP server with the
dashboards, on loopback ports.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from argon2 import PasswordHasher
from paho.mqtt.enums import CallbackAPIVersion

from hub.broker.supervisor import free_port
from hub.config import Settings
from hub.identity.accounts import Passwords
from hub.service import Hub
from tests.dashboards.conftest import browser  # noqa: F401  (the real Chromium fixture)

FAST = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@dataclass
class Embedded:
    hub: Hub

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.hub.api_port}"

    @property
    def mqtt_port(self) -> int:
        assert self.hub.broker is not None
        return int(self.hub.broker.port)


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[Embedded]:
    settings = Settings(data_dir=tmp_path, api_port=0, broker_port=free_port(),
                        secret_key="homes-test-secret-" + "x" * 24, timer_max_sleep_s=0.5)
    hub = Hub(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(hub.run(stop), name="homes-hub")
    ready = asyncio.create_task(hub.ready.wait())
    done, _ = await asyncio.wait({ready, task}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        ready.cancel()
        if task in done:
            task.result()
        raise AssertionError("the embedded hub did not become ready in 30 s")
    hub.identity.passwords = FAST
    try:
        yield Embedded(hub)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


def try_login(port: int, username: str, password: str, *, timeout: float = 10.0) -> Any:
    """Connect once with a login and return the broker's CONNACK reason code."""
    got: dict[str, Any] = {}
    done = threading.Event()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=username, protocol=mqtt.MQTTv5)
    c.username_pw_set(username, password)

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        got["reason"] = reason
        done.set()

    c.on_connect = on_connect
    c.connect("127.0.0.1", port)
    c.loop_start()
    try:
        assert done.wait(timeout), "no CONNACK from the broker"
    finally:
        c.disconnect()
        c.loop_stop()
    return got["reason"]
