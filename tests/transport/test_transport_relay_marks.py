"""The relay records the broker's acknowledgements in gathered transactions: every
acknowledged message ends up marked sent, none is published twice meanwhile (not even by
the once-a-second sweep), and those still gathering are recorded when the relay closes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from hub.storage.outbox import Outbox
from hub.transport import relay as relay_module
from hub.transport.relay import OutboxRelay
from tests.mqtt_helpers import wait_until
from tests.stores import open_db


class AckingTransport:
    """Records publishes; the test acknowledges them when it chooses."""

    def __init__(self) -> None:
        self.published: list[str] = []
        self.ack: Callable[[Sequence[str]], None] | None = None

    def on_published(self, handler: Callable[[Sequence[str]], None]) -> None:
        self.ack = handler

    def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool, token: str) -> None:
        self.published.append(token)


def add(db: object, outbox: Outbox, n: int, prefix: str) -> list[str]:
    ids = []
    with db.transaction() as conn:  # type: ignore[attr-defined]
        for i in range(n):
            ids.append(outbox.add(conn, f"t/{prefix}", {"n": i}, message_id=f"{prefix}-{i}"))
    return ids


async def test_acknowledged_messages_are_marked_once_and_never_resent(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    db = open_db(tmp_path / "hub.sqlite3")
    outbox = Outbox(db)
    transport = AckingTransport()
    relay = OutboxRelay(outbox, transport)  # type: ignore[arg-type]
    ids = add(db, outbox, 5, "a")
    outbox.notify()
    await wait_until(lambda: len(transport.published) == 5)
    assert transport.ack is not None
    transport.ack(ids[:3])
    assert outbox.unsent_count() == 5, "recorded a moment later, all together"
    monkeypatch.setattr(relay_module, "SWEEP_S", 0.0)
    relay._next_sweep = 0.0  # the sweep runs on the next pass and must skip the acknowledged
    relay.kick()
    await wait_until(lambda: outbox.unsent_count() == 2, within=10)
    assert sorted(m.id for m in outbox.pending()) == ids[3:]
    transport.ack(ids[3:])
    relay.close()  # what was still gathering is recorded now
    assert outbox.unsent_count() == 0
    assert sorted(transport.published) == sorted(ids), "each message published exactly once"
    db.close()
