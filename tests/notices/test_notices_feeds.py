"""Feed pollers against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from notices_support import CORPUS, cap_xml

from hub.notices.book import NoticeChange
from hub.notices.feeds import FeedConfig, FeedPoller, FeedStatus, backoff_delay

LAST_MODIFIED = "Sat, 28 Nov 2026 10:00:00 GMT"


class FeedServer:
    """Serves fixed routes; records each request's path and conditional headers."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str | None, str | None]] = []
        self.release = threading.Event()
        self.routes: dict[
            str, Callable[[BaseHTTPRequestHandler], tuple[int, bytes, dict[str, str]]]
        ]
        self.routes = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(
                    (
                        self.path,
                        self.headers.get("If-None-Match"),
                        self.headers.get("If-Modified-Since"),
                    )
                )
                route = server.routes.get(self.path)
                code, body, headers = route(self) if route else (404, b"", {})
                self.send_response(code)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                # A client that gave up (the timed-out poll) is expected here.
                pass

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="feed-server")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def paths(self) -> list[str]:
        return [p for p, _, _ in self.requests]


@pytest.fixture
def server() -> Iterator[FeedServer]:
    srv = FeedServer()
    srv.thread.start()
    yield srv
    srv.release.set()  # let a held slow response finish
    srv.httpd.shutdown()
    srv.httpd.server_close()
    srv.thread.join(timeout=5)


def etag_route(
    body: bytes, etag: str
) -> Callable[[BaseHTTPRequestHandler], tuple[int, bytes, dict[str, str]]]:
    def route(h: BaseHTTPRequestHandler) -> tuple[int, bytes, dict[str, str]]:
        if h.headers.get("If-None-Match") == etag:
            return 304, b"", {"ETag": etag}
        return 200, body, {"ETag": etag, "Content-Type": "application/cap+xml"}

    return route


def atom_index(server: FeedServer, ids: list[str]) -> bytes:
    entries = "".join(
        f"<entry><id>{server.url(f'/alerts/{i}.xml')}</id>"
        f"<updated>2026-11-28T11:00:00+01:00</updated><title>Gas {i}</title>"
        f'<link href="{server.url(f"/alerts/{i}.xml")}"/>'
        f"<cap:event>Gas supply interruption</cap:event><cap:msgType>Alert</cap:msgType>"
        f"<cap:category>Infra</cap:category></entry>"
        for i in ids
    )
    return (
        '<feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:cap="urn:oasis:names:tc:emergency:cap:1.2"><id>idx</id>'
        f"<author><name>gas utility</name></author>{entries}</feed>"
    ).encode()


async def test_conditional_get_and_304(kit, server: FeedServer) -> None:  # type: ignore[no-untyped-def]
    server.routes["/gas.xml"] = etag_route(cap_xml("feed-gas-1"), '"v1"')
    outage = (
        (CORPUS / "tauron_outages_planned_subset.json")
        .read_bytes()
        .replace(b"2026-10-06T15:00:00Z", b"2026-11-28T20:00:00Z")
    )

    def outage_route(h: BaseHTTPRequestHandler) -> tuple[int, bytes, dict[str, str]]:
        if h.headers.get("If-Modified-Since") == LAST_MODIFIED:
            return 304, b"", {}
        return 200, outage, {"Last-Modified": LAST_MODIFIED}

    server.routes["/outages.json"] = outage_route
    poller = FeedPoller(
        kit.book,
        [
            FeedConfig(url=server.url("/gas.xml"), community="riverside"),
            FeedConfig(url=server.url("/outages.json"), community="riverside"),
        ],
        clock=kit.clock,
    )
    try:
        (change,) = await poller.poll(server.url("/gas.xml"))
        assert (change.action, change.notice.id) == ("arrived", "feed-gas-1")
        assert await poller.poll(server.url("/gas.xml")) == []
        (change,) = await poller.poll(server.url("/outages.json"))
        assert change.notice.id == "c497d2cf-4338-4580-88e9-126cfd7f1a3a"
        assert await poller.poll(server.url("/outages.json")) == []
    finally:
        await poller.stop()
    assert server.requests == [
        ("/gas.xml", None, None),
        ("/gas.xml", '"v1"', None),
        ("/outages.json", None, None),
        ("/outages.json", None, LAST_MODIFIED),
    ]
    gas, outages = poller.status()
    assert (gas.etag, gas.not_modified, gas.polls, gas.failures) == ('"v1"', 1, 2, 0)
    assert gas.last_ok == kit.clock.now()
    assert gas.last_error is None
    assert (outages.last_modified, outages.not_modified) == (LAST_MODIFIED, 1)
    assert sorted(n.id for n in kit.book.active("riverside")) == [
        "c497d2cf-4338-4580-88e9-126cfd7f1a3a",
        "feed-gas-1",
    ]


async def test_slow_feed_times_out_while_another_is_served_on_time(kit, server: FeedServer) -> None:  # type: ignore[no-untyped-def]
    def slow(_h: BaseHTTPRequestHandler) -> tuple[int, bytes, dict[str, str]]:
        server.release.wait(10)  # held until the test ends: a server that never answers
        return 200, cap_xml("too-late"), {}

    server.routes["/slow.xml"] = slow
    server.routes["/fast.xml"] = etag_route(cap_xml("on-time"), '"f1"')
    arrived = asyncio.Event()
    slow_failed = asyncio.Event()

    def on_status(status: FeedStatus) -> None:
        if status.url == slow_url and status.failures:
            slow_failed.set()

    def on_changes(changes: list[NoticeChange]) -> None:
        if any(c.notice.id == "on-time" for c in changes):
            arrived.set()

    slow_url, fast_url = server.url("/slow.xml"), server.url("/fast.xml")
    poller = FeedPoller(
        kit.book,
        [
            FeedConfig(url=slow_url, community="riverside", interval_s=60, timeout_s=1.0),
            FeedConfig(url=fast_url, community="riverside", interval_s=60, timeout_s=5.0),
        ],
        clock=kit.clock,
        on_changes=on_changes,
        on_status=on_status,
        backoff_base_s=30.0,
    )
    poller.start()
    try:
        await asyncio.wait_for(arrived.wait(), timeout=5)
        slow_status = next(s for s in poller.status() if s.url == slow_url)
        # The fast feed was served while the slow one was still hanging.
        assert slow_status.last_error is None
        assert slow_status.polls == 1

        await asyncio.wait_for(slow_failed.wait(), timeout=5)
        started = datetime.now(UTC)
        slow_status, fast_status = poller.status()
        assert slow_status.last_error is not None
        assert "timed out after 1.0s" in slow_status.last_error
        assert slow_status.last_ok is None
        assert slow_status.next_poll is not None
        # Backoff: 30 s base with jitter in [0.5, 1].
        assert started + timedelta(seconds=13) < slow_status.next_poll
        assert slow_status.next_poll < started + timedelta(seconds=31)
        assert fast_status.failures == 0
        assert fast_status.next_poll is not None
        assert fast_status.next_poll > started + timedelta(seconds=50)
    finally:
        await poller.stop()
    assert kit.book.get("too-late") is None
    assert kit.book.get("on-time") is not None


async def test_index_feed_fetches_each_full_alert_once(kit, server: FeedServer) -> None:  # type: ignore[no-untyped-def]
    server.routes["/index.atom"] = lambda _h: (200, atom_index(server, ["a", "b"]), {})
    server.routes["/alerts/a.xml"] = lambda _h: (200, cap_xml("full-a"), {})
    server.routes["/alerts/b.xml"] = lambda _h: (200, cap_xml("full-b", polygon=None), {})
    url = server.url("/index.atom")
    poller = FeedPoller(kit.book, [FeedConfig(url=url, community="riverside")], clock=kit.clock)
    try:
        changes = await poller.poll(url)
        assert sorted(c.notice.id for c in changes) == ["full-a", "full-b"]
        assert await poller.poll(url) == []
    finally:
        await poller.stop()
    assert sorted(server.paths()) == [
        "/alerts/a.xml",
        "/alerts/b.xml",
        "/index.atom",
        "/index.atom",
    ]
    full_b = kit.book.get("full-b")
    assert full_b is not None
    assert full_b.source == "cap"
    # No polygon: the area description "Mill Lane and around" names Ana's and Ben's street.
    assert kit.book.households_of("full-b", "riverside") == frozenset({"ana", "ben"})


async def test_failed_full_alert_is_retried_on_the_next_poll(kit, server: FeedServer) -> None:  # type: ignore[no-untyped-def]
    served = {"a": 0}

    def flaky(_h: BaseHTTPRequestHandler) -> tuple[int, bytes, dict[str, str]]:
        served["a"] += 1
        return (503, b"", {}) if served["a"] == 1 else (200, cap_xml("flaky-a"), {})

    server.routes["/index.atom"] = etag_route(atom_index(server, ["a"]), '"i1"')
    server.routes["/alerts/a.xml"] = flaky
    url = server.url("/index.atom")
    poller = FeedPoller(kit.book, [FeedConfig(url=url, community="riverside")], clock=kit.clock)
    try:
        assert await poller.poll(url) == []
        (status,) = poller.status()
        assert status.last_error is not None
        assert "1 of 1 full alerts failed" in status.last_error
        assert status.etag is None  # so the index is fetched in full again
        (change,) = await poller.poll(url)
        assert change.notice.id == "flaky-a"
    finally:
        await poller.stop()
    assert server.requests[2] == ("/index.atom", None, None)


async def test_failures_back_off_and_hostile_feed_is_refused(kit, server: FeedServer) -> None:  # type: ignore[no-untyped-def]
    server.routes["/broken"] = lambda _h: (500, b"oops", {})
    server.routes["/hostile"] = lambda _h: (
        200,
        b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
        {},
    )
    broken, hostile = server.url("/broken"), server.url("/hostile")
    poller = FeedPoller(
        kit.book,
        [
            FeedConfig(url=broken, community="riverside"),
            FeedConfig(url=hostile, community="riverside"),
        ],
        clock=kit.clock,
    )
    try:
        await poller.poll(broken)
        await poller.poll(broken)
        await poller.poll(hostile)
    finally:
        await poller.stop()
    b, h = poller.status()
    assert b.failures == 2
    assert b.last_error == f"HTTP 500 from {broken}"
    assert h.failures == 1
    assert h.last_error is not None
    assert "DTDForbidden" in h.last_error
    assert kit.book.active() == []


def test_backoff_delay_grows_exponentially_with_jitter_and_a_cap() -> None:
    rng = random.Random(7)
    for failures, ceiling in [(1, 30), (2, 60), (3, 120), (8, 3600), (30, 3600)]:
        delays = [backoff_delay(failures, base_s=30, cap_s=3600, rng=rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) == 50  # jittered
