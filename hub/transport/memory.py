"""An in-memory transport for fast unit tests of the logic beside the real broker tests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from hub.transport.base import AckHandler, BatchHandler, InboundMessage, Transport, TransportStats


class MemoryTransport(Transport):
    """Records publishes and lets a test inject inbound batches. MQTT wildcards are not matched."""

    def __init__(self) -> None:
        self.stats = TransportStats()
        self.published: list[tuple[str, bytes, int, bool]] = []
        self.acked: list[int] = []
        self._on_batch: BatchHandler | None = None
        self._on_published: list[AckHandler] = []
        self._connected = False
        self.subscriptions: list[tuple[str, int]] = []
        self._pending_acks: list[str] = []

    async def start(self, on_batch: BatchHandler, subscriptions: Sequence[tuple[str, int]]) -> None:
        self._on_batch = on_batch
        self.subscriptions = list(subscriptions)
        self._connected = True

    async def stop(self) -> None:
        self._connected = False

    @property
    def connected(self) -> bool:
        return self._connected

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False, token: str = "") -> None:
        self.published.append((topic, payload, qos, retain))
        self.stats.published += 1
        if not token:
            return
        # Acknowledge in bursts on the next loop turn, as the paho adapter does.
        self._pending_acks.append(token)
        if len(self._pending_acks) == 1:
            try:
                asyncio.get_running_loop().call_soon(self._flush_acks)
            except RuntimeError:
                self._flush_acks()

    def _flush_acks(self) -> None:
        tokens, self._pending_acks = self._pending_acks, []
        for handler in self._on_published:
            handler(tokens)

    def on_published(self, handler: AckHandler) -> None:
        self._on_published.append(handler)

    def ack(self, messages: Sequence[InboundMessage]) -> None:
        self.acked.extend(m.mid for m in messages if m.qos > 0)

    def inject(self, messages: Sequence[InboundMessage]) -> None:
        """Deliver a batch as if it came from the broker."""
        if self._on_batch is None:
            raise RuntimeError("transport not started")
        self.stats.received += len(messages)
        self._on_batch(messages)
