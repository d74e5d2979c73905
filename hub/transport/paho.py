"""The transport's real adapter: paho-mqtt's network thread, MQTT v5, batched hand-off.

Why paho's own thread and not an asyncio client: the benchmark kit measured the naive
await-per-message loop near 17k msg/s and paho's network thread near 43k on one core. So
paho reads the socket on its thread and appends each message to a bounded deque; the
event loop is woken once per burst (not per message) and hands the whole batch to the
hub. Nothing else in the hub imports paho.

Overflow rule of the inbound queue (``queue_max`` messages): when it is full, paho's
thread stops reading until the hub has drained it to half. The socket then fills and the
broker holds or sheds the excess by its own limits (``max_queued_messages``), which is
what keeps the hub at its sustainable rate under overload: reading a message only to drop
it costs the same parse as processing it, and a thread busy doing that starves the
pipeline (receive livelock). Each such pause is counted (``stats.shed`` counts pauses'
messages that had to wait, ``stats.extra["backpressure"]`` the pauses).

Session: clean start off and a session expiry, so the broker queues the hub's
subscriptions while it restarts; QoS 1 messages are acknowledged only through
:meth:`PahoTransport.ack` (paho's ``manual_ack``), after the hub committed their effects.
Reconnects back off exponentially with full jitter.

Publishing goes through a second connection (client id ``<client_id>-out``, paho's own
network thread): under overload the broker buffers inbound traffic for the hub's main
connection, and the acknowledgements of the hub's own publishes (offers, feed requests)
would wait behind all of it. On their own connection they never do.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
import socket
import threading
import time
from collections.abc import Sequence

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from hub.errors import TransportError
from hub.transport.base import AckHandler, BatchHandler, InboundMessage, Transport, TransportStats

logger = logging.getLogger(__name__)


class PahoTransport(Transport):
    """MQTT v5 connection through paho's network thread.

    Args:
        host: broker host (loopback in the embedded default).
        port: broker port.
        client_id: the hub's client id; with a persistent session it must be stable.
        username: login, or None for anonymous brokers (benchmark only).
        password: its password.
        session_expiry_s: how long the broker keeps the session while the hub is away.
        queue_max: inbound messages held before the overflow rule applies.
        batch_max: messages handed to the hub per call.
        clean_start: start without the previous session (tools and tests).
        linger_s: how long to let a batch fill after its first message (latency it adds).
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
        clean_start: bool = False,
        keepalive: int = 30,
        connect_wait_s: float = 10.0,
        linger_s: float = 0.002,
    ) -> None:
        self.stats = TransportStats()
        self._host, self._port = host, port
        self._queue: collections.deque[InboundMessage] = collections.deque()
        self._queue_max = queue_max
        self._batch_max = batch_max
        self._room = threading.Condition()
        self._wake_pending = False
        self._acks: collections.deque[str] = collections.deque()
        self._ack_wake_pending = False
        self._ack_handlers: list[AckHandler] = []
        self._tokens: dict[int, str] = {}
        self._token_lock = threading.Lock()
        self._early: set[int] = set()
        self._subscriptions: list[tuple[str, int]] = []
        self._connected = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._on_batch: BatchHandler | None = None
        self._keepalive = keepalive
        self._connect_wait_s = connect_wait_s
        self._linger_s = linger_s
        self._clean_start = clean_start
        self._session_expiry_s = session_expiry_s
        self.on_connect_callbacks: list[object] = []

        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
            reconnect_on_failure=False,
            manual_ack=True,
        )
        if username is not None:
            client.username_pw_set(username, password)
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        self._client = client

        out = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{client_id}-out", protocol=mqtt.MQTTv5)
        if username is not None:
            out.username_pw_set(username, password)
        out.max_inflight_messages_set(1000)
        out.max_queued_messages_set(0)
        out.reconnect_delay_set(1, 30)
        out.on_publish = self._on_publish
        out.on_connect = self._on_out_connect
        out.on_disconnect = self._on_out_disconnect
        self._out = out
        self._out_connected = threading.Event()

    # -- lifecycle --------------------------------------------------------------------

    async def start(self, on_batch: BatchHandler, subscriptions: Sequence[tuple[str, int]]) -> None:
        """Start the network thread and wait (``connect_wait_s``) for the first connection."""
        self._loop = asyncio.get_running_loop()
        self._on_batch = on_batch
        self._subscriptions = list(subscriptions)
        self._stop.clear()
        self._thread = threading.Thread(target=self._network, name="mqtt-network", daemon=True)
        self._thread.start()
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self._session_expiry_s
        self._out.connect_async(self._host, self._port, keepalive=self._keepalive, clean_start=False, properties=props)
        self._out.loop_start()
        deadline = time.monotonic() + self._connect_wait_s
        connected = await asyncio.to_thread(self._connected.wait, self._connect_wait_s)
        remaining = max(0.0, deadline - time.monotonic())
        connected = connected and await asyncio.to_thread(self._out_connected.wait, remaining)
        if not connected:
            logger.warning("broker %s:%s not reachable yet; still trying", self._host, self._port)

    async def stop(self) -> None:
        """Disconnect and join the network thread (bounded: at most about 3 s)."""
        self._stop.set()
        with self._room:
            self._room.notify_all()
        with contextlib.suppress(OSError, ValueError):
            self._client.disconnect()
        with contextlib.suppress(OSError, ValueError):
            self._out.disconnect()
        await asyncio.to_thread(self._out.loop_stop)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 3.0)
            self._thread = None
        self._connected.clear()

    @property
    def connected(self) -> bool:
        return self._connected.is_set() and self._out_connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        """Block until connected (for tools on their own threads)."""
        return self._connected.wait(timeout)

    def _network(self) -> None:
        backoff = 0.25
        first = True
        while not self._stop.is_set():
            try:
                if first:
                    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
                    props.SessionExpiryInterval = self._session_expiry_s
                    self._client.connect(
                        self._host,
                        self._port,
                        keepalive=self._keepalive,
                        clean_start=self._clean_start,
                        properties=props,
                    )
                    first = False
                else:
                    self._client.reconnect()
                backoff = 0.25
                self._client.loop_forever(retry_first_connection=False)
            except (OSError, mqtt.WebsocketConnectionError, ValueError) as exc:
                logger.warning("mqtt connect to %s:%s failed: %s", self._host, self._port, exc)
            if self._stop.is_set():
                break
            delay = random.uniform(0, backoff)  # full jitter
            backoff = min(backoff * 2, 30.0)
            self._stop.wait(delay)

    # -- paho callbacks (network thread) -------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object
    ) -> None:
        if reason.is_failure:
            logger.error("broker refused the connection: %s", reason)
            return
        sock = client.socket()
        if isinstance(sock, socket.socket):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._subscriptions:
            # noLocal: the hub never hears its own publications (MQTT v5 §3.8.3.1).
            client.subscribe(
                [(topic, SubscribeOptions(qos=qos, noLocal=True)) for topic, qos in self._subscriptions]
            )
        self.stats.connects += 1
        self._connected.set()
        logger.info("connected to %s:%s", self._host, self._port)

    def _on_out_connect(
        self, client: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object
    ) -> None:
        if reason.is_failure:
            logger.error("broker refused the publishing connection: %s", reason)
            return
        sock = client.socket()
        if isinstance(sock, socket.socket):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._out_connected.set()

    def _on_out_disconnect(
        self, _c: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object
    ) -> None:
        self._out_connected.clear()
        if not self._stop.is_set():
            logger.warning("publishing connection lost: %s", reason)

    def _on_subscribe(
        self, _c: mqtt.Client, _u: object, _mid: int, reasons: list[ReasonCode], _p: object
    ) -> None:
        for (topic, _qos), reason in zip(self._subscriptions, reasons, strict=False):
            if reason.is_failure:
                logger.error("subscription to %s refused: %s", topic, reason)

    def _on_disconnect(
        self, _c: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object
    ) -> None:
        self._connected.clear()
        self.stats.disconnects += 1
        if not self._stop.is_set():
            logger.warning("disconnected from the broker: %s", reason)

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        queue = self._queue
        if len(queue) >= self._queue_max:
            self.stats.extra["backpressure"] = self.stats.extra.get("backpressure", 0) + 1
            with self._room:
                while len(queue) > self._queue_max // 2 and not self._stop.is_set():
                    # Acks of inbound QoS 1 messages wait for the socket too: flush them.
                    if self._client.want_write():
                        self._client.loop_write()
                    self._room.wait(0.005)
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            self.stats.extra["bad_topic"] = self.stats.extra.get("bad_topic", 0) + 1
            return
        queue.append(InboundMessage(topic, bytes(msg.payload), msg.qos, msg.retain, msg.mid, time.time()))
        self.stats.received += 1
        if not self._wake_pending:
            self._wake_pending = True
            loop = self._loop
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self._linger)

    def _on_publish(
        self, _c: mqtt.Client, _u: object, mid: int, _reason: ReasonCode, _p: object
    ) -> None:
        # paho calls this while holding its own message mutex, so the lock taken here must
        # never be held by anyone calling into paho (that would invert the lock order).
        with self._token_lock:
            token = self._tokens.pop(mid, None)
            if token is None:
                self._early.add(mid)  # acknowledged before publish() recorded the mid
                return
        if token:
            self._report_ack(token)

    def _report_ack(self, token: str) -> None:
        self._acks.append(token)
        if not self._ack_wake_pending:
            self._ack_wake_pending = True
            loop = self._loop
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self._drain_acks)

    # -- event-loop side ----------------------------------------------------------------

    def _linger(self) -> None:
        # Wait a moment after the first message of a burst, so that the batch fills: every
        # batch costs a transaction and a relay pass, whatever its size.
        if self._linger_s > 0 and len(self._queue) < self._batch_max:
            asyncio.get_running_loop().call_later(self._linger_s, self._drain)
        else:
            self._drain()

    def _drain(self) -> None:
        self._wake_pending = False
        queue = self._queue
        if not queue or self._on_batch is None:
            return
        count = min(len(queue), self._batch_max)
        batch = [queue.popleft() for _ in range(count)]
        self.stats.queue_depth = len(queue)
        with self._room:
            self._room.notify_all()
        try:
            self._on_batch(batch)
        except Exception:
            # The batch stays unacknowledged: the broker redelivers its QoS 1 messages.
            logger.exception("inbound batch of %d messages failed", len(batch))
        if queue and not self._wake_pending:
            # Yield to other tasks (the API) between batches instead of draining all at once.
            self._wake_pending = True
            asyncio.get_running_loop().call_soon(self._drain)

    def _drain_acks(self) -> None:
        self._ack_wake_pending = False
        tokens = []
        while self._acks:
            tokens.append(self._acks.popleft())
        if not tokens:
            return
        for handler in self._ack_handlers:
            try:
                handler(tokens)
            except Exception:
                logger.exception("publish-ack handler failed")

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False, token: str = "") -> None:
        info = self._out.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            raise TransportError(f"publish to {topic} failed: {mqtt.error_string(info.rc)}")
        self.stats.published += 1
        with self._token_lock:
            if info.mid in self._early:
                self._early.discard(info.mid)
                acked_already = True
            else:
                self._tokens[info.mid] = token
                acked_already = False
        if acked_already and token:
            self._report_ack(token)

    def on_published(self, handler: AckHandler) -> None:
        self._ack_handlers.append(handler)

    def ack(self, messages: Sequence[InboundMessage]) -> None:
        client = self._client
        for message in messages:
            if message.qos > 0:
                client.ack(message.mid, message.qos)
