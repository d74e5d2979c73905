"""RELIABILITY row 31: 32 connections reading household routes, beside a writer.

A real hub (SQLite in WAL mode, the session broker, uvicorn on loopback). Eight households
each host a gathering, offer a ride and grant a consent through the API. Then 32
keep-alive connections, each carrying the tokens of every household in turn, read every
household route while one more connection keeps writing (new gatherings, and replays of
idempotent ones). Every answer must be 200 and exactly the caller's own data (never
another household's: the token cache and the per-thread readers must not mix callers),
no connection may drop, and every write must be acknowledged. How fast is
``bench/bench_http.py``'s business; this test asserts correctness only.

A logout and a disabled account are refused from the very next request, token cache or not.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.config import Settings
from hub.ingest.pipeline import PipelinePorts
from hub.service import Hub
from tests.conftest import Broker
from tests.ingest.test_ingest_pipeline import JsonPowerAdapter

HOUSEHOLDS = [f"h-load{i}" for i in range(8)]
CONNECTIONS = 32
ROUNDS = 2  # each connection reads every (route, household) pair this many times
#: The household reads whose answer is compared with the answer before the load.
STABLE_READS = ["/suggestions", "/calendar", "/bookings", "/grocery/slots", "/consents/audit",
                "/households/{h}/notices", "/communities/riverside/notices"]


def _day() -> datetime:
    return (datetime.now(UTC) + timedelta(days=3)).replace(hour=18, minute=0, second=0, microsecond=0)


def _gathering(title: str) -> dict[str, Any]:
    return {"title": title, "starts_at": _day().isoformat(), "capacity": 6,
            "place": {"label": "Lake Pier", "lat": 52.1304, "lon": 5.0}}


@pytest.fixture
async def loaded_hub(broker: Broker, tmp_path: Path) -> AsyncIterator[tuple[Hub, dict[str, dict[str, Any]]]]:
    settings = Settings(mqtt_url=f"mqtt://127.0.0.1:{broker.port}", mqtt_client_id=f"row31-{tmp_path.name}",
                        data_dir=tmp_path, api_port=0, secret_key="k" * 32)
    hub = Hub(settings, ports=PipelinePorts(normalizer=JsonPowerAdapter()))
    stop = asyncio.Event()
    task = asyncio.create_task(hub.run(stop))
    await asyncio.wait_for(hub.ready.wait(), 30)
    hub.identity.create_provider("fresh-grocer", "riverside", "Fresh", kinds=["grocery"],
                                 password="grocer-password-1")
    made: dict[str, dict[str, Any]] = {}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{hub.api_port}", timeout=60) as http:
        for i, h in enumerate([*HOUSEHOLDS, "h-writer"]):
            hub.identity.create_household(h, "riverside", f"Load {i}", lat=52.09 + i / 1000, lon=5.12,
                                          password=f"{h}-password")
            r = await http.post("/auth/login", json={"username": h, "password": f"{h}-password"})
            assert r.status_code == 200, r.text
            token = r.json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            g = await http.post("/gatherings", json=_gathering(f"Supper of {h}"), headers=auth)
            assert g.status_code == 200, g.text
            ride = await http.post("/rides", headers=auth, json={
                "destination": {"label": "Lake Pier", "lat": 52.1304, "lon": 5.0},
                "depart_earliest": (_day() - timedelta(hours=1)).isoformat(), "seats": 2})
            assert ride.status_code == 200, ride.text
            grant = hub.identity.consent.grant(h, "fresh-grocer", purpose="grocery_delivery",
                                               signals=["pantry_needs", "slot"])
            made[h] = {"token": token, "gathering": g.json()["id"], "ride": ride.json()["id"],
                       "grant": grant.id, "account": r.json()["principal"]["account_id"]}
    yield hub, made
    stop.set()
    await asyncio.wait_for(task, 10)


def _check(route: str, h: str, made: dict[str, Any], body: Any, before: dict[tuple[str, str], Any]) -> str | None:
    """What is wrong with ``body`` as ``h``'s answer on ``route``, or None."""
    if route == "/me":
        ok = (body["household"], body["role"], body["account_id"]) == (h, "household", made["account"])
    elif route == "/gatherings":
        ok = [g["id"] for g in body["items"]] == [made["gathering"]] and body["items"][0]["host"] == h
    elif route == "/rides":
        ok = [r["id"] for r in body["items"]] == [made["ride"]]
    elif route == "/consents":
        ok = [g["id"] for g in body] == [made["grant"]] and body[0]["household"] == h
    else:
        ok = body == before[(route, h)]
    return None if ok else f"{route} as {h}: {str(body)[:200]}"


async def test_row31_32_connections_read_household_routes_right(
    loaded_hub: tuple[Hub, dict[str, dict[str, Any]]],
) -> None:
    hub, made = loaded_hub
    base = f"http://127.0.0.1:{hub.api_port}"
    readers = {h: made[h] for h in HOUSEHOLDS}
    routes = ["/me", "/gatherings", "/rides", "/consents", *STABLE_READS]
    before: dict[tuple[str, str], Any] = {}
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        for route in STABLE_READS:
            for h, m in readers.items():
                r = await http.get(route.format(h=h), headers={"Authorization": f"Bearer {m['token']}"})
                assert r.status_code == 200, r.text
                before[(route, h)] = r.json()
    pairs = [(route, h) for route in routes for h in readers]

    async def load() -> dict[str, Any]:
        """Runs on a thread of its own with its own event loop: the server keeps the test's."""
        wrong: list[str] = []
        answers = 0
        connections: set[int] = set()
        writes: list[int] = []
        writing = asyncio.Event()

        async def reader(n: int) -> None:
            nonlocal answers
            limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
            async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
                order = pairs[n % len(pairs):] + pairs[:n % len(pairs)]
                for route, h in itertools.chain.from_iterable([order] * ROUNDS):
                    try:
                        r = await client.get(route.format(h=h),
                                             headers={"Authorization": f"Bearer {readers[h]['token']}"})
                    except httpx.HTTPError as exc:
                        wrong.append(f"connection {n}: {route} as {h}: {exc!r}")
                        return
                    answers += 1
                    stream = r.extensions.get("network_stream")
                    if stream is not None:
                        connections.add(id(stream))
                    if r.status_code != 200:
                        wrong.append(f"{route} as {h}: {r.status_code} {r.text[:200]}")
                        continue
                    problem = _check(route, h, readers[h], r.json(), before)
                    if problem:
                        wrong.append(problem)

        async def writer() -> None:
            auth = {"Authorization": f"Bearer {made['h-writer']['token']}"}
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                first: dict[str, Any] = {}
                for i in itertools.count():
                    key = f"row31-{i % 5}"  # five keys: the first use writes, later ones replay
                    r = await client.post("/gatherings", json=_gathering(f"Writer {i % 5}"),
                                          headers={**auth, "Idempotency-Key": key})
                    writes.append(r.status_code)
                    if r.status_code == 200:
                        if key in first and r.json() != first[key]:
                            wrong.append(f"replay of {key} answered differently")
                        first.setdefault(key, r.json())
                    else:
                        wrong.append(f"write {i}: {r.status_code} {r.text[:200]}")
                    if writing.is_set():
                        return

        write_task = asyncio.create_task(writer())
        await asyncio.gather(*(reader(n) for n in range(CONNECTIONS)))
        writing.set()
        await write_task
        return {"wrong": wrong, "answers": answers, "connections": len(connections), "writes": writes}

    result = await asyncio.to_thread(asyncio.run, load())
    expected = CONNECTIONS * ROUNDS * len(pairs)
    print(f"RELIABILITY row 31: {result['answers']} of {expected} answers over {CONNECTIONS} connections, "
          f"{len(result['wrong'])} wrong, {len(result['writes'])} writes beside them")
    assert result["wrong"] == []
    assert result["answers"] == expected  # no connection dropped: each read all it meant to
    assert result["connections"] == CONNECTIONS  # one keep-alive connection each, never reopened
    assert result["writes"]
    assert set(result["writes"]) == {200}
    # Each of the five idempotency keys wrote one gathering, however often it was replayed.
    rows = hub.db.query("SELECT title FROM gatherings WHERE host = 'h-writer' AND title LIKE 'Writer %'")
    assert sorted(r["title"] for r in rows) == sorted({f"Writer {i % 5}" for i in range(len(result["writes"]))})


async def test_row31_logout_and_disable_hold_from_the_next_request(
    loaded_hub: tuple[Hub, dict[str, dict[str, Any]]],
) -> None:
    hub, made = loaded_hub
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{hub.api_port}", timeout=60) as http:
        ana, ben = (made[h] for h in HOUSEHOLDS[:2])
        for m in (ana, ben):
            for _ in range(3):  # warm the token cache
                assert (await http.get("/me", headers={"Authorization": f"Bearer {m['token']}"})).status_code == 200
        r = await http.post("/auth/logout", headers={"Authorization": f"Bearer {ana['token']}"})
        assert r.status_code == 204
        for route in ("/me", "/suggestions", "/gatherings"):
            r = await http.get(route, headers={"Authorization": f"Bearer {ana['token']}"})
            assert r.status_code == 401, (route, r.text)
        hub.identity.disable_account(HOUSEHOLDS[1])
        for route in ("/me", "/calendar"):
            r = await http.get(route, headers={"Authorization": f"Bearer {ben['token']}"})
            assert r.status_code == 401, (route, r.text)
        third = made[HOUSEHOLDS[2]]
        assert (await http.get("/me", headers={"Authorization": f"Bearer {third['token']}"})).status_code == 200
