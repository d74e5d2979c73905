"""Small paho helpers for tests: a publisher and a collecting subscriber on a real broker."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


class Collector:
    """Subscribes and records (topic, payload, retain) until closed."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._cond = threading.Condition()

    def on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[list[tuple[str, bytes, bool]]], bool], timeout: float = 10.0) -> bool:
        """Block until ``predicate(messages)`` holds; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.messages):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True


@contextmanager
def client(
    port: int,
    *,
    client_id: str = "",
    username: str | None = None,
    password: str | None = None,
    subscribe: list[tuple[str, int]] | None = None,
    protocol: int = mqtt.MQTTv5,
) -> Iterator[tuple[mqtt.Client, Collector]]:
    """A connected paho client (network thread running) and its collector."""
    collector = Collector()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
    if username is not None:
        c.username_pw_set(username, password)
    c.on_message = collector.on_message
    connected = threading.Event()
    subscribed = threading.Event()

    def on_connect(cl: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        if subscribe:
            cl.subscribe(subscribe)
        else:
            subscribed.set()
        connected.set()

    c.on_connect = on_connect
    c.on_subscribe = lambda *_a: subscribed.set()
    c.connect("127.0.0.1", port)
    c.loop_start()
    try:
        assert connected.wait(10), "test client could not connect"
        assert subscribed.wait(10), "test client could not subscribe"
        yield c, collector
    finally:
        c.disconnect()
        c.loop_stop()


def wait_until_sync(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``predicate()`` from a plain thread until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


async def wait_until(predicate: Callable[[], bool], within: float = 10.0) -> None:
    """Wait on the event loop until ``predicate()`` holds; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
