"""RELIABILITY row 37: one account opening 1,000 event streams starves no one.

One household's browser session asks for 1,000 live streams (``/ui/stream``) in waves of
100 while its first ones stay open: ``HUB_STREAMS_PER_ACCOUNT`` of them are served, every
other answer is 429 with ``Retry-After`` (problem+json); another household then opens its
full share, and the first gets its places back once it closes its streams.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import httpx

from hub.dashboards.stream import _Gauge
from tests.reliability.conftest import ANA, ANA_PASSWORD, BEN, BEN_PASSWORD, Live

ATTEMPTS = 1000
WAVE = 100


async def _client(live_hub: Live, username: str, password: str) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=live_hub.url, timeout=30,
                             limits=httpx.Limits(max_connections=WAVE + 20, max_keepalive_connections=0))
    r = await http.post("/ui/login", data={"username": username, "password": password})
    assert r.status_code == 303
    return http


async def _open(http: httpx.AsyncClient, n: int) -> list[httpx.Response]:
    return list(await asyncio.gather(*(http.send(http.build_request("GET", "/ui/stream"), stream=True)
                                       for _ in range(n))))


async def _until(condition: Callable[[], bool]) -> None:
    """Wait (30 s at most) for a condition of the hub's own state (it runs in this event loop)."""
    async with asyncio.timeout(30):
        while not condition():  # noqa: ASYNC110 - no event to wait on: the gauge is a counter
            await asyncio.sleep(0.05)


async def test_row37_a_per_account_cap_on_event_streams(live_hub: Live) -> None:
    cap = live_hub.ui.hub.settings.streams_per_account
    ana_id = live_hub.ui.identity.authenticate(
        live_hub.ui.identity.login(ANA, ANA_PASSWORD)[0]).account_id
    async with contextlib.AsyncExitStack() as stack:
        ana = await _client(live_hub, ANA, ANA_PASSWORD)
        stack.push_async_callback(ana.aclose)
        ben = await _client(live_hub, BEN, BEN_PASSWORD)
        stack.push_async_callback(ben.aclose)
        served: list[httpx.Response] = []
        refused = 0
        for _ in range(ATTEMPTS // WAVE):
            for r in await _open(ana, WAVE):
                if r.status_code == 200:
                    served.append(r)
                    continue
                assert r.status_code == 429
                assert r.headers["content-type"] == "application/problem+json"
                assert int(r.headers["retry-after"]) >= 1
                await r.aread()
                await r.aclose()
                refused += 1
        assert len(served) == cap
        assert refused == ATTEMPTS - cap
        first = await served[0].aiter_bytes().__anext__()
        assert first.startswith(b"retry:")
        # Another account keeps its whole share while the first holds all of its own.
        others = await _open(ben, cap)
        assert [r.status_code for r in others] == [200] * cap
        for r in [*others, *served]:
            await r.aclose()
        # Closed streams give their places back (the server sees each disconnect).
        await _until(lambda: _Gauge.per_account.get(ana_id, 0) == 0)
        again = await _open(ana, 1)
        assert again[0].status_code == 200
        await again[0].aclose()
    print(f"RELIABILITY row 37: {ATTEMPTS} streams asked by one account: {cap} served, {refused} refused "
          f"with 429 and Retry-After; another account opened its {cap}; 0 starved")
