"""Which component implements which port, by mode (embedded, external broker, bench, demo).

Kept apart from :mod:`hub.service` so that the service's lifecycle code does not change
each time a package lands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.broker.config import render_plain_config
from hub.broker.supervisor import BrokerSupervisor
from hub.ingest.pipeline import PipelinePorts

if TYPE_CHECKING:
    from hub.service import Hub


def build(hub: Hub) -> dict[str, Any]:
    """Build the domain components for ``hub`` and register their jobs and routes."""
    hub.every(2.0, hub.twin.flush)
    components: dict[str, Any] = {"tasks": [], "closers": []}
    if hub.injected_ports is not None:
        components["ports"] = hub.injected_ports
        return components
    from hub.devices import Normalizer

    normalizer = Normalizer(hub.settings.devices_dir)
    components["normalizer"] = normalizer
    components["ports"] = PipelinePorts(normalizer=normalizer)
    return components


def make_broker(hub: Hub) -> BrokerSupervisor:
    """The managed Mosquitto for the embedded default."""
    data = hub.settings.data_dir / "mosquitto"
    return BrokerSupervisor(
        lambda port: render_plain_config(port, data),
        data,
        port=hub.settings.broker_port,
        executable=hub.settings.mosquitto_bin,
    )
