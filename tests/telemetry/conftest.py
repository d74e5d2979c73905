"""Fixtures for the telemetry tests: history stores and real InfluxDB servers.

The local InfluxDB is Debian's ``influxd`` 1.6, started per session (and per test where a
test kills it) on a free loopback port with a generated config and a temp data dir, and
stopped by its pid. When ``HUB_TEST_INFLUX_URL`` names an InfluxDB 2.x server (with
``HUB_TEST_INFLUX_TOKEN``, ``HUB_TEST_INFLUX_ORG`` and ``HUB_TEST_INFLUX_BUCKET``), the
Influx contract tests also run against it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.clock import FakeClock
from hub.storage.database import Database
from hub.telemetry import HistoryStore, InfluxHistory, MemoryHistory, SQLiteHistory


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Wait for a condition another thread or process brings about; fail after timeout."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or predicate}")
        time.sleep(0.01)


# -- stores ----------------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def hh() -> str:
    """A household id no other test uses."""
    return f"h{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[HistoryStore]:
    """Each queryable history store, flushed by the test itself."""
    made: HistoryStore
    db: Database | None = None
    if request.param == "memory":
        made = MemoryHistory(clock=clock, max_buffer=1000)
    else:
        db = Database(tmp_path / "hub.sqlite3")
        made = SQLiteHistory(db, clock=clock, flush_interval_s=None, max_buffer=1000)
    try:
        yield made
    finally:
        made.close()
        if db is not None:
            db.close()


# -- InfluxDB 1.6 ------------------------------------------------------------------------

INFLUX_CONF = """\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{root}/meta"

[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  query-log-enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[continuous_queries]
  enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{http_port}"
  auth-enabled = false
  log-enabled = false
"""


@dataclass
class InfluxServer:
    """A real influxd 1.6 process under a temp dir."""

    root: Path
    http_port: int = field(default_factory=free_port)
    rpc_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> None:
        exe = shutil.which("influxd") or shutil.which("/usr/bin/influxd")
        if exe is None:
            pytest.fail("influxd is not installed (apt package influxdb)")
        conf = self.root / "influxdb.conf"
        conf.write_text(
            INFLUX_CONF.format(root=self.root, rpc_port=self.rpc_port, http_port=self.http_port)
        )
        log = (self.root / "influxd.log").open("ab")
        self.proc = subprocess.Popen(
            [exe, "-config", str(conf)], stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
        log.close()
        deadline = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"influxd exited: {(self.root / 'influxd.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/ping", timeout=1).status_code == 204:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("influxd did not answer /ping within 20 s")
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        os.kill(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        self.proc = None

    def influxql(self, q: str, db: str | None = None) -> Any:
        params = {"q": q, "epoch": "ns"}
        if db:
            params["db"] = db
        response = httpx.post(f"{self.url}/query", params=params, timeout=10)
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="session")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    server = InfluxServer(tmp_path_factory.mktemp("influxd"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_influxd(tmp_path: Path) -> Iterator[InfluxServer]:
    """An influxd of this test alone, which the test may kill and restart."""
    server = InfluxServer(tmp_path / "influxd")
    server.root.mkdir()
    server.start()
    try:
        yield server
    finally:
        server.stop()


# -- Influx targets: 1.6 here, 2.x when named -----------------------------------------------


@dataclass
class InfluxTarget:
    """A server the Influx contract tests write to and read back from."""

    kind: str
    make: Callable[..., InfluxHistory]
    read: Callable[[str, str], list[dict[str, Any]]]
    """read(measurement, household) -> rows {"time": ns, "value", "device", "channel"}."""
    writers: list[InfluxHistory] = field(default_factory=list)

    def writer(self, **kwargs: Any) -> InfluxHistory:
        made = self.make(**kwargs)
        self.writers.append(made)
        return made


def _v1_target(server: InfluxServer) -> InfluxTarget:
    db = f"t{uuid.uuid4().hex[:10]}"
    server.influxql(f'CREATE DATABASE "{db}"')

    def make(**kwargs: Any) -> InfluxHistory:
        kwargs.setdefault("backoff_initial_s", 0.05)
        kwargs.setdefault("backoff_max_s", 0.2)
        return InfluxHistory(server.url, bucket=db, api="v1", **kwargs)

    def read(measurement: str, household: str) -> list[dict[str, Any]]:
        escaped = measurement.replace("\\", "\\\\").replace('"', '\\"')
        answer = server.influxql(
            f"SELECT * FROM \"{escaped}\" WHERE household = '{household}'", db=db
        )
        rows = []
        for result in answer["results"]:
            for serie in result.get("series", []):
                columns = serie["columns"]
                for values in serie["values"]:
                    row = dict(zip(columns, values, strict=True))
                    row["channel"] = row.get("channel")
                    rows.append(row)
        return sorted(rows, key=lambda r: (r["time"], r["device"], r["channel"] or ""))

    return InfluxTarget("v1", make, read)


def _v2_target() -> InfluxTarget:
    from influxdb_client.client.influxdb_client import InfluxDBClient

    url = os.environ["HUB_TEST_INFLUX_URL"]
    token = os.environ.get("HUB_TEST_INFLUX_TOKEN", "")
    org = os.environ.get("HUB_TEST_INFLUX_ORG", "")
    bucket = os.environ.get("HUB_TEST_INFLUX_BUCKET", "hub")

    def make(**kwargs: Any) -> InfluxHistory:
        kwargs.setdefault("backoff_initial_s", 0.05)
        kwargs.setdefault("backoff_max_s", 0.2)
        return InfluxHistory(url, token=token, org=org, bucket=bucket, api="v2", **kwargs)

    def read(measurement: str, household: str) -> list[dict[str, Any]]:
        flux = (
            f'from(bucket: "{bucket}") |> range(start: 0)'
            f' |> filter(fn: (r) => r._measurement == "{measurement}"'
            f' and r.household == "{household}")'
        )
        with InfluxDBClient(url=url, token=token, org=org) as client:
            tables = client.query_api().query(flux, org=org)
        rows = []
        for table in tables:
            for record in table.records:
                values = record.values
                stamp = record.get_time()
                rows.append(
                    {
                        "time": int(stamp.timestamp() * 1_000_000) * 1000,
                        "value": record.get_value(),
                        "device": values.get("device"),
                        "household": values.get("household"),
                        "channel": values.get("channel"),
                    }
                )
        return sorted(rows, key=lambda r: (r["time"], r["device"], r["channel"] or ""))

    return InfluxTarget("v2", make, read)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``influx_kind`` is "v1" (the local 1.6), plus "v2" when HUB_TEST_INFLUX_URL is set."""
    if "influx_kind" in metafunc.fixturenames:
        kinds = ["v1"] + (["v2"] if os.environ.get("HUB_TEST_INFLUX_URL") else [])
        metafunc.parametrize("influx_kind", kinds)


@pytest.fixture
def influx(influx_kind: str, request: pytest.FixtureRequest) -> Iterator[InfluxTarget]:
    """A target of the Influx contract tests; every writer it made is closed afterwards."""
    if influx_kind == "v1":
        target = _v1_target(request.getfixturevalue("influxd"))
    else:
        target = _v2_target()
    try:
        yield target
    finally:
        for writer in target.writers:
            writer.close()


# -- a server that holds requests ------------------------------------------------------------


class HoldingServer:
    """An HTTP server on loopback that holds each request until released, then answers 204.

    Stands in for an InfluxDB that accepts connections but does not answer (overloaded,
    half-dead), to show the pipeline never waits for the sender.
    """

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port: int = self.sock.getsockname()[1]
        self.got_request = threading.Event()
        self.release = threading.Event()
        self.requests = 0
        self._thread = threading.Thread(target=self._serve, name="holding-server", daemon=True)
        self._stop = False
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                while len(body) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    body += chunk
                self.requests += 1
                self.got_request.set()
                self.release.wait(30)
                conn.sendall(
                    b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )

    def close(self) -> None:
        self._stop = True
        self.release.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._thread.join(5)


@pytest.fixture
def holding_server() -> Iterator[HoldingServer]:
    server = HoldingServer()
    try:
        yield server
    finally:
        server.close()
