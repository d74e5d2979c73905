"""Attach the shares to a running hub: sessions that feed its pipeline, state read on arrival.

:func:`build_cluster` is called by :class:`hub.service.Hub` when ``HUB_SHARES`` is set. Each
share's session is an MQTT connection of its own (client id ``<HUB_MQTT_CLIENT_ID>-share-<k>``, clean start
off, the hub's session expiry) that only receives; its messages go through a pipeline of
their own, acknowledged on that connection after their batch committed. The worker publishes
on one connection of its own (``<HUB_MQTT_CLIENT_ID>-<worker>-out``).
"""

from __future__ import annotations

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


class PipelineSession:
    """A share's receiving session and the pipeline its messages go through."""

    def __init__(self, transport: MqttTransport, make_pipeline: Callable[[Any], Any]) -> None:
        self._transport = transport
        self._pipeline = make_pipeline(transport.ack)

    @property
    def connected(self) -> bool:
        return self._transport.connected

    async def start(self, subscriptions: Sequence[tuple[str, int]]) -> None:
        await self._transport.start(self._pipeline.handle_batch, subscriptions)

    def add_subscriptions(self, subscriptions: Sequence[tuple[str, int]]) -> None:
        self._transport.add_subscriptions(subscriptions)

    async def stop(self) -> None:
        await self._transport.stop()


def build_cluster(hub: HubLike) -> Cluster:
    """The shares of ``hub``'s worker, wired to its pipeline, rules, twin and relay."""
    settings = hub.settings
    host, port, username, password = hub.mqtt_address()

    def open_session(share: int) -> PipelineSession:
        transport = MqttTransport(
            host, port, client_id=session_id(share, settings.mqtt_client_id), username=username, password=password,
            session_expiry_s=max(settings.mqtt_session_expiry_s, 60), queue_max=settings.ingest_queue_max,
            shed_at=settings.ingest_shed_at, batch_max=settings.ingest_batch_max,
            # Short: the heartbeat that opens the session must not outwait the leases.
            connect_wait_s=settings.lease_heartbeat_s / 2, publish=False)
        return PipelineSession(transport, hub.make_pipeline)

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
