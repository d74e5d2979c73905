"""What the HTTP bridges share: publishing, bounded reads, the retry loop."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from hub.devices._normalizer import HOUSEHOLD_ID
from hub.devices._payload import MAX_PAYLOAD
from hub.errors import TransportError

from ._backoff import Backoff

logger = logging.getLogger(__name__)

Publish = Callable[[str, bytes], Awaitable[None] | None]
"""``publish(topic, payload)``: hands one message to the hub's MQTT side (sync or async)."""


class BridgeError(TransportError):
    """An HTTP source failed: unreachable, slow, refused, or answered nonsense."""


async def publish(fn: Publish, topic: str, payload: bytes) -> None:
    """Call ``fn`` and await it if it is a coroutine function's result."""
    result = fn(topic, payload)
    if inspect.isawaitable(result):
        await result


async def get_bounded(client: httpx.AsyncClient, url: str, **kwargs: Any) -> bytes:
    """GET ``url`` and return the body, refusing non-2xx answers and bodies over 256 KiB.

    Raises:
        BridgeError: with the reason (status, size, timeout, connection).
    """
    try:
        async with client.stream("GET", url, **kwargs) as response:
            if response.status_code >= 300:
                raise BridgeError(f"GET {url}: HTTP {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_PAYLOAD:
                    raise BridgeError(f"GET {url}: body over {MAX_PAYLOAD} bytes")
            return bytes(body)
    except httpx.TimeoutException as exc:
        raise BridgeError(f"GET {url}: timed out ({type(exc).__name__})") from exc
    except httpx.HTTPError as exc:
        raise BridgeError(f"GET {url}: {type(exc).__name__}: {exc}") from exc


def check_household(household: str) -> str:
    if not HOUSEHOLD_ID.match(household):
        raise ValueError("household id must be 1-64 of a-z, 0-9, _ and -")
    return household


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds`` unless ``stop`` is set first; True when stopping."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True


class PollingBridge:
    """A bridge that fetches documents every ``interval`` seconds, backing off on failure.

    Subclasses implement :meth:`poll_once`.
    """

    name = "bridge"

    def __init__(self, household: str, publish: Publish, *, client: httpx.AsyncClient,
                 interval: float = 60.0, backoff: Backoff | None = None) -> None:
        self.household = check_household(household)
        self.publish_fn = publish
        self.client = client
        self.interval = interval
        self.backoff = backoff or Backoff(initial=2.0, maximum=600.0)
        self.polls = 0
        self.errors = 0
        self.last_error: str | None = None
        self.failed = asyncio.Event()
        """Set after every failure (for health checks and tests); clear it to wait again."""

    def topic(self, *parts: str) -> str:
        return "/".join(("home", self.household, "bridge", self.name, *parts))

    async def poll_once(self) -> int:
        """Fetch and publish once; returns the number of messages published."""
        raise NotImplementedError

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set; failures wait with backoff, never end the loop."""
        while not stop.is_set():
            try:
                await self.poll_once()
            except BridgeError as exc:
                self.errors += 1
                self.last_error = str(exc)
                self.failed.set()
                delay = self.backoff.next_delay()
                logger.warning("%s bridge for %s: %s; retrying in %.1fs", self.name,
                               self.household, exc, delay)
                if await wait_or_stop(stop, delay):
                    return
                continue
            self.polls += 1
            self.backoff.reset()
            if await wait_or_stop(stop, self.interval):
                return
