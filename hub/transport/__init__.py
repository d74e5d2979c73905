"""The MQTT port: the hub sees batches of inbound messages and a publish call, nothing more.

The real adapter, :mod:`hub.transport.mqtt`, speaks MQTT v5 itself on the event loop (why:
``docs/perf/README.md``); paho stays for tools and tests.
"""

from hub.transport.base import InboundMessage, Transport, TransportStats
from hub.transport.memory import MemoryTransport
from hub.transport.relay import OutboxRelay

__all__ = ["InboundMessage", "MemoryTransport", "OutboxRelay", "Transport", "TransportStats"]
