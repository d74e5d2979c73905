"""CAP over MQTT from a publisher, through a real Mosquitto, into retained notices."""

from __future__ import annotations

import queue
import threading
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest
from notices_support import FIXTURES, cap_xml, read_retained, relay_pending

from hub.errors import PayloadRejected
from hub.notices.intake import INTAKE_FILTER, NoticeIntake, intake_topic, parse_intake_topic

ALLOWED = {("gas-utility", "riverside")}


def authorised(publisher: str, community: str) -> bool:
    return (publisher, community) in ALLOWED


def test_intake_topics() -> None:
    assert intake_topic("gas-utility", "riverside") == "publishers/gas-utility/notices/riverside"
    assert parse_intake_topic("publishers/gas-utility/notices/riverside") == (
        "gas-utility",
        "riverside",
    )
    assert parse_intake_topic("community/riverside/notices/in") is None
    assert parse_intake_topic("publishers//notices/riverside") is None


def test_cap_sent_over_mqtt_becomes_a_retained_notice(kit, broker) -> None:  # type: ignore[no-untyped-def]
    intake = NoticeIntake(kit.book, authorised)
    inbox: queue.Queue[tuple[str, bytes]] = queue.Queue()
    subscribed = threading.Event()
    hub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="hub-intake-test")

    def on_connect(client: mqtt.Client, *_a: Any) -> None:
        client.subscribe(INTAKE_FILTER, qos=1)

    hub.on_connect = on_connect
    hub.on_subscribe = lambda *_a: subscribed.set()
    hub.on_message = lambda _c, _u, msg: inbox.put((msg.topic, msg.payload))
    hub.connect(broker.host, broker.port)
    hub.loop_start()
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="gas-utility")
    publisher.connect(broker.host, broker.port)
    publisher.loop_start()
    try:
        assert subscribed.wait(5)
        for topic, payload in [
            (intake_topic("gas-utility", "riverside"), cap_xml("mqtt-gas-1")),
            (intake_topic("stranger", "riverside"), cap_xml("mqtt-stranger")),
            (intake_topic("gas-utility", "riverside"), (FIXTURES / "xxe_file.xml").read_bytes()),
        ]:
            publisher.publish(topic, payload, qos=1).wait_for_publish(5)
        received = [inbox.get(timeout=5) for _ in range(3)]
    finally:
        for client in (publisher, hub):
            client.disconnect()
            client.loop_stop()

    (change,) = intake.handle(*received[0])
    assert (change.action, change.notice.id) == ("arrived", "mqtt-gas-1")
    assert change.households == frozenset({"ana", "ben"})
    with pytest.raises(PayloadRejected, match="'stranger' may not post notices"):
        intake.handle(*received[1])
    with pytest.raises(PayloadRejected, match="DTDForbidden"):
        intake.handle(*received[2])
    assert kit.book.get("mqtt-stranger") is None

    relay_pending(kit.outbox, broker)
    seen = read_retained(broker, "community/riverside/notices/mqtt-gas-1")
    body = orjson.loads(seen["community/riverside/notices/mqtt-gas-1"])
    assert body["households"] == 2
    assert body["sender"] == "ops@gas.example"

    # Clean the shared broker: cancel it and relay the clearing messages.
    intake.handle(
        intake_topic("gas-utility", "riverside"),
        cap_xml("mqtt-gas-2", msg_type="Cancel", references=("mqtt-gas-1",)),
    )
    relay_pending(kit.outbox, broker)
    assert read_retained(broker, "community/riverside/notices/mqtt-gas-1") == {}
