"""STORY.md section 6 from 14:00, end to end: a real embedded hub (Mosquitto with dynamic
security, SQLite, HTTP), the story's actors playing the chapters of
:mod:`hub.demo.sunday_timebank` through the API and MQTT, every fact checked from outside:
HTTP answers on each person's login, MQTT on each household's own broker login and on
fresh-grocer's, the pages in Chromium, ``hub ledger verify`` and ``hub trust verify`` as
subprocesses on the running hub's store. The hub restarts between the pledges and
Friday's deadline, which fires once after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from story_support import FakeTimeline, RunningHub

from hub.clock import FakeClock
from hub.demo.story import StepResult, StoryPlayer
from hub.demo.sunday_timebank import bike_repair, pellets_deadline, pellets_proposed, record_export
from tests.mqtt_helpers import client, wait_until

pytestmark = pytest.mark.timeout(240)

SATURDAY = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
PLEDGERS = ["h-ana", "h-chen", "h-ben", "h-dan", "h-eve", "h-fay"]


def hub_cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HUB_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            yield browser
        finally:
            await browser.close()


async def page_of(browser: Any, url: str, user: str, password: str) -> Any:
    page = await (await browser.new_context(viewport={"width": 360, "height": 780})).new_page()
    await page.goto(f"{url}/ui/login")
    await page.get_by_label("Username").fill(user)
    await page.get_by_label("Password").fill(password)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Log in").click()
    return page


async def test_sunday_time_bank_pellets_and_record(tmp_path: Path) -> None:
    clock = FakeClock(SATURDAY)
    running = RunningHub(tmp_path / "hub", clock)
    await running.start()
    stack = contextlib.ExitStack()
    try:
        creds = running.provision()
        port = running.broker_port
        seen = {}
        for h in ("h-ana", "h-chen"):
            user, password = running.h.identity.create_member_mqtt(h)
            _, seen[h] = stack.enter_context(client(port, client_id=user, username=user,
                                                    password=password,
                                                    subscribe=[(f"home/{h}/hub/#", 1)]))
        timeline = FakeTimeline(running)
        player = StoryPlayer(running.api_url, ("127.0.0.1", port), creds, timeline)
        steps: dict[str, StepResult] = {}

        async def restart(p: StoryPlayer) -> None:
            """Thursday: the hub stops and starts again before Friday's deadline."""
            await running.stop()
            clock.set(datetime(2026, 12, 3, 12, 0, tzinfo=UTC))
            await running.start()
            assert p.feed is not None
            feed = p.feed
            await wait_until(lambda: feed.subscriptions >= 2, 20)

        async with chromium() as browser:
            async def observe(step: StepResult) -> None:
                steps[step.name] = step
                if step.name == "chen-confirms":
                    ana = await page_of(browser, running.api_url, "h-ana", "h-ana-password")
                    await ana.goto(f"{running.api_url}/ui/timebank")
                    assert await ana.get_by_test_id("balance").inner_text() == "-1.50 h"
                    await ana.goto(f"{running.api_url}/ui/community/ledger")
                    assert await ana.get_by_test_id("head").inner_text() == step.facts["ledger_head"]
                if step.name == "households-pledge":
                    chen = await page_of(browser, running.api_url, "h-chen", "h-chen-password")
                    await chen.goto(f"{running.api_url}/ui/projects")
                    bar = chen.get_by_role("progressbar", name="Pledges for Heating pellets, bulk",
                                           exact=True)
                    assert await bar.get_attribute("aria-valuenow") == "6"

            await player.play(observer=observe, saturday=False, chapters=(
                bike_repair, pellets_proposed, record_export, restart, pellets_deadline))

        # 14:00 the bike repair: pending moves nothing, the confirmation moves both.
        rec, conf = steps["ana-records-bike-repair"].facts, steps["chen-confirms"].facts
        assert (rec["status"], rec["hours"], rec["ana_hours_while_pending"]) == ("pending", 1.5, 0)
        assert (conf["ana_before"], conf["ana_after"], conf["chen_after"]) == (0, -1.5, 1.5)
        assert (conf["credit_limit"], conf["ledger_ok"], conf["ledger_sum"]) == (-10, True, 0)
        told = [orjson.loads(p) for t, p, _ in seen["h-chen"].messages if "/hub/timebank/" in t]
        assert [m["type"] for m in told] == ["timebank-transfer-recorded",
                                             "timebank-transfer-confirmed"]
        verify = await asyncio.to_thread(hub_cli, "ledger", "verify", data_dir=running.data_dir)
        assert verify.returncode == 0, verify.stderr
        assert "time-bank ledger: 1 entries checked, sum 0" in verify.stdout
        assert conf["ledger_head"] in verify.stdout  # the page, the API and the CLI agree

        # 16:00 the pellets: 3-3-3-1, Ana and Chen first, six by Wednesday.
        prop, full = steps["ben-proposes-pellets"].facts, steps["households-pledge"].facts
        assert prop["split"] == {"buyers": 3, "organiser": 3, "community_fund": 3, "provider": 1}
        assert (prop["goal"], prop["pledges"]) == (6, 2)
        assert prop["deadline"] == "2026-12-04T18:00:00Z"
        assert (full["pledges"], full["progress"], full["variant_pledges"]) == (6, 1.0, 2)
        assert sorted(full["pledgers"]) == sorted(PLEDGERS)

        # 20:00 the record, and the other hub's offline check with only the public keys.
        exp = steps["ana-exports-record"].facts
        assert (exp["verified"], exp["altered_refused"], exp["balance"]) == (True, True, -1.5)
        assert exp["media_type"] == "application/vc+jwt"
        assert exp["entries"] == 1
        r = await player.request("h-ana", "GET", "/trust/export")
        keys = await player.request("h-ben", "GET", "/.well-known/jwks.json")
        other = tmp_path / "other-hub"
        (tmp_path / "ana.jwt").write_bytes(r.content)
        (tmp_path / "keys.json").write_text(json.dumps(keys.json()))
        ok = await asyncio.to_thread(hub_cli, "trust", "verify", str(tmp_path / "ana.jwt"),
                                     "--jwks", str(tmp_path / "keys.json"), data_dir=other)
        assert ok.returncode == 0, ok.stderr
        broken = bytearray(r.content)
        broken[100] ^= 0x02
        (tmp_path / "broken.jwt").write_bytes(bytes(broken))
        bad = await asyncio.to_thread(hub_cli, "trust", "verify", str(tmp_path / "broken.jwt"),
                                      "--jwks", str(tmp_path / "keys.json"), data_dir=other)
        assert bad.returncode == 1

        # Friday 18:00, after the restart: one order on fresh-grocer's feed, the variant missed.
        order, miss = steps["pellets-ordered"].facts, steps["second-round-missed"].facts
        assert (order["state"], order["provider"], order["order_type"]) == ("met", "fresh-grocer",
                                                                            "pooled-order")
        assert order["pledges"] == 6
        assert order["my_pledge"]["state"] == "committed"
        assert (miss["state"], miss["my_pledge"]["state"]) == ("missed", "released")
        assert miss["reason"] == "2 of 6 pledges by the deadline"
        assert miss["orders"] == []
        await running.settle()
        assert player.feed is not None
        pid = player.ids["pellets"]
        orders = [m for m in player.feed.snapshot() if m[1].get("project") == pid]
        assert len(orders) == 1, orders
        outcomes = [orjson.loads(p)["type"] for t, p, _ in seen["h-ana"].messages
                    if "/hub/projects/" in t]
        assert sorted(outcomes) == ["project-met", "project-missed"]
    finally:
        stack.close()
        await running.stop()
