"""Home Connect cloud: the ``text/event-stream`` of appliance events, frame by frame."""

from __future__ import annotations

import asyncio
import logging

import httpx

from hub.devices._payload import MAX_PAYLOAD

from ._backoff import Backoff
from ._base import BridgeError, Publish, check_household, publish, wait_or_stop

logger = logging.getLogger(__name__)


class HomeConnectSSE:
    """Reads ``GET /api/homeappliances/events`` and publishes each frame, raw, to
    ``home/<h>/bridge/homeconnect/events``.

    The server sends ``KEEP-ALIVE`` every 55 s, so a read that stays silent past
    ``read_timeout`` means a dead connection: it is dropped and reopened with backoff. An
    orderly end of stream is reconnected the same way (the cloud closes streams daily).

    Args:
        household: whose account this is.
        publish: ``publish(topic, payload)``.
        client: an ``httpx.AsyncClient`` with ``base_url`` and the bearer token set.
        read_timeout: seconds of silence tolerated on an open stream.
        backoff: delays between reconnects.
    """

    name = "homeconnect"
    path = "/api/homeappliances/events"

    def __init__(self, household: str, publish: Publish, *, client: httpx.AsyncClient,
                 read_timeout: float = 120.0, backoff: Backoff | None = None) -> None:
        self.household = check_household(household)
        self.publish_fn = publish
        self.client = client
        self.read_timeout = read_timeout
        self.backoff = backoff or Backoff(initial=2.0, maximum=600.0)
        self.frames = 0
        self.connects = 0
        self.errors = 0
        self.last_error: str | None = None
        self.failed = asyncio.Event()
        """Set after every failure (for health checks and tests); clear it to wait again."""

    @property
    def topic(self) -> str:
        return f"home/{self.household}/bridge/{self.name}/events"

    async def _stream(self, stop: asyncio.Event) -> None:
        timeout = httpx.Timeout(10.0, read=self.read_timeout)
        try:
            async with self.client.stream("GET", self.path, timeout=timeout,
                                          headers={"Accept": "text/event-stream"}) as response:
                if response.status_code >= 300:
                    raise BridgeError(f"GET {self.path}: HTTP {response.status_code}")
                self.connects += 1
                frame: list[str] = []
                size = 0
                async for line in response.aiter_lines():
                    if stop.is_set():
                        return
                    if line:
                        size += len(line)
                        if size > MAX_PAYLOAD:
                            raise BridgeError("server-sent event frame over 256 KiB")
                        frame.append(line)
                        continue
                    if frame:
                        await publish(self.publish_fn, self.topic,
                                      ("\n".join(frame) + "\n").encode())
                        self.frames += 1
                        self.backoff.reset()  # a frame went through: the link is healthy
                        frame, size = [], 0
        except httpx.TimeoutException as exc:
            raise BridgeError(f"event stream silent or slow ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise BridgeError(f"event stream: {type(exc).__name__}: {exc}") from exc
        raise BridgeError("event stream ended")

    async def run(self, stop: asyncio.Event) -> None:
        """Read, publish and reconnect until ``stop`` is set."""
        while not stop.is_set():
            try:
                await self._stream(stop)
            except BridgeError as exc:
                if stop.is_set():
                    return
                self.errors += 1
                self.last_error = str(exc)
                self.failed.set()
                delay = self.backoff.next_delay()
                logger.warning("homeconnect bridge for %s: %s; reconnecting in %.1fs",
                               self.household, exc, delay)
                if await wait_or_stop(stop, delay):
                    return
