"""Pooled projects through the real hub: the contract's codes, and the deadline firing
exactly once across a hub restart (the order reaches the provider's feed on the broker once).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import orjson
from ledger_fixtures import SUNDAY, running_hub

from hub.clock import FakeClock
from tests.conftest import Broker
from tests.mqtt_helpers import client as mqtt_client

FRIDAY = "2026-12-04T18:00:00Z"
SIX = ("h-ana", "h-chen", "h-dan", "h-eve", "h-fay", "h-gus")


async def test_deadline_fires_once_across_a_restart(broker: Broker, tmp_path: Path,
                                                    topic_prefix: str) -> None:
    clock = FakeClock(SUNDAY + timedelta(hours=2))
    with mqtt_client(broker.port, subscribe=[("providers/fresh-grocer/feed/#", 1)]) as (_, feed):
        async with running_hub(broker, tmp_path, topic_prefix, clock) as live:
            ben = await asyncio.to_thread(live.client, "h-ben")
            with ben:
                r = await asyncio.to_thread(ben.post, "/projects", json={
                    "title": "Heating pellets, bulk", "goal_pledges": 6, "deadline": FRIDAY,
                    "provider": "fresh-grocer",
                    "split": {"buyers": 3, "organiser": 3, "community_fund": 3, "provider": 1}})
                assert r.status_code == 201, r.text
                pid = r.json()["id"]
                empty = await asyncio.to_thread(ben.post, "/projects", json={
                    "title": "", "goal_pledges": 6, "deadline": FRIDAY})
                assert empty.status_code == 422
            for h in SIX:
                c = await asyncio.to_thread(live.client, h)
                with c:
                    pr = await asyncio.to_thread(c.post, f"/projects/{pid}/pledges", json={"amount": 1})
                    assert pr.status_code == 201, pr.text
            # Ana lets fresh-grocer see her name and street for pooled orders; nobody else does.
            live.hub.identity.consent.grant("h-ana", "fresh-grocer", purpose="pooled_order",
                                            signals=["household_name", "street_address"])
            grocer = await asyncio.to_thread(live.client, "fresh-grocer")
            with grocer:
                seen = (await asyncio.to_thread(grocer.get, f"/projects/{pid}")).json()
                assert seen["pledges"] == 6
                assert seen["progress"] == 1.0
                assert seen["pledgers"][0] == {"amount": 1.0, "household": "h-ana", "name": "Ana",
                                               "address": "Elm Street 12"}
                assert seen["pledgers"][1:] == [{"amount": 1.0}] * 5
                no = await asyncio.to_thread(grocer.post, f"/projects/{pid}/pledges", json={"amount": 1})
                assert no.status_code == 403
        # The hub is down when Friday comes.
        clock.set(SUNDAY + timedelta(days=6))
        async with running_hub(broker, tmp_path, f"{topic_prefix}b", clock, provisioned=True) as live:
            got = await asyncio.to_thread(feed.wait_for, lambda ms: any(
                t.endswith(pid) for t, _, _ in ms), 30)
            assert got, "the pooled order never reached fresh-grocer's feed"
            ana = await asyncio.to_thread(live.client, "h-ana")
            with ana:
                done = (await asyncio.to_thread(ana.get, f"/projects/{pid}")).json()
            assert done["state"] == "met"
            assert done["my_pledge"]["state"] == "committed"
            # More ticks of the deadline job change nothing.
            assert await asyncio.to_thread(live.hub.components["projects"].close_due) == []
            unsent = live.hub.outbox.unsent_count
            for _ in range(300):
                if unsent() == 0:
                    break
                await asyncio.sleep(0.05)
    orders = [orjson.loads(p) for t, p, _ in feed.messages if t.endswith(pid)]
    assert len(orders) == 1
    assert orders[0]["type"] == "pooled-order"
    assert orders[0]["pledges"] == 6
    assert [p.get("household") for p in orders[0]["pledgers"]] == ["h-ana"] + [None] * 5
