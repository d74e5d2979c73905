"""The outbox relay: publishes committed messages and records the broker's acknowledgements.

Runs on the event loop. :meth:`OutboxRelay.kick` is cheap, idempotent and safe from any
thread (HTTP handlers and the ingest worker commit off the loop): it schedules one pass,
on the loop, that dispatches what was committed since the last pass. A message counts as sent
only when the broker acknowledged it (PUBACK for QoS 1); until then a restart sends it
again, and consumers drop the copy by its id. At most ``max_in_flight`` messages are
handed to the client library at once, so a broker outage cannot grow memory without bound.

Acknowledgements are recorded in the outbox every :data:`MARK_EVERY_S` (one transaction
for all that came in meanwhile, not one per PUBACK packet the broker sends: at 10k msg/s
that was a commit per batch). A crash in between only means those messages go out once
more after the restart, which their ids make harmless; the sweep skips them meanwhile.

On PostgreSQL transactions commit side by side, so a message can commit after one with a
higher ``seq`` was already dispatched. Once a second the relay therefore sweeps the unsent
messages from the start (skipping those in flight), woken by a timer when nothing commits.

Partitioned workers (hub.cluster) share one outbox and one relay: only the holder of share 0
dispatches (``active``); the others commit rows that it publishes. It polls every
``poll_s``, since their commits do not wake it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence

from hub.storage.outbox import Outbox
from hub.transport.base import Transport

logger = logging.getLogger(__name__)

SWEEP_S = 1.0  # how late a message that committed out of seq order can be, at most
MARK_EVERY_S = 0.05  # how long acknowledgements gather before they are written


class OutboxRelay:
    """Moves messages from the outbox to the broker, in commit order."""

    def __init__(self, outbox: Outbox, transport: Transport, *, batch: int = 500, max_in_flight: int = 1000,
                 active: Callable[[], bool] | None = None, poll_s: float = SWEEP_S) -> None:
        self._outbox = outbox
        self._transport = transport
        self._batch = batch
        self._max_in_flight = max_in_flight
        self._active = active
        self._poll_s = poll_s
        self._in_flight: set[str] = set()
        self._acked: set[str] = set()  # acknowledged by the broker, not yet marked sent
        self._mark_armed = False
        self._starved = False  # the last pass left messages behind for want of room
        self._last_seq = 0
        self._next_sweep = 0.0
        self._sweep_timer: asyncio.TimerHandle | None = None
        self._scheduled = False
        self._lock = threading.Lock()
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None  # a synchronous tool: every kick dispatches at once
        self.sent = 0
        transport.on_published(self._on_acked)
        outbox.on_commit(self.kick)

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def kick(self) -> None:
        """Schedule a dispatch pass on the relay's loop (no-op if one is already scheduled).

        Called from another thread, the pass is handed to the loop: two passes running at
        once would both read the same pending rows and publish them twice.
        """
        with self._lock:
            if self._scheduled:
                return
            self._scheduled = True
        loop = self._loop
        if loop is None:
            self._dispatch()
            return
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            loop.call_soon(self._dispatch)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._dispatch)

    def _dispatch(self) -> None:
        with self._lock:
            self._scheduled = False
            more = self._dispatch_locked()
        if more:
            self.kick()

    def _dispatch_locked(self) -> bool:
        """One pass; True when a full batch went out (there may be more)."""
        room = self._max_in_flight - len(self._in_flight)
        if self._active is not None and not self._active():
            self._arm_sweep()
            return False
        if room <= 0:
            self._starved = True
            return False
        messages = self._outbox.pending(min(room, self._batch), after_seq=self._last_seq)
        self._starved = room < self._batch and len(messages) == room
        if time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + SWEEP_S
            busy = self._in_flight | self._acked
            late = [m for m in self._outbox.pending(len(busy) + self._batch)
                    if m.id not in busy and m.seq <= self._last_seq]
            messages = late + messages
        self._arm_sweep()
        for message in messages:
            self._in_flight.add(message.id)
            try:
                self._transport.publish(
                    message.topic, message.payload, qos=message.qos, retain=message.retain, token=message.id
                )
            except Exception:
                self._in_flight.discard(message.id)
                logger.exception("relay could not publish %s", message.topic)
                return False
            self._last_seq = max(self._last_seq, message.seq)
        return bool(messages) and len(messages) == min(room, self._batch)

    def _arm_sweep(self) -> None:
        """Wake up for the next sweep even if nothing commits (only on a running loop)."""
        loop = self._loop
        if loop is None or loop.is_closed() or (self._sweep_timer and not self._sweep_timer.cancelled()
                                                and self._sweep_timer.when() > loop.time()):
            return
        self._sweep_timer = loop.call_later(self._poll_s, self.kick)

    def close(self) -> None:
        """Stop the sweep timer; record the acknowledgements still gathering."""
        if self._sweep_timer:
            self._sweep_timer.cancel()
        self._mark()

    def _on_acked(self, tokens: Sequence[str]) -> None:
        with self._lock:
            self._in_flight.difference_update(tokens)
            self._acked.update(tokens)
            starved, self._starved = self._starved, False
            arm, self._mark_armed = not self._mark_armed, True
        self.sent += len(tokens)
        if arm:
            self._arm_mark()
        if starved:  # otherwise nothing waits for the room these acknowledgements made
            self.kick()

    def _arm_mark(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            self._mark()  # a synchronous tool: at once
            return
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            loop.call_later(MARK_EVERY_S, self._mark)
        else:
            loop.call_soon_threadsafe(loop.call_later, MARK_EVERY_S, self._mark)

    def _mark(self) -> None:
        """Write the gathered acknowledgements in one transaction."""
        with self._lock:
            ids, self._acked = self._acked, set()
            self._mark_armed = False
        if not ids:
            return
        try:
            self._outbox.mark_sent(ids)
        except Exception:
            # Not recorded: after a restart they go out once more (their ids dedupe them).
            logger.exception("relay could not record %d acknowledgements", len(ids))
