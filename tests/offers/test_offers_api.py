"""The offers API through a real HTTP server: scoping, idempotency, pagination, problems,
the claim race, and live updates over SSE."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from offers_fixtures import Hub, Server, build_app

from hub.offers.slots import add_hourly_slots, get_slot

DAY = "2026-11-28"
H_ANA = {"x-test-principal": "household:h-ana"}
H_BEN = {"x-test-principal": "household:h-ben"}
GROCER = {"x-test-principal": "provider:fresh-grocer"}
ADMIN = {"x-test-principal": "admin:riverside"}


def slot(provider: str, hh_mm: str) -> str:
    return f"{provider}@{DAY}T{hh_mm}:00Z"


@pytest.fixture
def server(hub: Hub) -> Iterator[Server]:
    with Server(build_app(hub.offers)) as srv:
        yield srv


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as c:
        yield c


def raise_low(hub: Hub, household: str = "h-ana") -> str:
    from offers_fixtures import Action

    hub.offers.sink.submit([Action(kind="suggest", household=household, rule_id="pantry-low",
                                   key=f"low:{household}", title="Groceries running low",
                                   data={"kind": "grocery", "items": [
                                       {"name": "milk", "qty": 0.2, "unit": "l"}]})])
    return str(hub.offers.suggestions.page(household).items[0]["id"])


def test_accept_replay_with_same_key_gives_same_answer(hub: Hub, client: httpx.Client) -> None:
    sid = raise_low(hub)
    body = {"slot": slot("fresh-grocer", "18:00")}
    headers = {**H_ANA, "Idempotency-Key": "accept-1"}
    first = client.post(f"/suggestions/{sid}/accept", json=body, headers=headers)
    second = client.post(f"/suggestions/{sid}/accept", json=body, headers=headers)
    assert first.status_code == 200
    assert second.status_code == 200
    assert second.json() == first.json()
    assert first.json()["result"]["state"] == "accepted"
    assert get_slot(hub.db, slot("fresh-grocer", "18:00")).free == 4  # taken once
    assert len(hub.feed("fresh-grocer")) == 1
    # Without the key, a second accept is a clear conflict.
    third = client.post(f"/suggestions/{sid}/accept", json=body, headers=H_ANA)
    assert third.status_code == 409
    assert third.headers["content-type"] == "application/problem+json"
    assert third.json()["detail"] == f"suggestion {sid} is already accepted"
    # Same key, different request: refused.
    other = client.post(f"/suggestions/{sid}/accept", json={"slot": slot("fresh-grocer", "19:00")},
                        headers=headers)
    assert other.status_code == 409
    assert "different request" in other.json()["detail"]


def test_scoping_404_never_other_households_data(hub: Hub, client: httpx.Client) -> None:
    sid = raise_low(hub)
    client.post(f"/suggestions/{sid}/accept", json={"slot": slot("fresh-grocer", "18:00")},
                headers=H_ANA)
    [booking] = client.get("/calendar", headers=H_ANA).json()["items"]
    req = booking["ref"]
    probes = [("GET", f"/suggestions/{sid}"), ("GET", f"/bookings/{booking['id']}"),
              ("GET", f"/requests/{req}"), ("POST", f"/bookings/{booking['id']}/cancel"),
              ("POST", f"/bookings/{booking['id']}/move"), ("POST", f"/suggestions/{sid}/decline")]
    for method, path in probes:
        body = {"slot": slot("fresh-grocer", "21:00")} if path.endswith("move") else None
        r = client.request(method, path, headers=H_BEN, json=body)
        assert r.status_code == 404, path
        assert "h-ana" not in r.text
        assert "Elm Street" not in r.text
    assert client.get("/calendar", headers=H_BEN).json()["items"] == []
    # Nothing changed for Ana.
    assert client.get(f"/bookings/{booking['id']}", headers=H_ANA).json()["state"] == "active"


def test_roles_and_extra_fields(hub: Hub, client: httpx.Client) -> None:
    sid = raise_low(hub)
    assert client.get("/provider/feed", headers=H_ANA).status_code == 403
    assert client.get("/suggestions", headers=GROCER).status_code == 403
    assert client.get("/admin/gatherings", headers=H_ANA).status_code == 403
    assert client.get("/suggestions").status_code == 401
    for extra in ({"household_id": "h-ben"}, {"status": "fulfilled"},
                  {"provider_id": "fresh-grocer"}):
        r = client.post(f"/suggestions/{sid}/accept",
                        json={"slot": slot("fresh-grocer", "18:00"), **extra}, headers=H_ANA)
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        assert next(iter(extra)) in r.json()["detail"]
    assert hub.offers.suggestions.get("h-ana", sid).state == "proposed"
    assert get_slot(hub.db, slot("fresh-grocer", "18:00")).free == 5
    garbled = client.post(f"/suggestions/{sid}/accept", content=b"#\xff\xfeE",
                          headers={**H_ANA, "content-type": "application/json"})
    assert garbled.status_code in (400, 422)
    assert garbled.headers["content-type"] == "application/problem+json"


def test_pagination_cursor_and_maximum(hub: Hub, client: httpx.Client) -> None:
    from offers_fixtures import Action

    hub.offers.sink.submit([Action(kind="notify", household="h-ana", key=f"n{i}",
                                   title=f"note {i}") for i in range(7)])
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/suggestions", params=params, headers=H_ANA).json()
        seen += [s["title"] for s in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == [f"note {i}" for i in range(7)]
    assert client.get("/suggestions", params={"limit": 101}, headers=H_ANA).status_code == 422
    bad = client.get("/suggestions", params={"cursor": "not-a-cursor"}, headers=H_ANA)
    assert bad.status_code == 422


def test_openapi_complete_with_examples(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    paths = doc["paths"]
    for path in ("/suggestions/{sid}/accept", "/bookings/{bid}/move", "/provider/feed",
                 "/provider/requests/{rid}/claim", "/gatherings", "/rides", "/events",
                 "/admin/gatherings", "/requests/{rid}/rate"):
        assert path in paths, path
    claim = paths["/provider/requests/{rid}/claim"]["post"]
    assert claim["responses"]["409"]["content"]["application/problem+json"]["example"][
        "status"] == 409
    assert doc["components"]["schemas"]["GatheringBody"]["examples"][0]["title"] == (
        "Dinner at river-bistro")
    assert doc["components"]["schemas"]["GatheringBody"]["additionalProperties"] is False


def _fifty_grocers(hub: Hub) -> list[str]:
    names = [f"grocer-{i:02d}" for i in range(50)]
    with hub.db.transaction() as conn:
        for pid in names:
            conn.execute("INSERT INTO providers (id, community, name, kinds, created_at)"
                         " VALUES (?, 'riverside', ?, '[\"grocery\"]', 0)", (pid, pid))
            add_hourly_slots(conn, pid, "grocery", hub.seed.day, 9, 21, 5)
            hub.grants.grant("h-ana", pid, "grocery_delivery", "pantry_needs", "slot")
    return names


def test_claim_race_50_over_http_exactly_one_wins(hub: Hub, server: Server,
                                                  client: httpx.Client) -> None:
    names = _fifty_grocers(hub)
    sid = raise_low(hub)
    req = client.post(f"/suggestions/{sid}/accept", json={"slot": slot("fresh-grocer", "18:00")},
                      headers=H_ANA).json()["result"]["id"]

    async def one(pid: str, ac: httpx.AsyncClient) -> httpx.Response:
        return await ac.post(f"/provider/requests/{req}/claim",
                             headers={"x-test-principal": f"provider:{pid}",
                                      "Idempotency-Key": f"claim-{pid}"})

    async def race() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=60)
        async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as ac:
            return await asyncio.gather(*(one(pid, ac) for pid in names))

    answers = asyncio.run(race())
    statuses = sorted(r.status_code for r in answers)
    assert statuses.count(200) == 1
    assert statuses.count(409) == 49
    losers = [r for r in answers if r.status_code == 409]
    assert all(r.json()["detail"] == f"request {req} is already claimed" for r in losers)
    winner = next(r for r in answers if r.status_code == 200)
    assert winner.json()["state"] == "scheduled"
    assert winner.json()["claimed_by_you"] is True
    won_by = next(pid for pid, r in zip(names, answers, strict=True) if r.status_code == 200)
    row = hub.db.query_one("SELECT provider, state FROM offers WHERE id = ?", (req,))
    assert row is not None
    assert (row["state"], row["provider"]) == ("scheduled", won_by)
    assert [t["to_state"] for t in hub.offers.uow.transitions("offer", req)] == [
        "accepted", "claimed", "scheduled"]
    # A loser replaying its key gets its first answer again (409), not a new outcome.
    loser_pid = next(pid for pid, r in zip(names, answers, strict=True) if r.status_code == 409)
    replay = client.post(f"/provider/requests/{req}/claim",
                         headers={"x-test-principal": f"provider:{loser_pid}",
                                  "Idempotency-Key": f"claim-{loser_pid}"})
    assert replay.status_code == 409


def test_claim_race_http_and_mqtt_mixed(hub: Hub, server: Server) -> None:
    names = _fifty_grocers(hub)
    sid = raise_low(hub)
    req = hub.offers.accept_suggestion("h-ana", sid, slot=slot("fresh-grocer", "18:00"),
                                       actor="h-ana")["result"]["id"]
    results: dict[str, Any] = {}
    start = threading.Event()

    def by_http(pid: str) -> None:
        start.wait(5)
        with httpx.Client(base_url=server.url, timeout=30) as c:
            results[pid] = c.post(f"/provider/requests/{req}/claim",
                                  headers={"x-test-principal": f"provider:{pid}"}).status_code

    def by_mqtt(pid: str) -> None:
        start.wait(5)
        results[pid] = hub.offers.handle_claim(
            pid, orjson.dumps({"request": req, "id": f"m-{pid}"})).status

    threads = [threading.Thread(target=by_http if i % 2 else by_mqtt, args=(pid,))
               for i, pid in enumerate(names)]
    for t in threads:
        t.start()
    start.set()
    for t in threads:
        t.join(30)
    won = [pid for pid, r in results.items() if r in (200, "claimed")]
    lost = [pid for pid, r in results.items() if r in (409, "conflict")]
    assert len(results) == 50
    assert len(won) == 1
    assert len(lost) == 49
    row = hub.db.query_one("SELECT provider FROM offers WHERE id = ?", (req,))
    assert row is not None
    assert row["provider"] == won[0]


def test_story_over_http(hub: Hub, client: httpx.Client) -> None:
    sid = raise_low(hub)
    acc = client.post(f"/suggestions/{sid}/accept", json={"slot": slot("fresh-grocer", "18:00")},
                      headers=H_ANA).json()
    req = acc["result"]["id"]
    feed = client.get("/provider/feed", headers=GROCER).json()["items"]
    assert [(f["request"], f["address"], f["items"]) for f in feed] == [
        (req, {"street": "Elm Street 12"}, [{"name": "milk", "qty": 0.2, "unit": "l"}])]
    assert client.post(f"/provider/requests/{req}/claim", headers=GROCER).status_code == 200
    g = client.post("/gatherings", headers=H_ANA, json={
        "title": "Dinner at river-bistro", "starts_at": f"{DAY}T18:30:00Z",
        "place": {"label": "River Bistro", "provider": "river-bistro", "seats": 3},
        "invite": ["h-ben", "h-chen"]}).json()
    assert g["capacity"] == 3
    assert get_slot(hub.db, slot("river-bistro", "18:30")).free == 9
    cal = client.get("/calendar", headers=H_ANA).json()["items"]
    assert [(b["kind"], b["clash"]) for b in cal] == [("grocery", True), ("gathering", True)]
    moved = client.post(f"/bookings/{cal[0]['id']}/move", headers=H_ANA,
                        json={"slot": slot("fresh-grocer", "21:00")})
    assert moved.status_code == 200
    assert moved.json()["clash"] is False
    assert get_slot(hub.db, slot("fresh-grocer", "18:00")).free == 5
    sched = client.get("/provider/schedule", headers=GROCER).json()["items"]
    assert sched[0]["slot"] == {"start": f"{DAY}T21:00:00Z", "end": f"{DAY}T22:00:00Z"}
    assert client.post(f"/provider/requests/{req}/fulfil", headers=GROCER).json()[
        "state"] == "fulfilled"
    rated = client.post(f"/requests/{req}/rate", headers=H_ANA, json={"stars": 5})
    assert rated.status_code == 200
    assert len(rated.json()["hash"]) == 64
    assert client.get("/ratings/verify", headers=H_BEN).json() == {
        "ok": True, "count": 1, "broken_at": None, "reason": ""}
    assert [x["id"] for x in client.get("/admin/gatherings", headers=ADMIN).json()["items"]] == [
        g["id"]]
    r = client.post("/gatherings", headers=H_BEN, json={
        "title": "x", "starts_at": f"{DAY}T18:30:00Z", "invite": [],
        "place": {"label": "Bistro", "provider": "river-bistro", "seats": 10}})
    assert r.status_code == 409
    assert "full" in r.json()["detail"]


async def test_sse_streams_own_events_only(hub: Hub, server: Server) -> None:
    from offers_fixtures import Action

    got: list[dict[str, Any]] = []
    async with (httpx.AsyncClient(base_url=server.url, timeout=10) as ac,
                ac.stream("GET", "/events", headers=H_ANA) as resp):
        assert resp.headers["content-type"].startswith("text/event-stream")
        lines = resp.aiter_lines()
        assert await anext(lines) == "event: ready"
        # Ben's suggestion must not reach Ana's stream; hers must.
        await asyncio.to_thread(hub.offers.sink.submit, [
            Action(kind="notify", household="h-ben", key="b", title="for ben"),
            Action(kind="notify", household="h-ana", key="a", title="for ana")])
        async with asyncio.timeout(5):
            async for line in lines:
                if line.startswith("data:") and line != "data: {}":
                    got.append(orjson.loads(line[5:]))
                    break
    assert got[0]["title"] == "for ana"
    assert got[0]["type"] == "suggestion"


def test_gatherings_rides_and_provider_objects_are_scoped(hub: Hub, client: httpx.Client) -> None:
    g = client.post("/gatherings", headers=H_ANA, json={
        "title": "Dinner", "starts_at": f"{DAY}T18:30:00Z", "invite": ["h-ben"],
        "place": {"label": "River Bistro", "provider": "river-bistro", "seats": 3}}).json()
    ride = client.post("/rides", headers={"x-test-principal": "household:h-chen"}, json={
        "destination": {"label": "Lake Pier", "lat": 52.1304, "lon": 5.0},
        "depart_earliest": f"{DAY}T08:30:00Z", "seats": 3}).json()
    tom = {"x-test-principal": "household:h-tom"}
    assert client.get(f"/gatherings/{g['id']}", headers=H_BEN).status_code == 200  # invited
    assert client.get(f"/gatherings/{g['id']}", headers=tom).status_code == 404
    r = client.post(f"/gatherings/{g['id']}/rsvp", headers=tom, json={"going": True})
    assert r.status_code == 404
    r = client.post(f"/gatherings/{g['id']}/invite", headers=H_BEN, json={"households": ["h-tom"]})
    assert r.status_code == 404  # only the host invites
    assert client.get(f"/rides/{ride['id']}", headers=tom).status_code == 404
    seat = client.post(f"/rides/{ride['id']}/accept", headers=tom)
    assert seat.status_code == 200
    assert seat.json()["you"] == "booked"
    assert [r["household"] for r in seat.json()["riders"]] == ["h-tom"]
    assert [b["kind"] for b in client.get("/bookings", headers=tom).json()["items"]] == ["ride"]
    sid = raise_low(hub)
    req = client.post(f"/suggestions/{sid}/accept", json={"slot": slot("fresh-grocer", "18:00")},
                      headers=H_ANA).json()["result"]["id"]
    other = {"x-test-principal": "provider:river-bistro"}
    assert client.post(f"/provider/requests/{req}/claim", headers=other).status_code == 404
    assert client.post(f"/provider/requests/{req}/fulfil", headers=other).status_code == 404
    assert client.get("/provider/feed", headers=other).json()["items"] == []
    for probe in (req, "req-0", "req-1", "' OR 1=1 --", "x" * 150):
        assert client.get(f"/requests/{probe}", headers=H_BEN).status_code in (404, 422)
