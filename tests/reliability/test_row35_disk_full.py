"""RELIABILITY row 35: the disk under the store fills up while the API takes writes.

``hub run`` keeps its data directory on a small tmpfs (24 MB, mounted by the test);
the test creates gatherings through the API at ~50 a second, then fills the tmpfs with a
ballast file until the kernel says ENOSPC. Writes must then answer 503
``application/problem+json`` with a reason and ``Retry-After`` (never 500), reads keep
working, the process stays up; once the ballast is removed, writes succeed again without a
restart, and every write that was acknowledged is in the store.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Broker
from tests.reliability.ops_support import full_disk_round


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


def test_row35_full_disk_gives_503_loses_nothing_and_recovers_by_itself(
        broker: Broker, small_disk: Path, tmp_path: Path) -> None:
    with full_disk_round(broker.port, small_disk / "data", tmp_path / "hub.log", small_disk / "ballast",
                         "h-disk", "h-disk-pass-1", client_id=f"row35-{os.getpid()}") as run:
        assert httpx.get(f"{run.api}/healthz", timeout=30).status_code == 200  # the process is up
    writer, log = run.writer, tmp_path / "hub.log"
    statuses = set(writer.refused)
    with sqlite3.connect(small_disk / "data" / "hub.sqlite3") as db:
        ids = {r[0] for r in db.execute("SELECT id FROM gatherings WHERE host = 'h-disk'")}
        verdict = db.execute("PRAGMA integrity_check").fetchone()[0]
    lost = set(writer.acked) - ids
    print(f"RELIABILITY row 35: ballast {run.ballast_bytes // 1024} KB; {len(writer.acked)} writes acknowledged, "
          f"{writer.refused.get(503, 0)} answered 503 while full, {len(lost)} lost, recovered without restart")
    assert statuses == {503}, writer.bodies
    assert writer.errors == []
    assert lost == set()
    assert verdict == "ok"
    assert run.code == 0, log.read_text(errors="replace")[-3000:]
