"""The composed hub over a real broker and a real HTTP server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from hub.config import Settings
from hub.ingest.pipeline import PipelinePorts
from hub.service import Hub
from tests.conftest import Broker
from tests.ingest.test_ingest_pipeline import JsonPowerAdapter
from tests.mqtt_helpers import client, wait_until


@pytest.fixture
async def running_hub(broker: Broker, tmp_path: Path, topic_prefix: str) -> AsyncIterator[Hub]:
    settings = Settings(
        mqtt_url=f"mqtt://127.0.0.1:{broker.port}",
        mqtt_client_id=f"{topic_prefix}-hub",
        data_dir=tmp_path,
        api_port=0,
    )
    hub = Hub(settings, ports=PipelinePorts(normalizer=JsonPowerAdapter()))
    stop = asyncio.Event()
    task = asyncio.create_task(hub.run(stop))
    await asyncio.wait_for(hub.ready.wait(), 10)
    yield hub
    started = time.monotonic()
    stop.set()
    await asyncio.wait_for(task, 6)
    assert time.monotonic() - started < 5, "shutdown must finish within 5 s"


async def test_health_readiness_and_metrics_follow_the_pipeline(
    running_hub: Hub, broker: Broker, household: str
) -> None:
    base = f"http://127.0.0.1:{running_hub.api_port}"
    async with httpx.AsyncClient(base_url=base) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"broker": True, "storage": True, "pipeline": True}
        with client(broker.port) as (pub, _):
            for i in range(20):
                pub.publish(f"home/{household}/plug/p{i}", b'{"power": %d}' % i, qos=1).wait_for_publish(5)
            pub.publish(f"home/{household}/plug/bad", b"{oops", qos=1).wait_for_publish(5)
        await wait_until(lambda: running_hub.pipeline.processed >= 21)
        assert running_hub.twin.device(household, "p7").value("power") == 7  # type: ignore[union-attr]
        text = (await http.get("/metrics")).text
        assert "hub_messages_in_total 21.0" in text
        assert "hub_readings_total 20.0" in text
        assert "hub_dead_letters_total 1.0" in text


async def test_readiness_fails_when_the_broker_is_unreachable(tmp_path: Path) -> None:
    from hub.broker.supervisor import free_port

    settings = Settings(
        mqtt_url=f"mqtt://127.0.0.1:{free_port()}", data_dir=tmp_path, api_port=0, mqtt_connect_wait_s=0.2
    )
    hub = Hub(settings, ports=PipelinePorts(normalizer=JsonPowerAdapter()))
    stop = asyncio.Event()
    task = asyncio.create_task(hub.run(stop))
    await asyncio.wait_for(hub.ready.wait(), 20)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{hub.api_port}") as http:
        response = await http.get("/readyz")
    stop.set()
    await asyncio.wait_for(task, 6)
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] is False
