"""The MQTT connection's write paths: packets gathered in one loop pass keep their order,
and a lingering batch holds reading without undoing backpressure (fast unit tests with a
recording transport; the broker tests beside them cover the real socket)."""

from __future__ import annotations

import asyncio
from typing import Any

from hub.transport.mqtt_wire import Connection


class Recording(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.reading = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True


def connected() -> tuple[Connection, Recording]:
    conn = Connection(owner=None, name="out")  # type: ignore[arg-type]
    transport = Recording()
    conn.connection_made(transport)
    return conn, transport


async def test_packets_of_one_pass_leave_in_one_write_and_in_order() -> None:
    conn, transport = connected()
    assert conn.write_soon(b"a")
    assert conn.write_soon(b"b")
    assert transport.writes == []  # not yet: the end of the loop pass sends them
    await asyncio.sleep(0)
    assert transport.writes == [b"ab"]
    conn.write_soon(b"c")
    conn.write(b"d")  # an immediate write goes after what was gathered before it
    assert transport.writes == [b"ab", b"c", b"d"]
    await asyncio.sleep(0)
    assert transport.writes == [b"ab", b"c", b"d"], "nothing is sent twice"


async def test_hold_pauses_reading_until_release_but_not_past_backpressure() -> None:
    conn, transport = connected()
    conn.hold()
    assert conn.held
    assert not transport.reading
    conn.release()
    assert not conn.held
    assert transport.reading
    conn.paused = True  # the owner's queue is full
    transport.reading = False
    conn.hold()
    assert not conn.held, "backpressure already stopped reading"
    conn.held = True
    conn.release()
    assert not transport.reading, "a released hold must not resume a full queue"
