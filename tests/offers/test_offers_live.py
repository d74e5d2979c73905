"""Live updates: audiences, thread-safe publish, slow subscribers dropped."""

from __future__ import annotations

import asyncio
import threading

from hub.offers.live import LiveUpdates


async def test_publish_reaches_only_its_audience() -> None:
    live = LiveUpdates()
    ana = live.subscribe("household:h-ana")
    ben = live.subscribe("household:h-ben")
    t = threading.Thread(target=live.publish, args=("household:h-ana", {"type": "x", "n": 1}))
    t.start()
    t.join()
    async with asyncio.timeout(2):
        assert await anext(ana) == {"type": "x", "n": 1}
    assert ben._sub.queue.empty()
    await ana.aclose()
    await ben.aclose()
    assert live.subscribers("household:h-ana") == 0


async def test_slow_subscriber_is_dropped_others_keep_flowing() -> None:
    live = LiveUpdates(queue_size=5)
    slow = live.subscribe("provider:p")
    fast = live.subscribe("provider:p")
    got: list[int] = []
    for i in range(8):
        live.publish("provider:p", {"type": "x", "n": i})
        await asyncio.sleep(0)  # let call_soon_threadsafe deliver
        got.append((await anext(fast))["n"])
    assert got == list(range(8))
    assert live.dropped == 1
    assert live.subscribers("provider:p") == 1
    async with asyncio.timeout(2):
        rest = [e async for e in slow]
    assert rest == []  # the dropped stream ends instead of replaying stale events
    await fast.aclose()
