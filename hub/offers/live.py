"""Live updates for the web UI: an in-process broadcaster behind the SSE route.

Audiences are strings: ``household:<id>``, ``provider:<id>``, ``community:<id>``.
:meth:`LiveUpdates.publish` may be called from any thread (API worker threads, the hub's
loop); delivery hops onto each subscriber's own event loop. Every subscriber has a bounded
queue: when it is full the subscriber is dropped (its stream ends; the browser's
EventSource reconnects and reloads), so a slow reader never holds up the hub.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

_DROPPED: dict[str, Any] = {"type": "dropped"}


@dataclass(eq=False, slots=True)
class _Subscriber:
    audience: str
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[dict[str, Any]]
    dropped: bool = False
    closed: bool = field(default=False)


class LiveUpdates:
    """Fan out events to subscribers of an audience.

    Args:
        queue_size: events a subscriber may have waiting before it is dropped.
    """

    def __init__(self, queue_size: int = 100) -> None:
        self._queue_size = queue_size
        self._subs: dict[str, set[_Subscriber]] = {}
        self._lock = threading.Lock()
        self.dropped = 0

    def subscribers(self, audience: str) -> int:
        """How many subscribers an audience has now."""
        with self._lock:
            return len(self._subs.get(audience, ()))

    def publish(self, audience: str, event: dict[str, Any]) -> None:
        """Send ``event`` to every subscriber of ``audience`` (thread-safe, never blocks)."""
        with self._lock:
            subs = list(self._subs.get(audience, ()))
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(self._offer, sub, event)
            except RuntimeError:  # its loop is closed: it is gone
                self._remove(sub)

    def _offer(self, sub: _Subscriber, event: dict[str, Any]) -> None:
        if sub.dropped:
            return
        try:
            sub.queue.put_nowait(event)
        except asyncio.QueueFull:
            # Overflow rule: drop the slow subscriber, keep the rest flowing.
            sub.dropped = True
            self.dropped += 1
            logger.warning("live subscriber of %s dropped: %d events waiting", sub.audience,
                           sub.queue.qsize())
            self._remove(sub)
            while not sub.queue.empty():
                sub.queue.get_nowait()
            sub.queue.put_nowait(_DROPPED)

    def _remove(self, sub: _Subscriber) -> None:
        with self._lock:
            subs = self._subs.get(sub.audience)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[sub.audience]

    def subscribe(self, audience: str) -> Stream:
        """Subscribe now (call from the consumer's event loop); iterate the result.

        The stream ends when the subscriber is dropped; close it with ``aclose()`` (or by
        leaving an ``async with``) when the consumer goes away.
        """
        sub = _Subscriber(audience, asyncio.get_running_loop(),
                          asyncio.Queue(maxsize=self._queue_size))
        with self._lock:
            self._subs.setdefault(audience, set()).add(sub)
        return Stream(self, sub)


class Stream:
    """One subscriber's events, as an async iterator."""

    def __init__(self, live: LiveUpdates, sub: _Subscriber) -> None:
        self._live = live
        self._sub = sub

    def __aiter__(self) -> Stream:
        return self

    async def __anext__(self) -> dict[str, Any]:
        if self._sub.closed:
            raise StopAsyncIteration
        event = await self._sub.queue.get()
        if event is _DROPPED:
            self._sub.closed = True
            raise StopAsyncIteration
        return event

    async def aclose(self) -> None:
        """Unsubscribe."""
        self._sub.closed = True
        self._live._remove(self._sub)

    async def __aenter__(self) -> Stream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
