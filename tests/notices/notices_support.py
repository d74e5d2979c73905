"""Helpers shared by the notices tests (imported by name: tests have no packages)."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from hub.storage.database import Database
from hub.storage.outbox import Outbox

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus" / "cap"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "notices"


@dataclass(frozen=True)
class Broker:
    host: str
    port: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            pytest.fail(f"mosquitto exited early: {err}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            # Not listening yet: wait on the socket again (bounded by the deadline).
            time.sleep(0.02)
    pytest.fail(f"mosquitto did not listen on {port} within {timeout}s")


# Ana and Ben live in the outage polygon (and on streets named by outage lists); Chen does not.
START = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)
HOUSEHOLDS = [
    # id, community, name, street, lat, lon, area_codes, language
    ("ana", "riverside", "Ana", "Mill Lane", 50.0610, 19.9370, {"POSTAL": ["30-001"]}, "en"),
    ("ben", "riverside", "Ben", "Mill Lane", 50.0615, 19.9380, {"POSTAL": ["30-001"]}, "es"),
    ("chen", "riverside", "Chen", "Hill Road", 50.0700, 19.9600, {"POSTAL": ["30-009"]}, "en"),
    ("dora", "hilltop", "Dora", "Mill Lane", 50.0612, 19.9375, {"POSTAL": ["30-001"]}, "en"),
]


def seed_households(db: Database) -> None:
    with db.transaction() as conn:
        for community in ("riverside", "hilltop"):
            conn.execute(
                "INSERT INTO communities (id, name, created_at) VALUES (?, ?, ?)",
                (community, community.title(), 0.0),
            )
        for hid, community, name, street, lat, lon, codes, lang in HOUSEHOLDS:
            conn.execute(
                "INSERT INTO households (id, community, name, street, lat, lon, area_codes,"
                " language, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (hid, community, name, street, lat, lon, orjson.dumps(codes).decode(), lang, 0.0),
            )


# -- CAP documents for the story (a gas utility's planned interruption) ------------------

# Contains Ana's and Ben's homes (Mill Lane), not Chen's (Hill Road).
MILL_LANE_POLYGON = "50.05,19.92 50.05,19.95 50.065,19.95 50.065,19.92 50.05,19.92"


def cap_xml(
    identifier: str,
    *,
    msg_type: str = "Alert",
    references: tuple[str, ...] = (),
    sent: str = "2026-11-28T11:00:00+01:00",
    expires: str = "2026-11-28T23:00:00+01:00",
    headline: str = "Planned gas supply interruption, 17:00-23:00",
    polygon: str | None = MILL_LANE_POLYGON,
    sender: str = "ops@gas.example",
) -> bytes:
    """A CAP 1.2 alert with an English and a Spanish <info> block."""
    refs = " ".join(f"{sender},{r},2026-11-28T11:00:00+01:00" for r in references)
    area = "<areaDesc>Mill Lane and around</areaDesc>"
    if polygon:
        area += f"<polygon>{polygon}</polygon>"
    infos = ""
    for lang, event in (("en-GB", "Gas supply interruption"), ("es-ES", "Corte de gas")):
        infos += (
            f"<info><language>{lang}</language><category>Infra</category>"
            f"<event>{event}</event><urgency>Expected</urgency><severity>Moderate</severity>"
            f"<certainty>Likely</certainty><onset>2026-11-28T17:00:00+01:00</onset>"
            f"<expires>{expires}</expires><headline>{headline}</headline>"
            f"<description>Works on the gas main.</description><area>{area}</area></info>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
        f"<identifier>{identifier}</identifier><sender>{sender}</sender><sent>{sent}</sent>"
        f"<status>Actual</status><msgType>{msg_type}</msgType><scope>Public</scope>"
        + (f"<references>{refs}</references>" if refs else "")
        + infos
        + "</alert>"
    ).encode()


# -- MQTT helpers: a tiny relay (the lead's relay does this in production) and a reader --


def _client(broker: Broker, name: str) -> Any:
    import paho.mqtt.client as mqtt

    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"{name}-{uuid.uuid4().hex[:8]}"
    )
    connected = threading.Event()
    client.on_connect = lambda *_a: connected.set()
    client.connect(broker.host, broker.port)
    client.loop_start()
    if not connected.wait(5):
        client.loop_stop()
        pytest.fail("could not connect to the test broker")
    return client


def relay_pending(outbox: Outbox, broker: Broker) -> int:
    """Publish what the outbox holds, wait for each PUBACK, mark it sent; return the count."""
    messages = outbox.pending()
    client = _client(broker, "relay")
    try:
        for msg in messages:
            info = client.publish(msg.topic, msg.payload, qos=msg.qos, retain=msg.retain)
            info.wait_for_publish(timeout=5)
            assert info.is_published(), f"broker did not acknowledge {msg.topic}"
        outbox.mark_sent(m.id for m in messages)
    finally:
        client.disconnect()
        client.loop_stop()
    return len(messages)


def read_retained(broker: Broker, *patterns: str) -> dict[str, bytes]:
    """The retained messages a fresh client receives on subscribing to ``patterns``.

    A marker published after the SUBACKs arrives after every retained message the broker
    sent for those subscriptions (one client's messages keep their order), so its arrival
    says that all retained ones are in.
    """
    import paho.mqtt.client as mqtt

    got: dict[str, bytes] = {}
    marker = f"test/marker/{uuid.uuid4().hex}"
    done = threading.Event()
    subscribed = threading.Event()
    pending_subs = len(patterns) + 1

    def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == marker:
            done.set()
        elif msg.retain:
            got[msg.topic] = msg.payload

    def on_subscribe(*_a: Any) -> None:
        nonlocal pending_subs
        pending_subs -= 1
        if pending_subs == 0:
            subscribed.set()

    client = _client(broker, "reader")
    client.on_message = on_message
    client.on_subscribe = on_subscribe
    try:
        for pattern in (*patterns, marker):
            client.subscribe(pattern, qos=1)
        assert subscribed.wait(5), "no SUBACK"
        client.publish(marker, b"x", qos=1)
        assert done.wait(5), "marker did not come back"
    finally:
        client.disconnect()
        client.loop_stop()
    return got
