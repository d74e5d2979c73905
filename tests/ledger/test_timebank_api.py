"""The time bank through the real hub: HTTP on loopback, the identity's logins, SQLite,
MQTT notifications on the real broker, and concurrent clients racing the credit limit."""

from __future__ import annotations

import asyncio
import threading

import httpx
import orjson
from ledger_fixtures import Live

from tests.conftest import Broker
from tests.mqtt_helpers import client as mqtt_client


async def test_contract_codes_and_the_bike_repair(live: Live, broker: Broker) -> None:
    ana, chen, ben = (await asyncio.gather(*(asyncio.to_thread(live.client, u)
                                            for u in ("h-ana", "h-chen", "h-ben"))))
    with ana, chen, ben, mqtt_client(broker.port, subscribe=[("home/h-chen/hub/timebank/#", 1)]
                                     ) as (_, seen):
        r = await asyncio.to_thread(ana.post, "/timebank/transfers",
                                    json={"to": "h-chen", "hours": 1.5, "note": "bike repair"})
        assert r.status_code == 201, r.text
        tid = r.json()["id"]
        assert r.json()["status"] == "pending"
        for bad in (0, -1.5):
            z = await asyncio.to_thread(ana.post, "/timebank/transfers",
                                        json={"to": "h-chen", "hours": bad, "note": ""})
            assert z.status_code == 422
            assert z.headers["content-type"] == "application/problem+json"
            assert "hours" in z.json()["detail"]
        three = await asyncio.to_thread(ana.post, "/timebank/transfers",
                                        json={"to": "h-chen", "hours": "1.005"})
        assert three.status_code == 422
        assert "two decimals" in three.json()["detail"]
        assert (await asyncio.to_thread(ana.post, f"/timebank/transfers/{tid}/confirm")).status_code == 403
        assert (await asyncio.to_thread(ben.post, f"/timebank/transfers/{tid}/confirm")).status_code == 404
        ok = await asyncio.to_thread(chen.post, f"/timebank/transfers/{tid}/confirm")
        assert ok.status_code == 200
        assert ok.json()["status"] == "confirmed"
        assert (await asyncio.to_thread(ana.get, "/timebank/balance")).json()["hours"] == -1.5
        assert (await asyncio.to_thread(chen.get, "/timebank/balance")).json()["hours"] == 1.5
        csv = await asyncio.to_thread(ana.get, "/timebank/statement.csv")
        assert csv.headers["content-type"].startswith("text/csv")
        assert "-1.50,-1.50,bike repair" in csv.text
        ledger = (await asyncio.to_thread(ben.get, "/timebank/ledger")).json()
        assert ledger["ledger_ok"]
        assert ledger["entries"] == 1
        assert ledger["sum"] == 0
        assert ledger["hours_moved"] == 1.5
        assert len(ledger["head"]) == 64
        got = await asyncio.to_thread(seen.wait_for, lambda ms: any(
            b'"confirmed"' in p for _, p, _ in ms), 15)
        assert got, "chen heard nothing of the confirmation over MQTT"


async def test_admin_settings_and_openapi_tag(live: Live) -> None:
    admin = await asyncio.to_thread(live.client, "riverside-admin")
    with admin:
        r = await asyncio.to_thread(admin.put, "/timebank/settings",
                                    json={"credit_limit": -4, "welcome_grant": 1})
        assert r.status_code == 200
        assert r.json()["credit_limit"] == -4
        bad = await asyncio.to_thread(admin.put, "/timebank/settings", json={"credit_limit": 2})
        assert bad.status_code == 422
        doc = (await asyncio.to_thread(admin.get, "/openapi.json")).json()
        assert doc["paths"]["/timebank/transfers"]["post"]["tags"] == ["timebank"]
    ana = await asyncio.to_thread(live.client, "h-ana")
    with ana:
        assert (await asyncio.to_thread(ana.get, "/timebank/balance")).json()["hours"] == 1
        assert (await asyncio.to_thread(ana.put, "/timebank/settings",
                                        json={"credit_limit": -40})).status_code == 403


async def test_concurrent_clients_never_pass_the_limit(live: Live) -> None:
    """Ana records 14 transfers of 1.5 h (each fits alone); seven helpers confirm them all
    at once from their own connections. -10 h allows six: exactly six go through."""
    helpers = ("h-ben", "h-chen", "h-dan", "h-eve", "h-fay", "h-gus", "h-hal")
    clients = dict(zip(("h-ana", *helpers), await asyncio.gather(
        *(asyncio.to_thread(live.client, u) for u in ("h-ana", *helpers))), strict=True))
    try:
        pending = []
        for helper in helpers * 2:
            r = await asyncio.to_thread(clients["h-ana"].post, "/timebank/transfers",
                                        json={"to": helper, "hours": "1.5", "note": "race"})
            assert r.status_code == 201, r.text
            pending.append((helper, r.json()["id"]))
        start = threading.Barrier(len(pending))
        codes: list[int] = []

        def confirm(helper: str, tid: str) -> None:
            with httpx.Client(base_url=live.url, headers=clients[helper].headers, timeout=60) as c:
                start.wait(30)
                codes.append(c.post(f"/timebank/transfers/{tid}/confirm").status_code)

        threads = [threading.Thread(target=confirm, args=p) for p in pending]
        for t in threads:
            t.start()
        await asyncio.to_thread(lambda: [t.join(90) for t in threads])
        assert sorted(codes) == [200] * 6 + [409] * 8
        balance = (await asyncio.to_thread(clients["h-ana"].get, "/timebank/balance")).json()
        assert balance["hours"] == -9
        assert balance["pending_out"] == 12
        total = 0
        for h in helpers:
            total += (await asyncio.to_thread(clients[h].get, "/timebank/balance")).json()["hundredths"]
        assert total == 900
    finally:
        for c in clients.values():
            c.close()


async def test_helper_hears_of_a_transfer_over_sse(live: Live) -> None:
    ana, chen = await asyncio.gather(asyncio.to_thread(live.client, "h-ana"),
                                     asyncio.to_thread(live.client, "h-chen"))
    got: list[dict] = []
    with ana, chen:
        async with (httpx.AsyncClient(base_url=live.url, headers=chen.headers, timeout=20) as ac,
                    ac.stream("GET", "/events") as resp):
            lines = resp.aiter_lines()
            assert await anext(lines) == "event: ready"
            r = await asyncio.to_thread(ana.post, "/timebank/transfers",
                                        json={"to": "h-chen", "hours": 0.5, "note": "visit"})
            assert r.status_code == 201
            async with asyncio.timeout(15):
                async for line in lines:
                    if line.startswith("data:") and line != "data: {}":
                        got.append(orjson.loads(line[5:]))
                        break
    assert got == [{"type": "timebank-transfer-recorded", "id": r.json()["id"], "payer": "h-ana",
                    "to": "h-chen", "hours": 0.5, "status": "pending"}]
