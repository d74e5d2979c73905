"""RELIABILITY row 33: ``hub backup`` while the API takes ~100 writes/s; ``hub restore``.

The running demo plays its story (Ana's rating included, so the rating hash chain has
links) while the test creates gatherings through the API at about 100 a second. ``hub
backup`` runs in the middle of it. Restored into an empty data directory, the snapshot
holds every write acknowledged before the backup started, passes SQLite's integrity check
and ``hub ledger verify`` (time-bank ledger and rating chain); a restore over the live store is refused (exit 1,
with the reason) unless ``--force``.
"""

from __future__ import annotations

import time
from pathlib import Path

from hub.storage import Database
from tests.reliability.ops_support import Writer, login, run_cli, start_demo, wait_until


def story_rated(log: Path) -> bool:
    text = log.read_text(errors="replace")
    assert "the story stopped" not in text, text[-3000:]
    return "ana-rates" in text


def test_row33_backup_under_100_writes_per_second_restores_every_acknowledged_write(tmp_path: Path) -> None:
    demo = start_demo(tmp_path, speed=900)  # fast, yet slow enough for the story's own waits
    snapshot = tmp_path / "snapshot.sqlite3"
    try:
        wait_until(lambda: story_rated(demo.log), 400, "the story's rating", demo.proc, demo.log)
        ben = demo.credentials()["households"]["h-ben"]
        writer = Writer(demo.api, login(demo.api, ben["username"], ben["password"]), rate=100).start()
        try:
            wait_until(lambda: writer.count() >= 200 or bool(writer.refused), 120, "200 writes", demo.proc)
            before_backup = time.monotonic()
            done = run_cli("backup", str(snapshot), data_dir=demo.data_dir)
            after_backup = time.monotonic()
            during = writer.count()
            wait_until(lambda: writer.count() >= during + 50, 120, "writes after the backup", demo.proc)
        finally:
            writer.stop()
        assert writer.refused == {}, writer.bodies
        assert done.returncode == 0, done.stderr
        assert "schema 00" in done.stdout

        # Over the live store: refused, with the reason, and nothing changed.
        live = run_cli("restore", str(snapshot), data_dir=demo.data_dir)
        assert live.returncode == 1
        assert "holds data" in live.stderr
        assert "--force" in live.stderr
        ben_token = login(demo.api, ben["username"], ben["password"])
        assert ben_token
    finally:
        assert demo.stop() == 0

    restored_dir = tmp_path / "restored"
    restored = run_cli("restore", str(snapshot), data_dir=restored_dir)
    assert restored.returncode == 0, restored.stderr
    db = Database(restored_dir / "hub.sqlite3")
    try:
        assert db.integrity_check() == "ok"
        ratings = db.query_one("SELECT count(*) FROM offer_ratings")[0]
        ids = {r["id"] for r in db.query("SELECT id FROM gatherings WHERE host = 'h-ben'")}
    finally:
        db.close()
    verified = run_cli("ledger", "verify", data_dir=restored_dir)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "ok: every transfer balanced, every hash link intact" in verified.stdout
    assert f"ratings: {ratings} entries checked" in verified.stdout
    assert ratings >= 1
    must_hold = writer.acked_before(before_backup)
    lost = must_hold - ids
    maybe = {gid for gid, at in writer.acked.items() if before_backup <= at < after_backup}
    rate = len(writer.acked) / (writer.stopped - writer.started)
    print(f"RELIABILITY row 33: {len(writer.acked)} writes at {rate:.0f}/s, backup took "
          f"{after_backup - before_backup:.2f} s with {len(maybe)} writes acknowledged meanwhile; "
          f"{len(must_hold)} acknowledged before it, {len(lost)} lost; restore over the live store refused")
    assert len(must_hold) >= 200
    assert lost == set()

    # The restored store has data now: a second restore needs --force, which then works.
    again = run_cli("restore", str(snapshot), data_dir=restored_dir)
    assert again.returncode == 1
    assert "holds data" in again.stderr
    forced = run_cli("restore", str(snapshot), "--force", data_dir=restored_dir)
    assert forced.returncode == 0, forced.stderr
