"""Attach the shares to a running hub: sessions that feed its pipeline, state read on arrival.

:func:`build_cluster` is called by :class:`hub.service.Hub` when ``HUB_SHARES`` is set. Each
share's session is an MQTT connection of its own (client id ``<HUB_MQTT_CLIENT_ID>-share-<k>``, clean start
off, the hub's session expiry) that only receives; its messages go through a pipeline of
their own, acknowledged on that connection after their batch committed. The worker publishes
on one connection of its own (``<HUB_MQTT_CLIENT_ID>-<worker>-out``).

The sessions' batches meet in :class:`MergedIngest` before the pipeline: one transaction for
what all of a worker's shares received in a few milliseconds, not one per share (measured:
with 16 sessions each committing its own small batches, one worker on PostgreSQL fell behind
at 300 msg/s). Each session is acknowledged its own part after the commit.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from hub.cluster.shares import session_id
from hub.cluster.worker import Cluster
from hub.config import Settings
from hub.storage.database import Database
from hub.transport.base import InboundMessage
from hub.transport.mqtt import MqttTransport

BatchFn = Callable[[Sequence[InboundMessage]], None]

logger = logging.getLogger(__name__)


class HubLike(Protocol):
    """What the shares need of the composition root (:class:`hub.service.Hub`)."""

    settings: Settings
    db: Database
    twin: Any
    rules: Any
    relay: Any
    api_port: int | None

    def subscriptions(self) -> list[tuple[str, int]]: ...

    def make_pipeline(self, ack: Callable[[Sequence[InboundMessage]], None]) -> Any: ...

    def mqtt_address(self) -> tuple[str, int, str | None, str | None]: ...


def worker_name(settings: Settings) -> str:
    """``HUB_WORKER_ID``, or host and pid (unique among the processes of one host)."""
    return settings.worker_id or f"{socket.gethostname()}-{os.getpid()}"


class MergedIngest:
    """One pipeline for all the shares' sessions of a worker; each session acked its own part."""

    def __init__(self, make_pipeline: Callable[[Any], Any], linger_s: float = 0.005) -> None:
        self._pipeline = make_pipeline(self._ack)
        self._linger_s = linger_s
        self._parts: list[tuple[MqttTransport, list[InboundMessage]]] = []
        self._current: list[tuple[MqttTransport, list[InboundMessage]]] = []
        self._scheduled = False

    def handler(self, transport: MqttTransport) -> BatchFn:
        """The batch handler of one session."""
        def on_batch(batch: Sequence[InboundMessage]) -> None:
            self._parts.append((transport, list(batch)))
            if not self._scheduled:
                self._scheduled = True
                asyncio.get_running_loop().call_later(self._linger_s, self._drain)
        return on_batch

    def forget(self, transport: MqttTransport) -> None:
        """Drop what a stopped session handed over and was not handled: the broker keeps it."""
        self._parts = [(t, part) for t, part in self._parts if t is not transport]

    def _drain(self) -> None:
        self._scheduled = False
        self._current, self._parts = self._parts, []
        try:
            self._pipeline.handle_batch([m for _t, part in self._current for m in part])
        except Exception:
            # Nothing acknowledged: the broker redelivers the QoS 1 messages.
            logger.exception("inbound batch of the shares failed")
        finally:
            self._current = []

    def _ack(self, _messages: Sequence[InboundMessage]) -> None:
        for transport, part in self._current:
            transport.ack(part)


class PipelineSession:
    """A share's receiving session, feeding the worker's merged ingest."""

    def __init__(self, transport: MqttTransport, ingest: MergedIngest) -> None:
        self._transport = transport
        self._ingest = ingest

    @property
    def connected(self) -> bool:
        return self._transport.connected

    async def start(self, subscriptions: Sequence[tuple[str, int]]) -> None:
        await self._transport.start(self._ingest.handler(self._transport), subscriptions)

    def add_subscriptions(self, subscriptions: Sequence[tuple[str, int]]) -> None:
        self._transport.add_subscriptions(subscriptions)

    async def stop(self) -> None:
        await self._transport.stop()
        self._ingest.forget(self._transport)


def build_cluster(hub: HubLike) -> Cluster:
    """The shares of ``hub``'s worker, wired to its pipeline, rules, twin and relay."""
    settings = hub.settings
    host, port, username, password = hub.mqtt_address()
    ingest = MergedIngest(hub.make_pipeline)

    def open_session(share: int) -> PipelineSession:
        transport = MqttTransport(
            host, port, client_id=session_id(share, settings.mqtt_client_id), username=username, password=password,
            session_expiry_s=max(settings.mqtt_session_expiry_s, 60), queue_max=settings.ingest_queue_max,
            shed_at=settings.ingest_shed_at, batch_max=settings.ingest_batch_max,
            # Short: the heartbeat that opens the session must not outwait the leases.
            connect_wait_s=settings.lease_heartbeat_s / 2, publish=False)
        return PipelineSession(transport, ingest)

    def on_acquire(_share: int) -> None:
        # The previous holder committed the share's state batch by batch: read it again.
        hub.twin.reload()
        if hub.rules is not None:
            hub.rules.resync()

    cluster = Cluster(
        hub.db, shares=settings.shares, worker_id=worker_name(settings), open_session=open_session,
        common=[s for s in hub.subscriptions() if not s[0].startswith("home/")],
        on_acquire=on_acquire, ttl_s=settings.lease_ttl_s, heartbeat_s=settings.lease_heartbeat_s,
        api=lambda: f"http://{settings.api_host}:{hub.api_port}" if hub.api_port else "",
    )
    cluster.on_lead.append(hub.relay.kick)
    if hub.rules is not None:
        hub.rules.set_owner(cluster.owns)
    return cluster
