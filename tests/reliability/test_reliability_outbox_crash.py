"""RELIABILITY row 14: a crash between an offer's commit and its publish, at every step.

The relay's steps are: committed -> handed to the client -> PUBACK received -> marked sent.
For a crash after each step (the process stops, the database file stays), a new relay on
the same database must deliver every committed message (0 committed-but-unsent), and a
transaction that rolled back must deliver nothing (0 sent-but-uncommitted).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from hub.storage import Outbox
from hub.transport.mqtt import MqttTransport
from hub.transport.relay import OutboxRelay
from tests.conftest import Broker
from tests.mqtt_helpers import client, wait_until
from tests.stores import open_db

N = 40


class Crash(Exception):
    """Stands for the process dying at this point."""


async def run_relay_until(broker: Broker, db_path: Path, topic: str, step: str) -> None:
    """Commit N messages and run a relay that 'crashes' at ``step``."""
    db = open_db(db_path)
    outbox = Outbox(db)
    with db.transaction() as conn:
        for i in range(N):
            outbox.add(conn, f"{topic}/{i}", {"n": i}, message_id=f"{step}-{i}")

    def rolled_back() -> None:  # never committed: must never be sent
        with db.transaction() as conn:
            outbox.add(conn, f"{topic}/ghost", {"n": -1}, message_id=f"{step}-ghost")
            raise Crash

    with pytest.raises(Crash):
        rolled_back()
    if step == "after-commit":
        db.close()
        return
    transport = MqttTransport(broker.host, broker.port, client_id=f"{topic}-a", clean_start=True)
    await transport.start(lambda _b: None, [])
    if step == "after-handover":
        transport.drop_connections()  # the connections die with the messages in flight
        OutboxRelay(outbox, transport).kick()
        await asyncio.sleep(0)
    else:  # after-puback: acknowledged by the broker, but the 'marked sent' write never happens
        def crash_on_mark(ids: object) -> None:
            raise Crash

        outbox.mark_sent = crash_on_mark  # type: ignore[method-assign]
        relay = OutboxRelay(outbox, transport)
        relay.kick()
        await wait_until(lambda: transport.stats.published >= N)
    await transport.stop()
    db.close()


@pytest.mark.parametrize("step", ["after-commit", "after-handover", "after-puback"])
async def test_outbox_delivers_every_committed_message_after_a_crash(
    broker: Broker, tmp_path: Path, topic_prefix: str, step: str
) -> None:
    db_path = tmp_path / "hub.sqlite3"
    with client(broker.port, subscribe=[(f"{topic_prefix}/#", 1)]) as (_, sink):
        await run_relay_until(broker, db_path, topic_prefix, step)
        # The restart: a new process, the same database file.
        db = open_db(db_path)
        outbox = Outbox(db)
        transport = MqttTransport(broker.host, broker.port, client_id=f"{topic_prefix}-b", clean_start=True)
        await transport.start(lambda _b: None, [])
        OutboxRelay(outbox, transport).kick()
        await wait_until(lambda: outbox.unsent_count() == 0, within=20)
        await transport.stop()

        def all_arrived(messages: list[tuple[str, bytes, bool]]) -> bool:
            return len({orjson.loads(p)["id"] for _, p, _ in messages}) >= N

        await asyncio.to_thread(sink.wait_for, all_arrived, 10)
        ids = [orjson.loads(p)["id"] for _, p, _ in sink.messages]
    unsent = N - len(set(ids))
    ghosts = sum(1 for i in ids if i.endswith("ghost"))
    print(f"RELIABILITY row 14 ({step}): {unsent} committed-but-unsent, {ghosts} sent-but-uncommitted, "
          f"{len(ids) - len(set(ids))} copies resent (same id)")
    assert set(ids) == {f"{step}-{i}" for i in range(N)}
    assert ghosts == 0
