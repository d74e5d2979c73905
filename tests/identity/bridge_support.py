"""Helpers of the bridge tests: Mosquitto processes that can be stopped and started again,
and an MQTT client that records what it receives."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hub.broker.supervisor import find_mosquitto, wait_for_port

REPO = Path(__file__).resolve().parents[2]
WAIT = 60.0  # generous: the machine is shared


@dataclass
class Mosquitto:
    """One Mosquitto process from a config file, stopped and started by its pid."""

    conf: Path
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Mosquitto:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [find_mosquitto(), "-c", str(self.conf)], stdout=out, stderr=subprocess.STDOUT
            )
        wait_for_port(self.port, self.proc, timeout=20, log_path=self.log)
        return self

    def stop(self) -> None:
        """SIGTERM by pid (Mosquitto saves its persistence file), wait until it is gone."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Recorder:
    """A real MQTT v5 client: waits for CONNACK, records messages, PUBACK and SUBACK codes."""

    port: int
    username: str | None
    password: str | None
    client_id: str
    persistent: bool = False
    messages: list[tuple[str, bytes]] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)
    connack: Any = None
    suback: list[Any] = field(default_factory=list)
    puback: dict[int, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5
        )
        if self.username is not None:
            self.client.username_pw_set(self.username, self.password)
        self.client.reconnect_delay_set(0.2, 2)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.on_publish = self._on_publish

    def _on_connect(self, c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
        with self.cond:
            self.connack = reason
            self.cond.notify_all()

    def _on_message(self, c: Any, u: Any, msg: mqtt.MQTTMessage) -> None:
        with self.cond:
            self.messages.append((msg.topic, bytes(msg.payload)))
            self.cond.notify_all()

    def _on_subscribe(self, c: Any, u: Any, mid: int, reasons: list[Any], props: Any) -> None:
        with self.cond:
            self.suback.append(reasons)
            self.cond.notify_all()

    def _on_publish(self, c: Any, u: Any, mid: int, reason: Any, props: Any) -> None:
        with self.cond:
            self.puback[mid] = reason
            self.cond.notify_all()

    def connect(self) -> Recorder:
        props = Properties(PacketTypes.CONNECT)
        if self.persistent:
            props.SessionExpiryInterval = 3600
        self.client.connect(
            "127.0.0.1", self.port, keepalive=30, clean_start=not self.persistent, properties=props
        )
        self.client.loop_start()
        self.wait(lambda: self.connack is not None, "CONNACK")
        assert not self.connack.is_failure, f"{self.client_id}: CONNACK {self.connack}"
        return self

    def subscribe(self, topic: str) -> list[Any]:
        before = len(self.suback)
        self.client.subscribe(topic, qos=1)
        self.wait(lambda: len(self.suback) > before, f"SUBACK of {topic}")
        return list(self.suback[before])

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> Any:
        """Publish at QoS 1, wait for the PUBACK, return its reason code."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        self.wait(lambda: info.mid in self.puback, f"PUBACK of {topic}")
        return self.puback[info.mid]

    def wait(self, predicate: Any, what: str, timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate():
                left = deadline - time.monotonic()
                assert left > 0, f"{self.client_id}: no {what} within {timeout:.0f} s"
                self.cond.wait(left)

    def payloads(self, topic: str) -> list[bytes]:
        with self.cond:
            return [p for t, p in self.messages if t == topic]

    def topics(self) -> set[str]:
        with self.cond:
            return {t for t, _ in self.messages}

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def bridge_config(core_port: int, admin_password: str, *args: str, data: Path) -> subprocess.CompletedProcess[str]:
    """Run ``hub broker bridge-config`` as the operator would, against the core broker."""
    return hub_broker(core_port, admin_password, "bridge-config", *args, data=data)


def hub_broker(core_port: int, admin_password: str, *args: str, data: Path) -> subprocess.CompletedProcess[str]:
    """Run ``hub broker ARGS...`` with the core broker's admin in the environment."""
    env = dict(
        os.environ,
        HUB_MQTT_URL=f"mqtt://127.0.0.1:{core_port}",
        HUB_BROKER_ADMIN_USERNAME="hub-admin",
        HUB_BROKER_ADMIN_PASSWORD=admin_password,
        HUB_DATA_DIR=str(data),
    )
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", "--log-level", "WARNING", "broker", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
