"""RELIABILITY row 35: the disk under the store fills up while the API takes writes.

``hub run`` keeps its data directory on a small tmpfs (24 MB, mounted by the test);
the test creates gatherings through the API at ~50 a second, then fills the tmpfs with a
ballast file until the kernel says ENOSPC. Writes must then answer 503
``application/problem+json`` with a reason and ``Retry-After`` (never 500), reads keep
working, the process stays up; once the ballast is removed, writes succeed again without a
restart, and every write that was acknowledged is in the store.
"""

from __future__ import annotations

import errno
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hub.broker.supervisor import free_port, wait_for_port
from tests.conftest import Broker
from tests.reliability.ops_support import Writer, login, wait_until

SECRET = "row-35-secret-key-0123456789"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MB tmpfs, mounted for this test (the suite runs as root, like CI)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"row 35 mounts a tmpfs and needs root: {done.stderr.strip()}"
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


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


def test_row35_full_disk_gives_503_loses_nothing_and_recovers_by_itself(
        broker: Broker, small_disk: Path, tmp_path: Path) -> None:
    port = free_port()
    env = dict(os.environ, HUB_MQTT_URL=f"mqtt://127.0.0.1:{broker.port}", HUB_DATA_DIR=str(small_disk / "data"),
               HUB_API_PORT=str(port), HUB_MQTT_CLIENT_ID=f"row35-{os.getpid()}", HUB_SECRET_KEY=SECRET,
               HUB_ADMIN_USERNAME="row35-admin", HUB_ADMIN_PASSWORD="row35-admin-password")
    log = tmp_path / "hub.log"
    with open(log, "wb") as out:
        hub = subprocess.Popen([sys.executable, "-m", "hub.cli", "--log-level", "WARNING", "run"], env=env,
                               stdout=out, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}"
    ballast = small_disk / "ballast"
    try:
        wait_for_port(port, hub, timeout=60, log_path=log)
        admin = login(api, "row35-admin", "row35-admin-password")
        made = httpx.post(f"{api}/admin/households", headers={"Authorization": f"Bearer {admin}"}, timeout=30,
                          json={"id": "h-disk", "community": "riverside", "name": "Disk", "password": "h-disk-pass-1"})
        assert made.status_code == 201, made.text
        token = login(api, made.json()["username"], "h-disk-pass-1")
        writer = Writer(api, token, rate=50, threads=2).start()
        try:
            wait_until(lambda: writer.count() >= 50, 120, "writes before the disk fills", hub, log)
            ballast_bytes = fill(ballast)
            wait_until(lambda: writer.refused.get(503, 0) >= 20, 120, "503 answers on the full disk", hub, log)
            with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
                answer = http.post("/gatherings", json={
                    "title": "on a full disk", "starts_at": "2031-01-01T10:00:00Z", "capacity": 2,
                    "place": {"label": "Pier", "lat": 52.1, "lon": 5.0}})
                assert answer.status_code == 503, answer.text
                assert answer.headers["content-type"].startswith("application/problem+json")
                assert "disk is full" in answer.json()["detail"]
                assert int(answer.headers["Retry-After"]) > 0
                # Reads keep working, and the process is up.
                assert http.get("/gatherings").status_code == 200
                assert httpx.get(f"{api}/healthz", timeout=30).status_code == 200
            acked_while_full = writer.count()
            ballast.unlink()  # space returns; nobody restarts anything
            wait_until(lambda: writer.count() >= acked_while_full + 50, 120, "writes after space returned",
                       hub, log)
            assert hub.poll() is None
        finally:
            writer.stop()
    finally:
        hub.send_signal(signal.SIGTERM)
        code = hub.wait(30)
    statuses = set(writer.refused)
    with sqlite3.connect(small_disk / "data" / "hub.sqlite3") as db:
        ids = {r[0] for r in db.execute("SELECT id FROM gatherings WHERE host = 'h-disk'")}
        verdict = db.execute("PRAGMA integrity_check").fetchone()[0]
    lost = set(writer.acked) - ids
    print(f"RELIABILITY row 35: ballast {ballast_bytes // 1024} KB; {len(writer.acked)} writes acknowledged, "
          f"{writer.refused.get(503, 0)} answered 503 while full, {len(lost)} lost, recovered without restart")
    assert statuses == {503}, writer.bodies
    assert writer.errors == []
    assert lost == set()
    assert verdict == "ok"
    assert code == 0, log.read_text(errors="replace")[-3000:]
