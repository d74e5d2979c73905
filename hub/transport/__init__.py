"""The MQTT port: the hub sees batches of inbound messages and a publish call, nothing more.

Only :mod:`hub.transport.paho` imports the MQTT client library.
"""

from hub.transport.base import InboundMessage, Transport, TransportStats
from hub.transport.memory import MemoryTransport
from hub.transport.relay import OutboxRelay

__all__ = ["InboundMessage", "MemoryTransport", "OutboxRelay", "Transport", "TransportStats"]
