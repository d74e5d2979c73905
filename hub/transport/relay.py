"""The outbox relay: publishes committed messages and records the broker's acknowledgements.

Runs on the event loop. :meth:`OutboxRelay.kick` is cheap and idempotent: it schedules
one pass that dispatches what was committed since the last pass. A message counts as sent
only when the broker acknowledged it (PUBACK for QoS 1); until then a restart sends it
again, and consumers drop the copy by its id. At most ``max_in_flight`` messages are
handed to the client library at once, so a broker outage cannot grow memory without bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from hub.storage.outbox import Outbox
from hub.transport.base import Transport

logger = logging.getLogger(__name__)


class OutboxRelay:
    """Moves messages from the outbox to the broker, in commit order."""

    def __init__(self, outbox: Outbox, transport: Transport, *, batch: int = 1000, max_in_flight: int = 10000) -> None:
        self._outbox = outbox
        self._transport = transport
        self._batch = batch
        self._max_in_flight = max_in_flight
        self._in_flight: set[str] = set()
        self._last_seq = 0
        self._scheduled = False
        self.sent = 0
        transport.on_published(self._on_acked)
        outbox.on_commit(self.kick)

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def kick(self) -> None:
        """Schedule a dispatch pass (no-op if one is already scheduled)."""
        if self._scheduled:
            return
        self._scheduled = True
        try:
            asyncio.get_running_loop().call_soon(self._dispatch)
        except RuntimeError:
            # No running loop (a synchronous tool): dispatch right away.
            self._dispatch()

    def _dispatch(self) -> None:
        self._scheduled = False
        room = self._max_in_flight - len(self._in_flight)
        if room <= 0:
            return
        messages = self._outbox.pending(min(room, self._batch), after_seq=self._last_seq)
        for message in messages:
            self._in_flight.add(message.id)
            try:
                self._transport.publish(
                    message.topic, message.payload, qos=message.qos, retain=message.retain, token=message.id
                )
            except Exception:
                self._in_flight.discard(message.id)
                logger.exception("relay could not publish %s", message.topic)
                return
            self._last_seq = message.seq
        if len(messages) == min(room, self._batch) and messages:
            self.kick()

    def _on_acked(self, tokens: Sequence[str]) -> None:
        self._outbox.mark_sent(tokens)
        self._in_flight.difference_update(tokens)
        self.sent += len(tokens)
        self.kick()
