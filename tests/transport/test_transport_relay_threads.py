"""The outbox relay woken from other threads (HTTP handlers commit off the event loop)
publishes every message exactly once, always from the loop's thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from hub.storage.outbox import Outbox
from hub.transport.relay import OutboxRelay
from tests.mqtt_helpers import wait_until
from tests.stores import open_db


class RecordingTransport:
    """Records publishes and the thread each came from; acknowledges on the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.published: list[str] = []
        self.threads: set[int] = set()
        self._ack: Callable[[Sequence[str]], None] | None = None

    def on_published(self, handler: Callable[[Sequence[str]], None]) -> None:
        self._ack = handler

    def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool, token: str) -> None:
        self.published.append(token)
        self.threads.add(threading.get_ident())
        assert self._ack is not None
        self.loop.call_soon_threadsafe(self._ack, [token])


async def test_kicks_from_many_threads_publish_each_message_once_on_the_loop(tmp_path: Path) -> None:
    db = open_db(tmp_path / "hub.sqlite3")
    outbox = Outbox(db)
    transport = RecordingTransport(asyncio.get_running_loop())
    relay = OutboxRelay(outbox, transport, batch=7)  # type: ignore[arg-type]
    start = threading.Barrier(8)

    def writer(n: int) -> None:
        start.wait()
        for i in range(25):
            with db.transaction() as conn:
                outbox.add(conn, f"t/{n}", {"n": n, "i": i})
            outbox.notify()  # as an HTTP handler's after-commit hook does

    try:
        threads = [threading.Thread(target=writer, args=(n,), name=f"writer-{n}") for n in range(8)]
        for t in threads:
            t.start()
        await wait_until(lambda: not any(t.is_alive() for t in threads), within=20)
        await wait_until(lambda: outbox.unsent_count() == 0 and relay.in_flight == 0, within=20)
        assert len(transport.published) == 200
        assert len(set(transport.published)) == 200  # none twice
        assert transport.threads == {threading.get_ident()}  # only from the loop
        assert relay.sent == 200
    finally:
        db.close()


def test_without_a_loop_kick_dispatches_at_once(tmp_path: Path) -> None:
    db = open_db(tmp_path / "hub.sqlite3")
    outbox = Outbox(db)
    sent: list[str] = []

    class Sync:
        def on_published(self, handler: Callable[[Sequence[str]], None]) -> None:
            self.ack = handler

        def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool, token: str) -> None:
            sent.append(token)

    relay = OutboxRelay(outbox, Sync(), batch=3)  # type: ignore[arg-type]
    with db.transaction() as conn:
        ids = [outbox.add(conn, "t", {"i": i}) for i in range(10)]
    outbox.notify()
    assert sent == ids  # every batch, in commit order
    assert relay.in_flight == 10
    db.close()
