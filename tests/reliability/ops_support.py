"""Real processes for the operations rows (32-35): the demo, `hub run`, writers, the CLI,
and the full-disk round both stores' row 35 share."""

from __future__ import annotations

import errno
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from hub.broker.supervisor import free_port, wait_for_port

# One numbering for every writer of a test run: titles and time slots never repeat.
_WRITE_NUMBERS = itertools.count(1)


def wait_until(check: Any, timeout: float, what: str, proc: subprocess.Popen[bytes] | None = None,
               log: Path | None = None) -> None:
    """Poll ``check()`` until true; fail with ``what`` (and the log's tail) otherwise."""
    deadline = time.monotonic() + timeout
    while not check():
        tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
        assert proc is None or proc.poll() is None, f"process exited ({proc.returncode}) waiting for {what}\n{tail}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{tail}"
        time.sleep(0.1)


@dataclass
class Demo:
    """A ``hub demo`` process in its own working directory."""

    cwd: Path
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def data_dir(self) -> Path:
        return self.cwd / "var" / "demo"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def credentials(self) -> dict[str, Any]:
        return dict(json.loads((self.data_dir / "credentials.json").read_text()))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(30)
        return int(self.proc.returncode)

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)


def start_demo(cwd: Path, *, fresh: bool = True, speed: float = 1200, households: int = 5,
               port: int | None = None) -> Demo:
    """Start ``hub demo`` in ``cwd``; return once its API answers and its logins are written."""
    port = port or free_port()
    log = cwd / "demo.log"
    creds = cwd / "var" / "demo" / "credentials.json"
    if fresh:
        creds.unlink(missing_ok=True)
    started_at = time.time()
    args = [sys.executable, "-m", "hub.cli", "demo", "--port", str(port), "--speed", str(speed),
            "--households", str(households), "--fresh" if fresh else "--no-fresh"]
    with open(log, "ab") as out:
        proc = subprocess.Popen(args, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    demo = Demo(cwd, port, proc, log)
    wait_for_port(port, proc, timeout=90, log_path=log)
    wait_until(lambda: creds.exists() and creds.stat().st_mtime >= started_at - 1, 90, "credentials.json", proc, log)
    return demo


def login(api: str, username: str, password: str) -> str:
    answer = httpx.post(f"{api}/auth/login", json={"username": username, "password": password}, timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def run_cli(*args: str, data_dir: Path, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``hub ARGS`` against ``data_dir`` and return the finished process."""
    env = dict(os.environ, HUB_DATA_DIR=str(data_dir), **(extra_env or {}))
    return subprocess.run([sys.executable, "-m", "hub.cli", "--log-level", "WARNING", *args],
                          env=env, capture_output=True, text=True, timeout=300, check=False)


@dataclass
class Writer:
    """Threads creating gatherings through the API at a target rate, recording each answer.

    ``acked`` maps a gathering id to the monotonic time its 200 arrived; ``refused`` counts
    answers by status (with one body each, to show the reason).
    """

    api: str
    token: str
    rate: float = 100.0
    threads: int = 4
    acked: dict[str, float] = field(default_factory=dict)
    refused: dict[int, int] = field(default_factory=dict)
    bodies: dict[int, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    started: float = 0.0
    stopped: float = 0.0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers = [threading.Thread(target=self._run, name=f"ops-writer-{i}") for i in range(self.threads)]
        self._tag = uuid.uuid4().hex[:8]
        self._base = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)

    def start(self) -> Writer:
        self.started = time.monotonic()
        for w in self._workers:
            w.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for w in self._workers:
            w.join(60)
        self.stopped = time.monotonic()

    def count(self) -> int:
        with self._lock:
            return len(self.acked)

    def acked_before(self, moment: float) -> set[str]:
        with self._lock:
            return {gid for gid, at in self.acked.items() if at < moment}

    def _next(self) -> int:
        with self._lock:
            return next(_WRITE_NUMBERS)

    def _run(self) -> None:
        period = self.threads / self.rate
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.api, headers=headers, timeout=30) as http:
            next_at = time.monotonic()
            while not self._stop.is_set():
                n = self._next()
                start = self._base + timedelta(hours=2 * n)
                body = {"title": f"write {self._tag}-{n}", "starts_at": start.isoformat().replace("+00:00", "Z"),
                        "ends_at": (start + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
                        "capacity": 4, "place": {"label": "Lake Pier", "lat": 52.13, "lon": 5.0}}
                try:
                    answer = http.post("/gatherings", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
                except httpx.HTTPError as exc:
                    with self._lock:
                        self.errors.append(repr(exc))
                    continue
                with self._lock:
                    if answer.status_code in (200, 201):
                        self.acked[answer.json()["id"]] = time.monotonic()
                    else:
                        self.refused[answer.status_code] = self.refused.get(answer.status_code, 0) + 1
                        self.bodies.setdefault(answer.status_code, (answer.headers.get("content-type"),
                                                                    answer.text[:500]))
                next_at += period
                self._stop.wait(max(0.0, next_at - time.monotonic()))


@dataclass
class HubRun:
    """A ``hub run`` process on an external broker, with a community admin."""

    proc: subprocess.Popen[bytes]
    api: str
    log: Path

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        return int(self.proc.returncode)


ADMIN = ("ops-admin", "ops-admin-password")


def start_hub_run(broker_port: int, data_dir: Path, log: Path, *, port: int | None = None,
                  client_id: str = "ops-hub") -> HubRun:
    """Start ``hub run`` (HUB_ADMIN_* create the admin on the first start); return once the API answers."""
    port = port or free_port()
    env = dict(os.environ, HUB_MQTT_URL=f"mqtt://127.0.0.1:{broker_port}", HUB_DATA_DIR=str(data_dir),
               HUB_API_PORT=str(port), HUB_MQTT_CLIENT_ID=client_id, HUB_SECRET_KEY="ops-secret-key-0123456789",
               HUB_ADMIN_USERNAME=ADMIN[0], HUB_ADMIN_PASSWORD=ADMIN[1])
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "hub.cli", "--log-level", "WARNING", "run"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    wait_for_port(port, proc, timeout=60, log_path=log)
    return HubRun(proc, f"http://127.0.0.1:{port}", log)


def make_household(api: str, household: str, password: str) -> str:
    """Provision ``household`` through the admin API; return its login name."""
    admin = login(api, *ADMIN)
    made = httpx.post(f"{api}/admin/households", headers={"Authorization": f"Bearer {admin}"}, timeout=30,
                      json={"id": household, "community": "riverside", "name": household, "password": password})
    assert made.status_code == 201, made.text
    return str(made.json()["username"])


def fill(path: Path) -> int:
    """Write ``path`` until the file system is full; return the bytes written."""
    written = 0
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as out:
        while True:
            try:
                written += out.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
        for size in (4096, 512, 1):  # the last pages too
            while True:
                try:
                    written += out.write(b"\0" * size)
                except OSError:
                    break
    return written


@dataclass
class FullDisk:
    """One row-35 round: the API, the writer, the ballast's size and, once over, how ``hub run`` ended."""

    api: str
    writer: Writer
    http: httpx.Client
    ballast_bytes: int
    answer: httpx.Response
    code: int | None = None


@contextmanager
def full_disk_round(broker_port: int, data_dir: Path, log: Path, ballast: Path, household: str,
                    password: str, *, client_id: str) -> Iterator[FullDisk]:
    """``hub run`` taking writes (50 a second) while ``ballast`` fills its disk (RELIABILITY row 35).

    Once 20 writes answered 503, one more write must answer 503 problem+json saying the disk
    is full, with ``Retry-After``, and reads keep working; then the body of the ``with`` runs
    (the store's own checks: ``FullDisk.answer`` is that 503, ``FullDisk.http`` a client
    logged in as ``household``). Leaving it removes the ballast and waits for 50 more
    acknowledged writes, without a restart, then stops the writer and ``hub run`` (its exit
    code in ``FullDisk.code``).
    """
    hub_run = start_hub_run(broker_port, data_dir, log, client_id=client_id)
    hub, api = hub_run.proc, hub_run.api
    try:
        token = login(api, make_household(api, household, password), password)
        writer = Writer(api, token, rate=50, threads=2).start()
        try:
            wait_until(lambda: writer.count() >= 50, 120, "writes before the disk fills", hub, log)
            with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
                ballast_bytes = fill(ballast)
                wait_until(lambda: writer.refused.get(503, 0) >= 20, 120, "503 answers on the full disk", hub, log)
                answer = http.post("/gatherings", json={
                    "title": "on a full disk", "starts_at": "2031-01-01T10:00:00Z", "capacity": 2,
                    "place": {"label": "Pier", "lat": 52.1, "lon": 5.0}})
                assert answer.status_code == 503, answer.text
                assert answer.headers["content-type"].startswith("application/problem+json")
                assert "disk is full" in answer.json()["detail"]
                assert int(answer.headers["Retry-After"]) > 0
                assert http.get("/gatherings").status_code == 200  # reads keep working
                run = FullDisk(api, writer, http, ballast_bytes, answer)
                yield run
            acked_while_full = writer.count()
            ballast.unlink()  # space returns; nobody restarts anything
            wait_until(lambda: writer.count() >= acked_while_full + 50, 120, "writes after space returned",
                       hub, log)
            assert hub.poll() is None
        finally:
            writer.stop()
    finally:
        run_code = hub_run.stop()
    run.code = run_code
