"""``hub backup`` / ``hub restore`` on a PostgreSQL store (pg_dump / pg_restore), on a throwaway server."""

from __future__ import annotations

from pathlib import Path

from hub.storage.postgres import PostgresDatabase
from tests.pg_server import PgServer
from tests.reliability.ops_support import run_cli


def test_postgres_backup_restores_into_an_empty_database_and_refuses_one_with_data(
        pg_server: PgServer, tmp_path: Path) -> None:
    live, empty = pg_server.new_database(), pg_server.new_database()
    db = PostgresDatabase(live, pool_size=2)
    try:
        db.execute("INSERT INTO communities (id, name, created_at) VALUES ('riverside', 'Riverside', 0)")
        db.execute("INSERT INTO households (id, community, name, created_at) VALUES ('h-pg', 'riverside', 'Pg', 0)")
    finally:
        db.close()
    snapshot = tmp_path / "pg.dump"
    made = run_cli("backup", str(snapshot), data_dir=tmp_path / "a", extra_env={"HUB_DATABASE_URL": live})
    assert made.returncode == 0, made.stderr
    assert "schema 0" in made.stdout
    assert snapshot.read_bytes().startswith(b"PGDMP")

    done = run_cli("restore", str(snapshot), data_dir=tmp_path / "b", extra_env={"HUB_DATABASE_URL": empty})
    assert done.returncode == 0, done.stderr
    db = PostgresDatabase(empty, pool_size=2)
    try:
        assert [r["name"] for r in db.query("SELECT name FROM households")] == ["Pg"]
    finally:
        db.close()

    refused = run_cli("restore", str(snapshot), data_dir=tmp_path / "c", extra_env={"HUB_DATABASE_URL": live})
    assert refused.returncode == 1
    assert "holds data" in refused.stderr
    forced = run_cli("restore", str(snapshot), "--force", data_dir=tmp_path / "c", extra_env={"HUB_DATABASE_URL": live})
    assert forced.returncode == 0, forced.stderr
