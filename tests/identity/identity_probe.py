"""Helpers for the identity tests: a broker handle and a recording MQTT client."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from argon2 import PasswordHasher
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hub.identity.accounts import Passwords

REPO = Path(__file__).resolve().parents[2]
ADMIN_USER = "hub-admin"
#: argon2id with cheap parameters: hashing speed is not what these tests are about.
FAST_PASSWORDS = Passwords(PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1))
HUB_USER = "hub"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"mosquitto exited: {log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)  # polling a port, not standing in for readiness
    pytest.fail(f"mosquitto did not listen on {port}: {log.read_text(errors='replace')}")


@dataclass
class Broker:
    host: str
    port: int
    admin_password: str
    hub_password: str
    log: Path
    pid: int


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool
    at: float


@dataclass
class Probe:
    """A real MQTT client that records what it receives and how the broker answered."""

    broker: Broker
    username: str | None
    password: str | None
    client_id: str
    v5: bool = True
    messages: list[Received] = field(default_factory=list)
    suback: list[list[Any]] = field(default_factory=list)
    puback: dict[int, Any] = field(default_factory=dict)
    connack: Any = None
    disconnects: list[Any] = field(default_factory=list)
    connacks: int = 0
    #: filters subscribed again on every (re)connection whose session was not kept
    resubscribe: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cond = threading.Condition()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5 if self.v5 else mqtt.MQTTv311,
            clean_session=None if self.v5 else False,
        )
        if self.username is not None:
            self.client.username_pw_set(self.username, self.password)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.on_publish = self._on_publish
        self.client.on_disconnect = self._on_disconnect

    def _on_connect(self, c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
        with self.cond:
            self.connack = reason
            self.connacks += 1
            self.cond.notify_all()
        if not reason.is_failure and self.resubscribe and not flags.session_present:
            c.subscribe([(f, 1) for f in self.resubscribe])

    def _on_message(self, c: Any, u: Any, msg: mqtt.MQTTMessage) -> None:
        with self.cond:
            self.messages.append(
                Received(msg.topic, msg.payload, bool(msg.retain), time.monotonic())
            )
            self.cond.notify_all()

    def _on_subscribe(self, c: Any, u: Any, mid: int, reasons: list[Any], props: Any) -> None:
        with self.cond:
            self.suback.append(reasons)
            self.cond.notify_all()

    def _on_publish(self, c: Any, u: Any, mid: int, reason: Any, props: Any) -> None:
        with self.cond:
            self.puback[mid] = reason
            self.cond.notify_all()

    def _on_disconnect(self, c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
        with self.cond:
            self.disconnects.append(reason)
            self.cond.notify_all()

    def connect(self, *, clean_start: bool = True, expiry: int = 0, timeout: float = 5.0) -> Any:
        props = None
        kwargs: dict[str, Any] = {}
        if self.v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = expiry
            kwargs = {"clean_start": clean_start, "properties": props}
        self.client.reconnect_delay_set(1, 1)
        self.client.connect(self.broker.host, self.broker.port, keepalive=30, **kwargs)
        self.client.loop_start()
        assert self.wait(lambda: self.connack is not None, timeout), "no CONNACK"
        return self.connack

    def wait(self, predicate: Any, timeout: float = 5.0) -> bool:
        with self.cond:
            return self.cond.wait_for(predicate, timeout)

    def subscribe(self, *filters: str, qos: int = 1) -> list[Any]:
        before = len(self.suback)
        self.client.subscribe([(f, qos) for f in filters])
        assert self.wait(lambda: len(self.suback) > before), "no SUBACK"
        return self.suback[before]

    def publish(
        self, topic: str, payload: bytes | str, *, qos: int = 1, retain: bool = False
    ) -> int:
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        return int(info.mid)

    def wait_for(self, topic: str, timeout: float = 5.0) -> bool:
        return self.wait(lambda: any(m.topic == topic for m in self.messages), timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
