"""The transport port.

Inbound messages are handed to the hub in *batches* on the event-loop thread (one call per
batch, never an ``await`` per message). A QoS 1 message is acknowledged to the broker only
when the hub calls :meth:`Transport.ack` after the transaction that handled it committed.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(slots=True)
class InboundMessage:
    """One message as received. ``mid`` is the packet id for QoS > 0 (0 otherwise)."""

    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    mid: int = 0
    received_at: float = 0.0


@dataclass(slots=True)
class TransportStats:
    """Counters a transport keeps for ``/metrics``."""

    received: int = 0
    shed: int = 0
    published: int = 0
    connects: int = 0
    disconnects: int = 0
    queue_depth: int = 0
    extra: dict[str, int] = field(default_factory=dict)


BatchHandler = Callable[[Sequence[InboundMessage]], None]
AckHandler = Callable[[Sequence[str]], None]


class Transport(abc.ABC):
    """A connection to the broker, as the hub uses it."""

    stats: TransportStats

    @abc.abstractmethod
    async def start(self, on_batch: BatchHandler, subscriptions: Sequence[tuple[str, int]]) -> None:
        """Connect, subscribe, and deliver inbound batches to ``on_batch`` from now on."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Disconnect cleanly (bounded in time)."""

    @property
    @abc.abstractmethod
    def connected(self) -> bool:
        """True while the broker connection is up."""

    @abc.abstractmethod
    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False, token: str = "") -> None:
        """Queue a publish; when the broker acknowledges it, ``token`` is reported to the ack handler."""

    @abc.abstractmethod
    def on_published(self, handler: AckHandler) -> None:
        """Register the handler told which publish tokens the broker acknowledged."""

    @abc.abstractmethod
    def ack(self, messages: Sequence[InboundMessage]) -> None:
        """Acknowledge inbound QoS 1 messages (after their effects committed)."""
