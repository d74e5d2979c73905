"""The InfluxDB writer against real servers: Debian's influxd 1.6, and a 2.x when named.

Tests taking ``influx`` run against every target (see ``pytest_generate_tests`` in the
conftest); the others need the local 1.6, which they stop, kill and restart.
"""

from __future__ import annotations

import signal
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from telemetry_servers import HoldingServer, InfluxServer, InfluxTarget, free_port

from hub.clock import iso_utc
from hub.events import Reading
from hub.telemetry import InfluxHistory
from hub.telemetry.senders import SendFailed, V2Sender

T0 = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
NS = 1_000_000_000


def ns(dt: datetime) -> int:
    return int(dt.timestamp()) * NS + dt.microsecond * 1000


def power(value: float, device: str = "meter") -> Reading:
    return Reading(device=device, metric="power", value=value, unit="W")


# -- against every target ---------------------------------------------------------------


def test_readings_arrive_with_their_tags_values_and_times(influx: InfluxTarget, hh: str) -> None:
    writer = influx.writer()
    stamped = T0 + timedelta(seconds=5, microseconds=250)
    writer.write(
        hh,
        [
            Reading(device="plug-1", metric="power", value=12.5, unit="W", ts=iso_utc(stamped)),
            Reading(device="fridge", metric="temperature", value=4, unit="°C", channel="cooler"),
            Reading(device="fridge", metric="temperature", value=-18.5, channel="freezer"),
            Reading(device="door", metric="door_open", value=True),
            Reading(device="pantry", metric="stock", value="lots"),
        ],
        T0.timestamp(),
    )

    assert writer.drain(20)

    assert influx.read("power", hh) == [
        {"time": ns(stamped), "value": 12.5, "device": "plug-1", "household": hh, "channel": None}
    ]
    temperatures = influx.read("temperature", hh)
    assert [(r["channel"], r["value"], r["time"]) for r in temperatures] == [
        ("cooler", 4.0, ns(T0)),
        ("freezer", -18.5, ns(T0)),
    ]
    assert [r["value"] for r in influx.read("door_open", hh)] == [1.0]
    assert influx.read("stock", hh) == []
    stats = writer.stats()
    assert (stats["written"], stats["skipped"], stats["dropped"], stats["buffered"]) == (4, 1, 0, 0)


@pytest.mark.parametrize(
    "device",
    ["Living Room Lamp", "a,b=c d", "Küche ☕ Kühlschrank", "0x00158d0001a2b3c4"],
)
def test_awkward_device_names_round_trip(influx: InfluxTarget, hh: str, device: str) -> None:
    writer = influx.writer()
    writer.write(hh, [power(7.25, device)], T0.timestamp())

    assert writer.drain(20)

    rows = influx.read("power", hh)
    assert [(r["device"], r["value"]) for r in rows] == [(device, 7.25)]


def test_batches_larger_than_batch_size_all_arrive(influx: InfluxTarget, hh: str) -> None:
    writer = influx.writer(batch_size=100)
    for second in range(25):
        writer.write(
            hh, [power(second * 10 + i, f"d{i}") for i in range(10)], T0.timestamp() + second
        )

    assert writer.drain(30)

    rows = influx.read("power", hh)
    assert len(rows) == 250
    assert sorted(r["value"] for r in rows) == [float(v) for v in range(250)]
    assert writer.stats()["written"] == 250


def test_unrepresentable_names_are_skipped_and_counted(influx: InfluxTarget, hh: str) -> None:
    writer = influx.writer()
    writer.write(hh, [power(1, "two\nlines"), power(2, "fine")], T0.timestamp())

    assert writer.drain(20)

    assert [r["device"] for r in influx.read("power", hh)] == ["fine"]
    assert (writer.stats()["written"], writer.stats()["skipped"]) == (1, 1)


# -- InfluxDB 1.6 specifics -----------------------------------------------------------------


def test_a_backslash_in_a_name_is_kept_literally_by_1x(influxd: InfluxServer, hh: str) -> None:
    db = f"t{uuid.uuid4().hex[:10]}"
    influxd.influxql(f'CREATE DATABASE "{db}"')
    writer = InfluxHistory(influxd.url, bucket=db, api="v1")
    try:
        writer.write(hh, [power(3, "C:\\meter")], T0.timestamp())
        assert writer.drain(20)
    finally:
        writer.close()

    answer = influxd.influxql("SHOW TAG VALUES FROM power WITH KEY = device", db=db)
    assert answer["results"][0]["series"][0]["values"] == [["device", "C:\\meter"]]


def test_points_refused_by_the_server_are_counted_not_retried(
    influxd: InfluxServer, hh: str
) -> None:
    db = f"t{uuid.uuid4().hex[:10]}"
    influxd.influxql(f'CREATE DATABASE "{db}"')
    # "power" already holds a string field here: float points for it conflict.
    seeded = httpx.post(
        f"{influxd.url}/write",
        params={"db": db},
        content=f'power,household={hh},device=x value="text" {ns(T0)}',
    )
    assert seeded.status_code == 204
    writer = InfluxHistory(influxd.url, bucket=db, api="v1")
    try:
        writer.write(
            hh,
            [
                power(1),
                power(2, "b"),
                power(3, "c"),
                Reading(device="t", metric="temperature", value=5),
            ],
            T0.timestamp() + 1,
        )
        assert writer.drain(20)
        stats = writer.stats()
    finally:
        writer.close()

    assert (stats["rejected"], stats["written"], stats["retries"]) == (3, 1, 0)
    assert "field type conflict" in stats["last_error"]
    answer = influxd.influxql("SELECT value FROM temperature", db=db)
    assert answer["results"][0]["series"][0]["values"] == [[ns(T0) + NS, 5.0]]


def test_1_6_serves_no_v2_write_endpoint(influxd: InfluxServer) -> None:
    sender = V2Sender(influxd.url, "user:pass", "org", "hub/autogen")
    try:
        with pytest.raises(SendFailed, match="404"):
            sender.send("power,device=d,household=h value=1.0 1", 1)
    finally:
        sender.close()


# -- InfluxDB away ----------------------------------------------------------------------------


def test_nothing_listening_fills_the_buffer_then_counts_every_drop(
    hh: str, wait_until: Callable[..., None]
) -> None:
    writer = InfluxHistory(
        f"http://127.0.0.1:{free_port()}",
        bucket="hub",
        api="v1",
        batch_size=10,
        max_buffer=100,
        backoff_initial_s=0.05,
        backoff_max_s=0.1,
    )
    try:
        writer.write(hh, [power(i) for i in range(1000)], T0.timestamp())
        stats = writer.stats()
        assert (stats["buffered"], stats["dropped"], stats["written"]) == (100, 900, 0)

        wait_until(lambda: writer.stats()["retries"] >= 2, what="retries")
        assert "unreachable" in writer.stats()["last_error"]
        writer.write(hh, [power(1), power(2)], T0.timestamp() + 1)
        assert writer.stats()["dropped"] == 902
        assert writer.drain(0.5) is False
    finally:
        writer.close()

    stats = writer.stats()
    assert (stats["buffered"], stats["dropped"], stats["written"]) == (0, 1002, 0)
    writer.write(hh, [power(3)], T0.timestamp() + 2)
    assert writer.stats()["dropped"] == 1003


def test_a_server_that_does_not_answer_never_holds_up_writes(
    holding_server: HoldingServer, hh: str
) -> None:
    writer = InfluxHistory(holding_server.url, bucket="hub", api="v1", batch_size=100, timeout_s=30)
    try:
        writer.write(hh, [power(i) for i in range(100)], T0.timestamp())
        assert holding_server.got_request.wait(10)

        # The sender is now inside a request the server holds; the pipeline goes on.
        for batch in range(1, 6):
            writer.write(hh, [power(batch * 100 + i) for i in range(100)], T0.timestamp() + batch)
        assert holding_server.requests == 1
        stats = writer.stats()
        assert (stats["buffered"], stats["written"], stats["dropped"]) == (600, 0, 0)

        holding_server.release.set()
        assert writer.drain(20)
        assert writer.stats()["written"] == 600
    finally:
        holding_server.release.set()
        writer.close()
    assert holding_server.requests == 6


def test_a_killed_server_loses_only_what_overflowed_and_gets_the_rest_on_return(
    own_influxd: InfluxServer, hh: str, wait_until: Callable[..., None]
) -> None:
    own_influxd.influxql('CREATE DATABASE "hub"')
    writer = InfluxHistory(
        own_influxd.url,
        bucket="hub",
        api="v1",
        batch_size=40,
        max_buffer=100,
        flush_interval_s=0.05,
        backoff_initial_s=0.05,
        backoff_max_s=0.2,
    )
    try:
        for i in range(50):
            writer.write(hh, [power(i)], T0.timestamp() + i)
        assert writer.drain(20)
        assert writer.stats()["written"] == 50

        own_influxd.stop(signal.SIGKILL)
        for i in range(50, 350):
            writer.write(hh, [power(i)], T0.timestamp() + i)
        assert (writer.stats()["dropped"], writer.stats()["buffered"]) == (200, 100)
        wait_until(lambda: writer.stats()["retries"] >= 1, what="a failed send")

        own_influxd.start()
        assert writer.drain(30)
        stats = writer.stats()
    finally:
        writer.close()

    assert (stats["written"], stats["dropped"], stats["buffered"]) == (150, 200, 0)
    answer = own_influxd.influxql(f"SELECT value FROM power WHERE household = '{hh}'", db="hub")
    values = [v for _, v in answer["results"][0]["series"][0]["values"]]
    assert values == [float(i) for i in range(150)]


def test_writer_threads_stop_on_close(influxd: InfluxServer, hh: str) -> None:
    db = f"t{uuid.uuid4().hex[:10]}"
    influxd.influxql(f'CREATE DATABASE "{db}"')
    writer = InfluxHistory(influxd.url, bucket=db, api="v1", flush_interval_s=60)
    writer.write(hh, [power(1)], T0.timestamp())
    assert "telemetry-influx-send" in [t.name for t in threading.enumerate()]

    writer.close()

    assert "telemetry-influx-send" not in [t.name for t in threading.enumerate()]
    # close() sent what was waiting, without waiting for the flush interval.
    answer = influxd.influxql("SELECT value FROM power", db=db)
    assert answer["results"][0]["series"][0]["values"] == [[ns(T0), 1.0]]


class Exploding:
    """A sender with a bug: it raises what no sender may raise."""

    def __init__(self) -> None:
        self.calls = 0

    def send(self, body: str, points: int) -> None:
        self.calls += 1
        if self.calls == 1:
            raise ZeroDivisionError("bug")

    def close(self) -> None:
        return


def test_a_crashed_sender_is_counted_and_replaced(hh: str, wait_until: Callable[..., None]) -> None:
    sender = Exploding()
    writer = InfluxHistory("http://unused", api="v1", sender=sender, batch_size=3)
    try:
        writer.write(hh, [power(1), power(2), power(3)], T0.timestamp())
        wait_until(lambda: writer.stats()["dropped"] == 3, what="the crash to be counted")
        assert "ZeroDivisionError" in writer.stats()["last_error"]

        writer.write(hh, [power(4)], T0.timestamp() + 1)
        assert writer.drain(10)
    finally:
        writer.close()
    assert (writer.stats()["written"], writer.stats()["dropped"], sender.calls) == (1, 3, 2)
