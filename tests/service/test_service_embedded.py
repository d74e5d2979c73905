"""The embedded default: the hub runs its own Mosquitto with dynamic security."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import httpx

from hub.config import Settings
from hub.ingest.pipeline import PipelinePorts
from hub.service import Hub
from tests.ingest.test_ingest_pipeline import JsonPowerAdapter
from tests.mqtt_helpers import client, wait_until


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_managed_broker_isolates_households_and_stops_with_the_hub(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, api_port=0, secret_key="x" * 32)
    hub = Hub(settings, ports=PipelinePorts(normalizer=JsonPowerAdapter()))
    stop = asyncio.Event()
    task = asyncio.create_task(hub.run(stop))
    await asyncio.wait_for(hub.ready.wait(), 20)
    broker_pid = hub.broker.pid
    try:
        ana = hub.identity.create_household("h-ana", "riverside", "Ana", password="ana-password-1")
        ben = hub.identity.create_household("h-ben", "riverside", "Ben", password="ben-password-1")
        port = hub.broker.port
        with client(port, client_id=ana.mqtt_username, username=ana.mqtt_username,
                    password=ana.mqtt_password) as (gateway, _):
            gateway.publish("home/h-ana/plug/kitchen", b'{"power": 75}', qos=1).wait_for_publish(5)
            # Ana's gateway writing into Ben's namespace is dropped by the broker.
            gateway.publish("home/h-ben/plug/desk", b'{"power": 999}', qos=1).wait_for_publish(5)
        with client(port, client_id=ben.mqtt_username, username=ben.mqtt_username,
                    password=ben.mqtt_password) as (ben_gateway, _):
            ben_gateway.publish("home/h-ben/plug/desk", b'{"power": 12}', qos=1).wait_for_publish(5)
        await wait_until(lambda: hub.twin.device("h-ben", "desk") is not None)
        assert hub.twin.device("h-ana", "kitchen").value("power") == 75  # type: ignore[union-attr]
        assert hub.twin.device("h-ben", "desk").value("power") == 12  # type: ignore[union-attr]
        assert hub.twin.device("h-ana", "desk") is None
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{hub.api_port}") as http:
            ready = await http.get("/readyz")
            assert ready.json()["checks"] == {"broker": True, "storage": True, "pipeline": True}
            login = await http.post("/auth/login", json={"username": "h-ana", "password": "ana-password-1"})
            assert login.status_code == 200, login.text
    finally:
        started = time.monotonic()
        stop.set()
        await asyncio.wait_for(task, 10)
    assert time.monotonic() - started < 5
    assert not _alive(broker_pid), "the managed broker must stop with the hub"
