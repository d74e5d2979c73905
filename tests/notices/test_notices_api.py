"""The notices REST routes, with the admin placeholder replaced as the lead will."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from notices_support import cap_xml

from hub.identity.accounts import Principal
from hub.identity.auth import current_principal
from hub.notices.api import router


def make_app(kit, *, admin: bool) -> FastAPI:  # type: ignore[no-untyped-def]
    app = FastAPI()
    app.state.hub = SimpleNamespace(notices=kit.book, clock=kit.clock)
    app.include_router(router)
    role = "admin" if admin else "household"
    app.dependency_overrides[current_principal] = lambda: Principal(
        account_id="a1", username="admin-riverside" if admin else "ana", role=role,
        household=None if admin else "h-ana", community="riverside",
    )
    return app


def http(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub")


@pytest.fixture
async def client(kit) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    async with http(make_app(kit, admin=True)) as c:
        yield c


GAS = {
    "event": "Gas supply interruption",
    "category": ["Infra"],
    "headline": "Planned gas supply interruption, 17:00-23:00",
    "onset": "2026-11-28T17:00:00+01:00",
    "expires": "2026-11-28T23:00:00+01:00",
    "area": {
        "description": "Mill Lane",
        "polygons": [[[50.05, 19.92], [50.05, 19.95], [50.065, 19.95], [50.065, 19.92]]],
    },
}


async def test_a_household_may_not_post_notices(kit) -> None:  # type: ignore[no-untyped-def]
    async with http(make_app(kit, admin=False)) as c:
        resp = await c.post("/communities/riverside/notices", json=GAS)
    assert resp.status_code == 403
    assert kit.book.active() == []


async def test_post_json_then_read_back(client: httpx.AsyncClient, kit) -> None:  # type: ignore[no-untyped-def]
    resp = await client.post("/communities/riverside/notices", json=GAS | {"id": "api-gas-1"})
    assert resp.status_code == 201, resp.text
    (change,) = resp.json()["changes"]
    assert change["action"] == "arrived"
    assert change["households"] == ["ana", "ben"]
    assert change["notice"]["sender"] == "admin-riverside"
    assert change["notice"]["sent"] == "2026-11-28T11:00:00+00:00"
    listed = (await client.get("/communities/riverside/notices")).json()
    assert [(n["id"], n["households"]) for n in listed] == [("api-gas-1", 2)]
    assert listed[0]["area"]["polygons"][0][-1] == [50.05, 19.92]  # ring closed
    assert [n["id"] for n in (await client.get("/households/ben/notices")).json()] == ["api-gas-1"]
    assert (await client.get("/households/chen/notices")).json() == []

    cancel = {"event": "Gas supply interruption", "msg_type": "cancel", "references": ["api-gas-1"]}
    resp = await client.post("/communities/riverside/notices", json=cancel)
    assert [c["action"] for c in resp.json()["changes"]] == ["cancelled"]
    assert (await client.get("/communities/riverside/notices")).json() == []


async def test_post_cap_xml(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        "/communities/riverside/notices",
        content=cap_xml("api-cap-1"),
        headers={"Content-Type": "application/cap+xml"},
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["changes"][0]["notice"]["id"] == "api-cap-1"
    spanish = (await client.get("/households/ben/notices", params={"language": "es"})).json()
    assert spanish[0]["event"] == "Corte de gas"


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (GAS | {"colour": "red"}, ["colour"]),
        (GAS | {"category": ["Gas"]}, ["category", 0]),
        (GAS | {"expires": "2026-11-28T23:00:00"}, ["expires"]),
        (GAS | {"area": {"polygons": [[[95.0, 0.0], [1, 1], [2, 2]]]}}, ["area", "polygons"]),
        ({k: v for k, v in GAS.items() if k != "event"}, ["event"]),
    ],
)
async def test_invalid_json_is_refused_with_where(
    client: httpx.AsyncClient, body: dict, where: list
) -> None:  # type: ignore[type-arg]
    resp = await client.post("/communities/riverside/notices", json=body)
    assert resp.status_code == 422
    locs = [e["loc"] for e in resp.json()["detail"]]
    assert any(loc[: len(where)] == where for loc in locs), locs


async def test_hostile_cap_is_refused(client: httpx.AsyncClient, kit) -> None:  # type: ignore[no-untyped-def]
    resp = await client.post(
        "/communities/riverside/notices",
        content=b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
        headers={"Content-Type": "application/cap+xml"},
    )
    assert resp.status_code == 422
    assert "DTDForbidden" in resp.json()["detail"]
    assert kit.outbox.pending() == []


async def test_oversized_body_is_refused(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        "/communities/riverside/notices",
        content=b"x" * (5 * 1024 * 1024 + 1),
        headers={"Content-Type": "application/cap+xml"},
    )
    assert resp.status_code == 413
