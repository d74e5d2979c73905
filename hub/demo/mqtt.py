"""Small MQTT actors of the story: a subscriber that collects, a one-shot publisher.

Each actor uses its own broker login; the broker pins every login to its client id
(``gw-<household>``, ``pv-<provider>``), so an actor that only publishes connects, sends
with QoS 1, waits for the PUBACK and leaves, and does not hold the id that the
household's real gateway may be using.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from hub.errors import TransportError

CONNECT_TIMEOUT_S = 10.0


def _client(client_id: str, username: str, password: str) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    c.username_pw_set(username, password)
    c.reconnect_delay_set(1, 2)
    return c


def publish_once(
    address: tuple[str, int], login: dict[str, str], topic: str, payload: bytes, *, retain: bool = False
) -> None:
    """Connect with ``login``, publish ``payload`` with QoS 1, wait for the PUBACK, leave.

    Raises:
        TransportError: no connection or no acknowledgement within 10 s, or the broker
            refused the publish.
    """
    connected = threading.Event()
    refused: list[str] = []

    def on_connect(_c: mqtt.Client, _u: object, _f: object, reason: Any, _p: object) -> None:
        if reason.is_failure:
            refused.append(str(reason))
        connected.set()

    c = _client(login["username"], login["username"], login["password"])
    c.on_connect = on_connect
    try:
        c.connect(address[0], address[1])
    except OSError as exc:
        raise TransportError(f"cannot reach the broker at {address[0]}:{address[1]}: {exc}") from exc
    c.loop_start()
    try:
        if not connected.wait(CONNECT_TIMEOUT_S) or refused:
            raise TransportError(f"{login['username']} could not connect: {refused or 'timeout'}")
        info = c.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(CONNECT_TIMEOUT_S)
        if not info.is_published():
            raise TransportError(f"{login['username']}: no PUBACK for {topic}")
    finally:
        c.disconnect()
        c.loop_stop()


class FeedListener:
    """A provider's own subscriber: collects what reaches ``filter`` on its login.

    Reconnects by itself (a hub restart restarts the managed broker) and subscribes again
    on every connection. Messages are kept as ``(topic, decoded JSON)``; a payload that is
    not JSON is kept as ``{"raw": text}`` so nothing received is hidden.
    """

    def __init__(self, address: tuple[str, int], login: dict[str, str], topic_filter: str) -> None:
        self.address = address
        self.filter = topic_filter
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._client = _client(login["username"], login["username"], login["password"])
        self._client.on_connect = self._on_connect
        self.subscriptions = 0
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    def _on_connect(self, c: mqtt.Client, _u: object, _f: object, reason: Any, _p: object) -> None:
        if not reason.is_failure:
            c.subscribe(self.filter, qos=1)

    def _on_subscribe(self, *_args: object) -> None:
        self.subscriptions += 1  # one per connection: a reconnect subscribes again
        self._subscribed.set()

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        try:
            body = orjson.loads(msg.payload) if msg.payload else {}
        except orjson.JSONDecodeError:
            body = {"raw": bytes(msg.payload).decode("utf-8", "replace")}
        with self._lock:
            self.messages.append((msg.topic, body))

    def start(self) -> None:
        """Connect and wait until subscribed (at most 10 s)."""
        try:
            self._client.connect(self.address[0], self.address[1])
        except OSError as exc:
            raise TransportError(f"cannot reach the broker: {exc}") from exc
        self._client.loop_start()
        if not self._subscribed.wait(CONNECT_TIMEOUT_S):
            self.stop()
            raise TransportError(f"could not subscribe to {self.filter}")

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        """Publish JSON on this login (QoS 1), waiting for the PUBACK."""
        info = self._client.publish(topic, orjson.dumps(payload), qos=1)
        info.wait_for_publish(CONNECT_TIMEOUT_S)
        if not info.is_published():
            raise TransportError(f"no PUBACK for {topic}")

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def snapshot(self) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            return list(self.messages)

    async def wait_for(
        self, predicate: Callable[[tuple[str, dict[str, Any]]], bool], within: float = 20.0
    ) -> tuple[str, dict[str, Any]]:
        """The first collected message matching ``predicate`` (waits for it)."""
        deadline = time.monotonic() + within
        while True:
            for message in self.snapshot():
                if predicate(message):
                    return message
            if time.monotonic() > deadline:
                raise TimeoutError(f"no matching message on {self.filter} within {within:g} s")
            await asyncio.sleep(0.02)
