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
from tests import stores
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
        # Wait for this test's own messages: the count alone can be reached by other tests'
        # retained messages on the session broker before ours are in.
        await wait_until(
            lambda: all(running_hub.twin.device(household, f"p{i}") is not None for i in range(20))
            and any(r["household"] == household for r in running_hub.dead_letters.recent(50))
        )
        assert running_hub.twin.device(household, "p7").value("power") == 7  # type: ignore[union-attr]
        text = (await http.get("/metrics")).text
        metrics = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
        # The session broker may hold retained messages of other tests: compare with the
        # pipeline's own counts, and check this test's messages by their household.
        assert float(metrics["hub_messages_in_total"]) == running_hub.pipeline.processed
        assert float(metrics["hub_readings_total"]) >= 20
        assert float(metrics["hub_dead_letters_total"]) == running_hub.dead_letters.total
        mine = [r for r in running_hub.dead_letters.recent(50) if r["household"] == household]
        assert [r["reason"] for r in mine] == ["not JSON"]
        # SQLite's log is copied back by the hub's checkpointer thread, off the event loop
        # (hub.storage.checkpoint); PostgreSQL checkpoints by itself.
        checkpointer = running_hub.db.checkpointer
        if stores.on_postgresql():
            assert checkpointer is None
            assert float(metrics["hub_sqlite_checkpoint_frames"]) == 0
        else:
            assert checkpointer is not None
            assert checkpointer.running
            await wait_until(lambda: checkpointer.stats.frames_copied > 0)
            text = (await http.get("/metrics")).text
            assert float(text.split("\nhub_sqlite_checkpoint_frames ")[1].split()[0]) >= 1
            assert "\nhub_sqlite_checkpoint_failures 0.0" in text


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
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "not ready: broker down"


async def test_first_admin_and_notice_feeds_come_from_settings(broker: Broker, tmp_path: Path) -> None:
    """HUB_ADMIN_PASSWORD creates the admin; HUB_FEEDS feeds notices into the notice book."""
    import http.server
    import threading

    cap = b"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>feed-test-1</identifier><sender>ops@gas.example</sender>
  <sent>2026-11-28T11:00:00+01:00</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
  <info><language>en</language><category>Infra</category><event>Gas supply interruption</event>
    <urgency>Expected</urgency><severity>Moderate</severity><certainty>Likely</certainty>
    <onset>2099-11-28T17:00:00+01:00</onset><expires>2099-11-28T23:00:00+01:00</expires>
    <headline>Planned gas supply interruption</headline><area><areaDesc>Riverside</areaDesc></area></info>
</alert>"""

    class Feed(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/cap+xml")
            self.end_headers()
            self.wfile.write(cap)

        def log_message(self, *_args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Feed)
    serving = threading.Thread(target=server.serve_forever, name="feed-server")
    serving.start()
    settings = Settings(
        mqtt_url=f"mqtt://127.0.0.1:{broker.port}", mqtt_client_id=f"feeds-{tmp_path.name}", data_dir=tmp_path,
        api_port=0, secret_key="s" * 32, admin_password="first-admin-password",
        feeds=[f"riverside=http://127.0.0.1:{server.server_address[1]}/alert.xml"],
    )
    hub = Hub(settings, ports=PipelinePorts(normalizer=JsonPowerAdapter()))
    stop = asyncio.Event()
    task = asyncio.create_task(hub.run(stop))
    try:
        await asyncio.wait_for(hub.ready.wait(), 10)
        await wait_until(lambda: bool(hub.notices.active(community="riverside")))
        (notice,) = hub.notices.active(community="riverside")
        assert notice.id == "feed-test-1"
        assert notice.event == "Gas supply interruption"
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{hub.api_port}") as http_client:
            login = await http_client.post(
                "/auth/login", json={"username": "community-admin", "password": "first-admin-password"}
            )
            assert login.status_code == 200
            me = await http_client.get("/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"})
            assert me.json()["role"] == "admin"
    finally:
        stop.set()
        await asyncio.wait_for(task, 6)
        server.shutdown()
        serving.join()
        server.server_close()
