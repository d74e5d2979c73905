"""``hub backup`` / ``hub restore`` on SQLite: schema versions, refusals, the files beside the store."""

from __future__ import annotations

import json
import sqlite3
from importlib import resources
from pathlib import Path

from hub.storage import Database
from hub.storage.backup import known_migrations
from hub.storage.database import _split_sql
from tests.reliability.ops_support import run_cli


def old_store(path: Path, upto: str) -> None:
    """A store as a release whose last migration is ``upto`` left it, with one household."""
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = resources.files("hub.storage") / "migrations"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY,"
                   " applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)")
        for name in known_migrations():
            if name > upto:
                break
            for statement in _split_sql((folder / name).read_text()):
                db.execute(statement)
            db.execute("INSERT INTO schema_migrations (name) VALUES (?)", (name,))
        db.execute("INSERT INTO communities (id, name, created_at) VALUES ('riverside', 'Riverside', 0)")
        db.execute("INSERT INTO households (id, community, name, created_at) VALUES ('h-old', 'riverside', 'Old', 0)")


def test_an_older_snapshot_is_migrated_on_restore(tmp_path: Path) -> None:
    older = [m for m in known_migrations() if m < known_migrations()[-1]][-1]
    old_store(tmp_path / "old" / "hub.sqlite3", older)
    snapshot = tmp_path / "old.snapshot"
    made = run_cli("backup", str(snapshot), data_dir=tmp_path / "old")
    assert made.returncode == 0, made.stderr
    assert f"schema {older}" in made.stdout
    with sqlite3.connect(snapshot) as snap:  # the schema version travels inside the snapshot
        assert snap.execute("PRAGMA user_version").fetchone()[0] == int(older.split("_")[0])
        assert snap.execute("SELECT max(name) FROM schema_migrations").fetchone()[0] == older

    done = run_cli("restore", str(snapshot), data_dir=tmp_path / "new")
    assert done.returncode == 0, done.stderr
    assert f"migrated {known_migrations()[-1]}" in done.stdout
    db = Database(tmp_path / "new" / "hub.sqlite3")
    try:
        assert [r["name"] for r in db.query("SELECT name FROM schema_migrations ORDER BY name")] == known_migrations()
        assert db.query_one("SELECT name FROM households WHERE id = 'h-old'")["name"] == "Old"
    finally:
        db.close()


def test_a_snapshot_of_a_newer_release_or_no_snapshot_at_all_is_refused(tmp_path: Path) -> None:
    future = tmp_path / "future" / "hub.sqlite3"
    Database(future).close()
    with sqlite3.connect(future) as db:
        db.execute("INSERT INTO schema_migrations (name) VALUES ('9990_from_the_future.sql')")
    snapshot = tmp_path / "future.snapshot"
    assert run_cli("backup", str(snapshot), data_dir=future.parent).returncode == 0
    refused = run_cli("restore", str(snapshot), data_dir=tmp_path / "a")
    assert refused.returncode == 1
    assert "newer hub" in refused.stderr
    assert "9990_from_the_future.sql" in refused.stderr
    assert not (tmp_path / "a" / "hub.sqlite3").exists()

    junk = tmp_path / "notes.txt"
    junk.write_text("not a database")
    refused = run_cli("restore", str(junk), data_dir=tmp_path / "b")
    assert refused.returncode == 1
    assert "not a hub snapshot" in refused.stderr
    missing = run_cli("backup", str(tmp_path / "x.snapshot"), data_dir=tmp_path / "nothing-here")
    assert missing.returncode == 1
    assert "no store" in missing.stderr


def test_the_broker_logins_and_the_history_travel_with_the_store(tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = Database(data / "hub.sqlite3")
    db.execute("INSERT INTO communities (id, name, created_at) VALUES ('riverside', 'Riverside', 0)")
    db.close()
    history = Database(data / "history.sqlite3")
    history.execute("INSERT INTO telemetry_raw (household, device, metric, ts, value) VALUES (?, ?, ?, ?, ?)",
                    ("h-ana", "meter", "power_w", 1.0, 230.0))
    history.close()
    dynsec = data / "mosquitto" / "dynamic-security.json"
    dynsec.parent.mkdir(parents=True)
    dynsec.write_text(json.dumps({"clients": [{"username": "h-ana-gw"}]}))

    snapshot = tmp_path / "s.snapshot"
    made = run_cli("backup", str(snapshot), data_dir=data)
    assert made.returncode == 0, made.stderr
    assert "mosquitto/dynamic-security.json" in made.stdout
    done = run_cli("restore", str(snapshot), data_dir=tmp_path / "restored")
    assert done.returncode == 0, done.stderr
    restored = tmp_path / "restored"
    assert json.loads((restored / "mosquitto" / "dynamic-security.json").read_text()) == {
        "clients": [{"username": "h-ana-gw"}]}
    with sqlite3.connect(restored / "history.sqlite3") as conn:
        assert conn.execute("SELECT value FROM telemetry_raw").fetchall() == [(230.0,)]
    with sqlite3.connect(restored / "hub.sqlite3") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "hub_snapshot_files" not in tables
