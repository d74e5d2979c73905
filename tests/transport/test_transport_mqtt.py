"""The MQTT transport against a real Mosquitto: batching, manual acks, overflow, relay."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

import orjson

from hub.storage import Outbox
from hub.transport.base import InboundMessage
from hub.transport.mqtt import MqttTransport
from hub.transport.relay import OutboxRelay
from tests.conftest import Broker
from tests.mqtt_helpers import client, wait_until
from tests.stores import open_db


async def test_messages_arrive_in_batches_in_order(broker: Broker, topic_prefix: str) -> None:
    batches: list[list[InboundMessage]] = []
    transport = MqttTransport(broker.host, broker.port, client_id=f"{topic_prefix}-hub", clean_start=True)

    def handle(batch: Sequence[InboundMessage]) -> None:
        batches.append(list(batch))
        transport.ack(batch)  # the broker keeps only a few unacknowledged QoS 1 messages in flight

    await transport.start(handle, [(f"{topic_prefix}/#", 1)])
    try:
        with client(broker.port) as (pub, _):
            infos = [pub.publish(f"{topic_prefix}/d", str(i).encode(), qos=1) for i in range(3000)]
            for info in infos:
                info.wait_for_publish(10)
            await wait_until(lambda: sum(len(b) for b in batches) >= 3000)
        received = [int(m.payload) for b in batches for m in b]
        assert received == list(range(3000))
        assert len(batches) < 3000, "messages must be handed over in batches, not one by one"
    finally:
        await transport.stop()


async def test_unacked_qos1_message_is_redelivered_to_the_persistent_session(broker: Broker, topic_prefix: str) -> None:
    cid = f"{topic_prefix}-session"
    got: list[InboundMessage] = []
    first = MqttTransport(broker.host, broker.port, client_id=cid, session_expiry_s=60)
    await first.start(got.extend, [(f"{topic_prefix}/#", 1)])
    with client(broker.port) as (pub, _):
        pub.publish(f"{topic_prefix}/acked", b"1", qos=1).wait_for_publish(10)
        await wait_until(lambda: len(got) == 1)
        first.ack(got)
        pub.publish(f"{topic_prefix}/not-acked", b"2", qos=1).wait_for_publish(10)
        await wait_until(lambda: len(got) == 2)
        await first.stop()  # the second message was never acknowledged
        again: list[InboundMessage] = []
        second = MqttTransport(broker.host, broker.port, client_id=cid, session_expiry_s=60)
        await second.start(again.extend, [(f"{topic_prefix}/#", 1)])
        try:
            await wait_until(lambda: len(again) >= 1)
            assert [m.topic for m in again] == [f"{topic_prefix}/not-acked"]
            second.ack(again)
        finally:
            await second.stop()


async def test_a_full_queue_stops_reading_and_loses_nothing(broker: Broker, topic_prefix: str) -> None:
    seen: list[int] = []

    def slow_handler(batch: Sequence[InboundMessage]) -> None:
        time.sleep(0.05)  # a consumer slower than the producer: the bounded queue must not grow
        seen.append(len(batch))

    transport = MqttTransport(
        broker.host, broker.port, client_id=f"{topic_prefix}-bp", clean_start=True, queue_max=100, batch_max=50,
        linger_s=0, shed_at=0,
    )
    depth: list[int] = []
    await transport.start(lambda b: (depth.append(len(transport._queue)), slow_handler(b)), [(f"{topic_prefix}/#", 0)])
    try:
        with client(broker.port) as (pub, _):
            for i in range(2000):
                pub.publish(f"{topic_prefix}/x", str(i).encode(), qos=0)
            await wait_until(lambda: sum(seen) >= 2000, within=30)
        assert sum(seen) == 2000, "the broker held what the hub could not take yet"
        assert transport.stats.extra.get("backpressure", 0) > 0
        assert max(depth) <= 100, "the queue never grows past its bound"
        assert max(seen) <= 50
    finally:
        await transport.stop()


async def test_relay_publishes_committed_messages_and_marks_them_sent(
    broker: Broker, topic_prefix: str, tmp_path: Path
) -> None:
    db = open_db(tmp_path / "hub.sqlite3")
    outbox = Outbox(db)
    transport = MqttTransport(broker.host, broker.port, client_id=f"{topic_prefix}-relay", clean_start=True)
    await transport.start(lambda _b: None, [])
    relay = OutboxRelay(outbox, transport)
    try:
        with client(broker.port, subscribe=[(f"{topic_prefix}/#", 1)]) as (_, sub):
            with db.transaction() as conn:
                for i in range(50):
                    outbox.add(conn, f"{topic_prefix}/offer", {"n": i})
            outbox.notify()
            assert await asyncio.to_thread(sub.wait_for, lambda m: len(m) >= 50)
            await wait_until(lambda: outbox.unsent_count() == 0)
            assert [orjson.loads(p)["n"] for _, p, _ in sub.messages] == list(range(50))
            assert relay.sent == 50
            assert relay.in_flight == 0
    finally:
        await transport.stop()


async def test_behind_it_sheds_superseded_readings_and_keeps_the_rest(broker: Broker, topic_prefix: str) -> None:
    seen: list[InboundMessage] = []
    release = asyncio.Event()

    def handler(batch: Sequence[InboundMessage]) -> None:
        seen.extend(batch)
        transport.ack(batch)

    transport = MqttTransport(
        broker.host, broker.port, client_id=f"{topic_prefix}-shed", clean_start=True, queue_max=5000, batch_max=100,
        shed_at=50, linger_s=0,
    )

    def slow_until_released(batch: Sequence[InboundMessage]) -> None:
        if not release.is_set():
            time.sleep(0.2)  # the hub is behind: messages pile up in the queue meanwhile
        handler(batch)

    await transport.start(slow_until_released, [(f"{topic_prefix}/#", 1)])
    try:
        with client(broker.port) as (pub, _):
            for i in range(600):
                pub.publish(f"{topic_prefix}/dev{i % 3}/telemetry", str(i).encode(), qos=0)
                if i % 100 == 0:
                    pub.publish(f"{topic_prefix}/dev{i % 3}/availability", f"online {i}".encode(), qos=1)
            pub.publish(f"{topic_prefix}/dev0/telemetry", b"last", qos=0).wait_for_publish(10)
            dropped = lambda: transport.stats.extra.get("superseded", 0)  # noqa: E731
            await wait_until(lambda: len(seen) + dropped() >= 607, within=30)
            release.set()
        payloads = [m.payload for m in seen]
        assert len(seen) + dropped() == 607, "every message is either handled or counted as dropped"
        assert dropped() > 0, "the hub was behind: superseded readings went"
        assert transport.stats.shed == dropped()
        availability = [m.payload for m in seen if m.topic.endswith("/availability")]
        assert availability == [f"online {i}".encode() for i in range(0, 600, 100)], "QoS 1 is never shed"
        assert payloads[-1] == b"last", "the newest reading of a topic is always kept"
        for n in (1, 2):  # the newest reading of every other topic made it too
            newest = str(max(i for i in range(600) if i % 3 == n)).encode()
            assert newest in payloads
    finally:
        await transport.stop()


async def test_it_reconnects_after_a_broker_restart_and_resends_unacknowledged_publishes(
    tmp_path: Path, topic_prefix: str
) -> None:
    from hub.broker.config import render_plain_config
    from hub.broker.supervisor import free_port, wait_for_port
    from tests.conftest import start_mosquitto, stop_process

    port = free_port()
    conf = render_plain_config(port, tmp_path / "data")  # persistence: the sessions survive the restart
    proc = start_mosquitto(conf, tmp_path)
    wait_for_port(port, proc, timeout=10)
    got: list[InboundMessage] = []
    acked: list[str] = []

    def handle(batch: Sequence[InboundMessage]) -> None:
        got.extend(batch)
        transport.ack(batch)

    transport = MqttTransport("127.0.0.1", port, client_id=f"{topic_prefix}-re", session_expiry_s=60)
    transport.on_published(acked.extend)
    try:
        await transport.start(handle, [(f"{topic_prefix}/in/#", 1)])
        assert transport.connected
        stop_process(proc)  # the broker goes away
        await wait_until(lambda: not transport.connected)
        transport.publish(f"{topic_prefix}/out", b"while down", qos=1, token="t-down")
        proc = start_mosquitto(conf, tmp_path)
        wait_for_port(port, proc, timeout=10)
        await wait_until(lambda: transport.connected, within=40)  # back-off is at most a few seconds here
        assert transport.stats.connects >= 2
        await wait_until(lambda: acked == ["t-down"], within=20)  # sent (DUP) on the new connection
        with client(port) as (pub, _):
            pub.publish(f"{topic_prefix}/in/x", b"after", qos=1).wait_for_publish(10)
            await wait_until(lambda: [m.payload for m in got] == [b"after"])
    finally:
        await transport.stop()
        stop_process(proc)
