"""The transport's real adapter: a lean MQTT v5 client on the event loop, read in batches.

Why not paho (which the hub used before): profiled at 10k msg/s (``docs/perf/``), paho's
Python-level packet handling (one ``MQTTMessage``, one callback and one lock round per
message, on a thread fighting the event loop for the GIL) cost more per message than the
whole rest of the hub. Here each socket read is parsed in one tight loop into
:class:`InboundMessage` objects, and the batch goes to the hub on the same thread: no
hand-off, no locks, no per-message callback.

What it keeps from the paho adapter, on purpose:

* **Exactly-once with the broker's help**: QoS 1 messages are acknowledged only through
  :meth:`MqttTransport.ack`, after the hub committed their effects; clean start off and a
  session expiry, so the broker keeps the session (and the unacknowledged messages) while
  the hub restarts.
* **Reconnects** with exponential back-off and full jitter; keepalive pings.
* **Backpressure**: at most ``queue_max`` messages wait; when full, reading stops (the
  bytes not parsed yet stay in one read buffer) until the hub drained half. The socket then
  fills and the broker holds or sheds the excess by its own limits.
* **Shedding by policy** (``shed_at``): when the hub falls behind (more than ``shed_at``
  messages waiting), a QoS 0, non-retained message whose topic has a newer such message
  waiting is dropped as ``superseded``: a device's newest reading says what the older one
  said. QoS 1 and retained messages (registrations, LWT, availability, commands, notices)
  are never dropped. Counted in :attr:`TransportStats.extra` by reason.
* **Publishing on a connection of its own** (client id ``<client_id>-out``): under overload
  the broker buffers inbound traffic for the ingest connection, and the acknowledgements of
  the hub's own publishes would wait behind all of it. QoS 1 publishes not acknowledged
  when that connection drops are sent again (DUP) on the next one.

Only what the hub uses of MQTT v5 is implemented: CONNECT/CONNACK, SUBSCRIBE/SUBACK,
PUBLISH and PUBACK (QoS 0 and 1; the hub subscribes at QoS 1 at most, so no QoS 2 arrives),
PINGREQ/PINGRESP, DISCONNECT. No topic aliases are granted, so none arrive.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import random
import time
from collections.abc import Sequence

from hub.errors import TransportError
from hub.transport.base import AckHandler, BatchHandler, InboundMessage, Transport, TransportStats
from hub.transport.mqtt_wire import Connection, connect_packet, packet, publish_packet, string

logger = logging.getLogger(__name__)

def _same(conn: Connection) -> Connection:
    return conn


class MqttTransport(Transport):
    """Two MQTT v5 connections (ingest, publishing) on the running event loop.

    Args:
        host: broker host (loopback in the embedded default).
        port: broker port.
        client_id: the hub's client id; with a persistent session it must be stable.
        username: login, or None for anonymous brokers (benchmark only).
        password: its password.
        session_expiry_s: how long the broker keeps the session while the hub is away.
        queue_max: inbound messages held before reading stops (backpressure).
        batch_max: messages handed to the hub per call.
        shed_at: messages waiting above which superseded QoS 0 readings are dropped
            (default: half of ``queue_max``; 0 never drops).
        clean_start: start without the previous session (tools and tests).
        linger_s: how long to let a batch fill after its first message (latency it adds).
        ingest: open the ingest connection (a partitioned worker's publisher has none: its
            shares' sessions receive, hub.cluster).
        publish: open the publishing connection (a share's session only receives).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str,
        username: str | None = None,
        password: str | None = None,
        session_expiry_s: int = 3600,
        queue_max: int = 20000,
        batch_max: int = 2000,
        shed_at: int | None = None,
        clean_start: bool = False,
        keepalive: int = 30,
        connect_wait_s: float = 10.0,
        linger_s: float = 0.005,
        ingest: bool = True,
        publish: bool = True,
    ) -> None:
        self.stats = TransportStats()
        self._host, self._port = host, port
        self._client_id = client_id
        self._login = (username, password)
        self._session_expiry_s = session_expiry_s
        self._queue: collections.deque[InboundMessage] = collections.deque()
        self._queue_max = queue_max
        self._batch_max = batch_max
        self._shed_at = queue_max // 2 if shed_at is None else shed_at
        self._clean_start = clean_start
        self._keepalive = keepalive
        self._connect_wait_s = connect_wait_s
        self._linger_s = linger_s
        self._roles = tuple(name for name, on in (("ingest", ingest), ("out", publish)) if on)
        self._subscriptions: list[tuple[str, int]] = []
        self._on_batch: BatchHandler | None = None
        self._ack_handlers: list[AckHandler] = []
        self._in: Connection | None = None
        self._out: Connection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._drain_pending = False
        self._stopping = False
        self._next_mid = 0
        # QoS 1 publishes waiting for their PUBACK: mid -> (topic, payload, retain, token).
        self._unacked: dict[int, tuple[str, bytes, bool, str]] = {}
        self._unsent0: list[tuple[str, bytes, bool, str]] = []  # QoS 0 publishes while disconnected
        self._acks: list[str] = []
        self._acks_pending = False
        self._in_up = asyncio.Event()
        self._out_up = asyncio.Event()

    # -- lifecycle --------------------------------------------------------------------

    async def start(self, on_batch: BatchHandler, subscriptions: Sequence[tuple[str, int]]) -> None:
        """Connect both connections, subscribe, and wait (``connect_wait_s``) until they are up."""
        self._on_batch = on_batch
        self._subscriptions = list(subscriptions)
        self._stopping = False
        self._tasks = [asyncio.create_task(self._keep_connected(name), name=f"mqtt-{name}") for name in self._roles]
        ups = [self._in_up if name == "ingest" else self._out_up for name in self._roles]
        try:
            await asyncio.wait_for(asyncio.gather(*(up.wait() for up in ups)), self._connect_wait_s)
        except TimeoutError:
            logger.warning("broker %s:%s not reachable yet; still trying", self._host, self._port)

    async def stop(self) -> None:
        """Send DISCONNECT on both connections and close them (bounded in time)."""
        self._stopping = True
        for conn in (self._in, self._out):
            if conn is not None and conn.write(b"\xe0\x00"):
                assert conn.transport is not None
                conn.transport.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 1.5)
        self._tasks = []
        self._in_up.clear()
        self._out_up.clear()

    @property
    def connected(self) -> bool:
        return all((self._in_up if name == "ingest" else self._out_up).is_set() for name in self._roles)

    def add_subscriptions(self, subscriptions: Sequence[tuple[str, int]]) -> None:
        """Subscribe to more topic filters now (and on every reconnect from now on)."""
        subscriptions = [s for s in subscriptions if s not in self._subscriptions]
        if not subscriptions:
            return
        self._subscriptions.extend(subscriptions)
        conn = self._in
        if conn is not None and self._in_up.is_set():
            self._subscribe(conn, subscriptions)

    async def _keep_connected(self, name: str) -> None:
        backoff = 0.25
        loop = asyncio.get_running_loop()
        up = self._in_up if name == "ingest" else self._out_up
        client_id = self._client_id if name == "ingest" else f"{self._client_id}-out"
        clean = self._clean_start if name == "ingest" else False
        while not self._stopping:
            conn = Connection(self, name)
            try:
                factory = functools.partial(_same, conn)
                await asyncio.wait_for(loop.create_connection(factory, self._host, self._port), 10)
                username, password = self._login
                conn.write(connect_packet(client_id, keepalive=self._keepalive, clean_start=clean,
                                          session_expiry_s=self._session_expiry_s, username=username,
                                          password=password))
                ok = await asyncio.wait_for(asyncio.shield(conn.connack), 10)
            except (OSError, TimeoutError) as exc:
                logger.warning("mqtt connect to %s:%s failed: %s", self._host, self._port, exc or type(exc).__name__)
                ok = False
            if ok:
                backoff = 0.25
                self._on_up(name, conn)
                up.set()
                try:
                    await self._ping_until_closed(conn)
                finally:
                    up.clear()
                    if conn.transport is not None:
                        conn.transport.abort()
                if not self._stopping:
                    self.stats.disconnects += 1
                    logger.warning("the %s connection to the broker was lost", name)
            elif conn.transport is not None:
                conn.transport.abort()
            if self._stopping:
                break
            await asyncio.sleep(random.uniform(0, backoff))  # full jitter
            backoff = min(backoff * 2, 30.0)

    def _on_up(self, name: str, conn: Connection) -> None:
        if name == "ingest":
            self._in = conn
            if self._subscriptions:
                self._subscribe(conn, self._subscriptions)
            self.stats.connects += 1
            logger.info("connected to %s:%s", self._host, self._port)
        else:
            self._out = conn
            for mid, (topic, payload, retain, _token) in self._unacked.items():
                conn.write(publish_packet(topic, payload, 1, retain, mid, dup=True))
            held, self._unsent0 = self._unsent0, []
            for topic, payload, retain, token in held:
                conn.write(publish_packet(topic, payload, 0, retain, 0))
                if token:
                    self._report(token)

    def _subscribe(self, conn: Connection, subscriptions: Sequence[tuple[str, int]]) -> None:
        # noLocal: the hub never hears its own publications (MQTT v5 §3.8.3.1). At most 500
        # filters a packet: a share of a large hub subscribes to thousands of households.
        for start in range(0, len(subscriptions), 500):
            body = self._mid().to_bytes(2, "big") + b"\x00"
            for topic, qos in subscriptions[start:start + 500]:
                body += string(topic) + bytes((qos | 0x04,))
            conn.write(packet(0x82, body))

    async def _ping_until_closed(self, conn: Connection) -> None:
        interval = max(self._keepalive / 2, 0.5)
        while not conn.closed.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(conn.closed), interval)
                return
            if conn.paused:
                conn.last_heard = time.monotonic()  # not reading on purpose (backpressure)
            elif time.monotonic() - conn.last_heard > 1.5 * self._keepalive:
                logger.warning("the broker has been silent past the keepalive; reconnecting")
                return
            conn.write(b"\xc0\x00")

    # -- inbound ----------------------------------------------------------------------

    def _received(self, count: int) -> None:
        self.stats.received += count
        if not self._drain_pending:
            self._drain_pending = True
            loop = asyncio.get_running_loop()
            # Let a batch fill a moment after its first message: every batch costs a
            # transaction and a relay pass, whatever its size.
            if self._linger_s > 0 and len(self._queue) < self._batch_max:
                # Not reading meanwhile: at 10k msg/s the socket would wake the loop every
                # message or two (profiled: ~5,000 wake-ups a second, each a select, a recv
                # and a parse call); held, the lingering batch arrives in one read.
                if self._in is not None:
                    self._in.hold()
                loop.call_later(self._linger_s, self._linger_over)
            else:
                loop.call_soon(self._drain)

    def _linger_over(self) -> None:
        """Read what waited in the socket, then drain: the read runs in the loop's next pass
        (the socket is polled then), so the drain goes one pass after it."""
        conn = self._in
        if conn is None or not conn.held:
            self._drain()
            return
        conn.release()
        loop = asyncio.get_running_loop()
        loop.call_soon(loop.call_soon, self._drain)

    def _count(self, reason: str, n: int) -> None:
        self.stats.extra[reason] = self.stats.extra.get(reason, 0) + n

    def _drain(self) -> None:
        self._drain_pending = False
        queue = self._queue
        if not queue or self._on_batch is None:
            return
        if self._shed_at and len(queue) > self._shed_at:
            self._shed_superseded()
        count = min(len(queue), self._batch_max)
        popleft = queue.popleft
        batch = [popleft() for _ in range(count)]
        self.stats.queue_depth = len(queue)
        conn = self._in
        if conn is not None and conn.paused and len(queue) <= self._queue_max // 2:
            conn.resume()
        try:
            self._on_batch(batch)
        except Exception:
            # The batch stays unacknowledged: the broker redelivers its QoS 1 messages.
            logger.exception("inbound batch of %d messages failed", len(batch))
        if queue and not self._drain_pending:
            # Yield to other tasks (the API) between batches instead of draining all at once.
            self._drain_pending = True
            asyncio.get_running_loop().call_soon(self._drain)

    def _shed_superseded(self) -> None:
        """Drop QoS 0, non-retained messages that a newer one on the same topic supersedes."""
        seen: set[str] = set()
        kept: list[InboundMessage] = []
        dropped = 0
        for message in reversed(self._queue):
            if message.qos or message.retain:
                kept.append(message)
            elif message.topic in seen:
                dropped += 1
            else:
                seen.add(message.topic)
                kept.append(message)
        if dropped:
            kept.reverse()
            self._queue.clear()
            self._queue.extend(kept)
            self._count("superseded", dropped)
            self.stats.shed += dropped

    def ack(self, messages: Sequence[InboundMessage]) -> None:
        conn = self._in
        if conn is None:
            return
        packets = [b"\x40\x02" + m.mid.to_bytes(2, "big") for m in messages if m.qos]
        if packets:
            conn.write(b"".join(packets))

    # -- outbound ---------------------------------------------------------------------

    def _mid(self) -> int:
        for _ in range(65535):
            self._next_mid = self._next_mid % 65535 + 1
            if self._next_mid not in self._unacked:
                return self._next_mid
        raise TransportError("65535 publishes are waiting for the broker")

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False, token: str = "") -> None:
        if qos not in (0, 1):
            raise TransportError(f"publish to {topic}: QoS {qos} is not supported (0 or 1)")
        if qos:
            mid = self._mid()
            self._unacked[mid] = (topic, payload, retain, token)
            if self._out is not None:
                # Written now, or (while disconnected) again with DUP once the connection is back.
                self._out.write_soon(publish_packet(topic, payload, 1, retain, mid))
        else:
            if self._out is None or not self._out.write_soon(publish_packet(topic, payload, 0, retain, 0)):
                # Held for the next connection (as paho did): the relay bounds how many wait.
                self._unsent0.append((topic, payload, retain, token))
                return
            if token:
                self._report(token)
        self.stats.published += 1

    def _acked(self, mid: int) -> None:
        entry = self._unacked.pop(mid, None)
        if entry is not None and entry[3]:
            self._report(entry[3])

    def _report(self, token: str) -> None:
        self._acks.append(token)
        if not self._acks_pending:
            self._acks_pending = True
            asyncio.get_running_loop().call_soon(self._drain_acks)

    def _drain_acks(self) -> None:
        self._acks_pending = False
        tokens, self._acks = self._acks, []
        for handler in self._ack_handlers:
            try:
                handler(tokens)
            except Exception:
                logger.exception("publish-ack handler failed")

    def on_published(self, handler: AckHandler) -> None:
        self._ack_handlers.append(handler)

    def drop_connections(self) -> None:
        """Abort both sockets at once, as a crash or a network fault would (tests, tools)."""
        for conn in (self._in, self._out):
            if conn is not None and conn.transport is not None:
                conn.transport.abort()


__all__ = ["MqttTransport"]
