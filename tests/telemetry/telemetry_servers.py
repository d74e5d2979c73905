"""Real servers for the telemetry tests: influxd 1.6 and an HTTP server that holds requests."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.telemetry import InfluxHistory


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
