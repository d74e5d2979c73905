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
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Broker
from tests.reliability.ops_support import Writer, login, make_household, start_hub_run, wait_until


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
    hub_run = start_hub_run(broker.port, small_disk / "data", tmp_path / "hub.log", client_id=f"row35-{os.getpid()}")
    hub, api, log = hub_run.proc, hub_run.api, hub_run.log
    ballast = small_disk / "ballast"
    try:
        token = login(api, make_household(api, "h-disk", "h-disk-pass-1"), "h-disk-pass-1")
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
        code = hub_run.stop()
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
