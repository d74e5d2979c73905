"""HTTP bridges against a real HTTP server on 127.0.0.1 serving corpus documents."""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from devices_helpers import corpus

from hub.devices import Normalizer, split_household
from hub.devices.bridges import Backoff, GrocyPoller, HomeConnectSSE, SmartThingsPoller

ST_DEVICE = "f0e1d2c3-0000-4000-8000-000000000001"
QUANTITY_UNITS = json.dumps([
    {"id": "3", "name": "Pack", "name_plural": "Packs"},
    {"id": "10", "name": "Bottle", "name_plural": "Bottles"},
]).encode()


@dataclass
class Route:
    body: bytes
    status: int = 200
    content_type: str = "application/json"
    fail_first: int = 0  # answer 500 to the first N requests
    slow_first: int = 0  # hold the first N requests until released (client times out)
    hits: int = 0


@dataclass
class Site:
    url: str
    routes: dict[str, Route]
    headers: list[dict[str, str]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # close after each response: streams end when we say so

    def do_GET(self) -> None:
        site: Site = self.server.site  # type: ignore[attr-defined]
        site.headers.append({k.lower(): v for k, v in self.headers.items()})
        route = site.routes.get(self.path.split("?")[0])
        if route is None:
            self.send_error(404)
            return
        route.hits += 1
        if route.hits <= route.slow_first:
            site.release.wait(timeout=5)
            return
        if route.hits <= route.fail_first:
            self.send_error(500)
            return
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        self.end_headers()
        self.wfile.write(route.body)

    def log_message(self, format: str, *args: object) -> None:
        del format, args


@pytest.fixture
def site() -> Iterator[Site]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    s = Site(url=f"http://127.0.0.1:{server.server_address[1]}", routes={})
    server.site = s  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, name="test-http", daemon=True)
    thread.start()
    try:
        yield s
    finally:
        s.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Collector:
    """The ``publish`` callable: remembers messages, wakes the test when enough arrived."""

    def __init__(self, want: int) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.want = want
        self.enough = asyncio.Event()

    async def __call__(self, topic: str, payload: bytes) -> None:
        self.messages.append((topic, payload))
        if len(self.messages) >= self.want:
            self.enough.set()


def fast_backoff(seed: int = 1) -> Backoff:
    return Backoff(initial=0.01, maximum=0.08, factor=2.0, jitter=0.5, rng=random.Random(seed))


async def run_until(bridge: object, collector: Collector, limit: float = 10.0) -> None:
    stop = asyncio.Event()
    run = bridge.run  # type: ignore[attr-defined]
    task = asyncio.create_task(run(stop), name="bridge-under-test")
    try:
        await asyncio.wait_for(collector.enough.wait(), limit)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def failures(bridge: SmartThingsPoller | HomeConnectSSE, count: int) -> None:
    """Wait (at most 5 s) until the bridge has failed ``count`` times."""
    async with asyncio.timeout(5):
        while bridge.errors < count:
            bridge.failed.clear()
            if bridge.errors < count:
                await bridge.failed.wait()


def test_backoff_grows_caps_jitters_and_resets() -> None:
    b = Backoff(initial=1.0, maximum=8.0, factor=2.0, jitter=0.5, rng=random.Random(42))
    delays = [b.next_delay() for _ in range(6)]
    for delay, ceiling in zip(delays, [1, 2, 4, 8, 8, 8], strict=True):
        assert ceiling * 0.5 <= delay <= ceiling
    assert len(set(delays)) == 6  # jittered
    b.reset()
    assert b.next_delay() <= 1.0
    with pytest.raises(ValueError, match="initial"):
        Backoff(initial=0)


async def test_grocy_poller_retries_then_publishes(site: Site) -> None:
    overview = json.loads(corpus("fridge/grocy_stock_overview.json"))
    volatile = {"due_products": [overview[0]], "overdue_products": [],
                "expired_products": [overview[2]], "missing_products": []}
    site.routes.update({
        "/api/objects/quantity_units": Route(QUANTITY_UNITS),
        "/api/stock": Route(corpus("fridge/grocy_stock_overview.json"), fail_first=2),
        "/api/stock/volatile": Route(json.dumps(volatile).encode()),
    })
    collector = Collector(want=3)
    async with httpx.AsyncClient(base_url=site.url, timeout=2.0,
                                 headers={"GROCY-API-KEY": "k-123"}) as client:
        bridge = GrocyPoller("h7", collector, client=client, interval=30,
                             backoff=fast_backoff())
        await run_until(bridge, collector)
    assert bridge.errors == 2
    assert "HTTP 500" in (bridge.last_error or "")
    assert len(bridge.backoff.history) == 2
    first, second = bridge.backoff.history
    assert 0.005 <= first <= 0.01 <= second <= 0.02  # jittered within a doubling ceiling
    assert [t for t, _ in collector.messages] == [
        "home/h7/bridge/grocy/quantity_units", "home/h7/bridge/grocy/stock",
        "home/h7/bridge/grocy/volatile"]
    assert all(h.get("grocy-api-key") == "k-123" for h in site.headers)
    norm = Normalizer()
    got = {}
    for topic, payload in collector.messages:
        household, vendor_topic = split_household(topic)
        for r in norm.normalize(vendor_topic, payload, household=household).readings:
            got[(r.metric, r.channel)] = (r.value, r.unit)
    assert got[("stock", "Milk")] == (2.0, "Bottle")
    assert got[("stock", "Crisps")] == (25.0, "Pack")
    assert got[("stock_expired", "Crisps")] == (True, None)
    assert got[("stock_due", "Chocolate")] == (True, None)


async def test_smartthings_poller_times_out_then_recovers(site: Site) -> None:
    site.routes.update({
        "/v1/devices": Route(json.dumps({"items": [{"deviceId": ST_DEVICE}]}).encode()),
        f"/v1/devices/{ST_DEVICE}/status": Route(
            corpus("fridge/smartthings_refrigerator_status_da_ref_normal_01011.json"),
            slow_first=1),
    })
    collector = Collector(want=1)
    async with httpx.AsyncClient(base_url=site.url, timeout=0.3,
                                 headers={"Authorization": "Bearer t0k"}) as client:
        bridge = SmartThingsPoller("h8", collector, client=client, interval=30,
                                   backoff=fast_backoff())
        await run_until(bridge, collector)
    assert bridge.errors == 1
    assert "timed out" in (bridge.last_error or "")
    ((topic, payload),) = collector.messages
    assert topic == f"home/h8/bridge/smartthings/{ST_DEVICE}/status"
    assert site.headers[0]["authorization"] == "Bearer t0k"
    household, vendor_topic = split_household(topic)
    readings = Normalizer().normalize(vendor_topic, payload, household=household).readings
    got = {(r.device, r.metric, r.channel): r.value for r in readings}
    assert got[(ST_DEVICE, "temperature", "freezer")] == -18  # device id from the URL
    assert got[(ST_DEVICE, "door_open", "cooler")] is False


async def test_smartthings_refuses_oversized_and_error_answers(site: Site) -> None:
    site.routes["/v1/devices"] = Route(b"[" + b" " * (300 * 1024) + b"]")
    collector = Collector(want=1)
    async with httpx.AsyncClient(base_url=site.url, timeout=2.0) as client:
        bridge = SmartThingsPoller("h8", collector, client=client, backoff=fast_backoff())
        stop = asyncio.Event()
        task = asyncio.create_task(bridge.run(stop), name="st-oversized")
        await failures(bridge, 2)
        assert not task.done()  # failures never end the loop
        stop.set()
        await asyncio.wait_for(task, 5)
    assert "over 262144 bytes" in (bridge.last_error or "")
    assert collector.messages == []


async def test_homeconnect_sse_frames_and_reconnect(site: Site) -> None:
    stream = (corpus("fridge/homeconnect_sse_STATUS_doorstate_open_washer.txt")
              + b"event:KEEP-ALIVE\ndata:\n\n"
              + corpus("fridge/homeconnect_sse_EVENT_program_finished.txt") + b"\n")
    site.routes["/api/homeappliances/events"] = Route(stream, content_type="text/event-stream",
                                                      fail_first=1)
    collector = Collector(want=6)  # three frames per connection, two connections
    async with httpx.AsyncClient(base_url=site.url, timeout=2.0) as client:
        bridge = HomeConnectSSE("h9", collector, client=client, read_timeout=2.0,
                                backoff=fast_backoff())
        await run_until(bridge, collector)
    assert bridge.connects >= 2  # the stream ended and was reopened
    assert bridge.errors >= 2  # one HTTP 500, one end of stream
    assert {t for t, _ in collector.messages} == {"home/h9/bridge/homeconnect/events"}
    assert site.headers[0]["accept"] == "text/event-stream"
    norm = Normalizer()
    got = set()
    for topic, payload in collector.messages[:3]:
        household, vendor_topic = split_household(topic)
        for r in norm.normalize(vendor_topic, payload, household=household).readings:
            got.add((r.metric, r.value, r.ts))
    assert got == {("door_open", True, "2023-02-20T12:57:25Z"),
                   ("program_finished", True, "2022-01-12T15:25:23Z")}


async def test_homeconnect_silent_stream_times_out(site: Site) -> None:
    site.routes["/api/homeappliances/events"] = Route(b"", content_type="text/event-stream",
                                                      slow_first=1)
    collector = Collector(want=1)
    async with httpx.AsyncClient(base_url=site.url, timeout=2.0) as client:
        bridge = HomeConnectSSE("h9", collector, client=client, read_timeout=0.3,
                                backoff=fast_backoff())
        stop = asyncio.Event()
        task = asyncio.create_task(bridge.run(stop), name="hc-silent")
        await failures(bridge, 1)
        assert not task.done()
        stop.set()
        await asyncio.wait_for(task, 5)
    assert "silent or slow" in (bridge.last_error or "")
