"""Live updates over the real SSE route: the owner hears of a loan request at once."""

from __future__ import annotations

import threading

import httpx
from sharing_support import World, who


def test_the_owner_hears_of_a_request_over_sse(api: httpx.Client, world: World) -> None:
    drill = api.post("/things", json={"title": "Cordless drill"}, headers=who("h-chen")).json()
    events: list[str] = []
    ready = threading.Event()
    got = threading.Event()

    def listen() -> None:
        with httpx.Client(base_url=str(api.base_url), timeout=30) as client, client.stream(
                "GET", "/events", headers=who("h-chen")) as stream:
            for line in stream.iter_lines():
                if line.startswith("event: ready"):
                    ready.set()
                if line.startswith("event: sharing."):
                    events.append(line.removeprefix("event: "))
                if line.startswith("data:") and events:
                    events.append(line)
                    got.set()
                    return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert ready.wait(10)
    r = api.post(f"/things/{drill['id']}/loans", json={
        "start": "2026-11-29T10:00:00Z", "end": "2026-11-29T12:00:00Z"}, headers=who("h-ana"))
    assert r.status_code == 201
    assert got.wait(10)
    thread.join(10)
    assert events[0] == "sharing.loan-requested"
    assert r.json()["id"] in events[1]
