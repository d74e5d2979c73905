"""RELIABILITY row 35 on PostgreSQL: a full disk (and any other SQLSTATE class 53, "insufficient
resources") answers 503 problem+json with ``Retry-After``, as SQLite's full disk does, never 500.

On a real throwaway PostgreSQL whatever ``--store`` says:

- the store boundary: every class-53 psycopg error becomes :class:`hub.errors.StorageFull`
  (injected at the adapter's connection, the one place psycopg errors are translated), other
  classes keep their DB-API class;
- the server's own class-53 error (``temp_file_limit`` exceeded, 53400) through the adapter;
- the whole path: ``hub run`` on a database whose tablespace lives on a small tmpfs, taking
  writes through the API while a ballast file fills that tmpfs. Writes answer 503 with a
  reason and ``Retry-After`` (the answer the OpenAPI document lists), reads keep working,
  nothing acknowledged is lost, and writes succeed again once space returns, without a restart.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from hub.errors import StorageFull
from hub.storage.postgres import Connection, PgIntegrityError, PostgresDatabase
from tests.conftest import Broker
from tests.pg_server import TEMPLATE, PgServer
from tests.reliability.ops_support import full_disk_round


class _Raises:
    """A psycopg connection stand-in whose every statement fails with ``error``."""

    def __init__(self, error: psycopg.Error) -> None:
        self.error = error

    def execute(self, *_args: Any, **_kwargs: Any) -> Any:
        raise self.error


@pytest.mark.parametrize(("error", "public"), [
    (psycopg.errors.DiskFull("could not extend file: No space left on device"), "disk is full"),
    (psycopg.errors.InsufficientResources("insufficient resources"), "out of resources"),
    (psycopg.errors.OutOfMemory("out of memory"), "out of resources"),
    (psycopg.errors.TooManyConnections("sorry, too many clients already"), "out of resources"),
    (psycopg.errors.ConfigurationLimitExceeded("temporary file size exceeds temp_file_limit"),
     "out of resources"),
])
def test_every_class_53_error_is_storage_full_at_the_store_boundary(error: psycopg.Error, public: str) -> None:
    conn = Connection(_Raises(error))  # type: ignore[arg-type]
    with pytest.raises(StorageFull) as caught:
        conn.execute("INSERT INTO t VALUES (?)", (1,))
    assert error.sqlstate in str(caught.value)
    assert public in caught.value.public
    assert caught.value.__cause__ is error


def test_other_classes_keep_their_db_api_class() -> None:
    conn = Connection(_Raises(psycopg.errors.UniqueViolation("duplicate key")))  # type: ignore[arg-type]
    with pytest.raises(PgIntegrityError):
        conn.execute("INSERT INTO t VALUES (?)", (1,))


def test_the_servers_own_class_53_error_is_storage_full(pg_server: PgServer) -> None:
    db = PostgresDatabase(pg_server.new_database(), pool_size=2)
    try:
        def spill() -> None:
            with db.transaction() as conn:  # a sort that must spill more than 64 kB to a temporary file
                conn.execute("SET LOCAL work_mem = '64kB'")
                conn.execute("SET LOCAL temp_file_limit = '64kB'")
                conn.execute("SELECT g FROM generate_series(1, 200000) AS g ORDER BY g DESC").fetchall()

        with pytest.raises(StorageFull, match="53400"):
            spill()
        assert db.query_one("SELECT 1")[0] == 1  # type: ignore[index]  # the pool goes on
    finally:
        db.close()


@pytest.fixture
def small_tablespace(pg_server: PgServer) -> Iterator[tuple[Path, str]]:
    """A 48 MB tmpfs owned by the server's OS user, a tablespace on it and a hub database
    (a copy of the migrated template) in that tablespace; all removed afterwards."""
    base = Path(tempfile.mkdtemp(prefix="hub-pg-disk-"))  # under /tmp: the postgres user can reach it
    mount = base / "disk"
    mount.mkdir()
    owner = pwd.getpwnam(pg_server.user) if os.geteuid() == 0 else None
    options = "size=48m,mode=0700" + (f",uid={owner.pw_uid},gid={owner.pw_gid}" if owner else "")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"row 35 mounts a tmpfs and needs root: {done.stderr.strip()}"
    os.chmod(base, 0o755)
    space = mount / "pg"
    space.mkdir()
    if owner:
        os.chown(space, owner.pw_uid, owner.pw_gid)
    name, tablespace = f"full_{uuid.uuid4().hex[:8]}", f"small_{uuid.uuid4().hex[:8]}"
    admin = pg_server.url()
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"CREATE TABLESPACE {tablespace} LOCATION '{space}'")  # type: ignore[arg-type]
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"'  # type: ignore[arg-type]
                         f" TABLESPACE {tablespace}")
        yield mount, pg_server.url(name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
            conn.execute(f"DROP TABLESPACE IF EXISTS {tablespace}")  # type: ignore[arg-type]
        subprocess.run(["umount", "-l", str(mount)], check=False)
        shutil.rmtree(base, ignore_errors=True)


def test_row35_postgresql_full_disk_gives_503_loses_nothing_and_recovers_by_itself(
        broker: Broker, small_tablespace: tuple[Path, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    disk, url = small_tablespace
    monkeypatch.setenv("HUB_DATABASE_URL", url)  # hub run (a subprocess) stores there
    with full_disk_round(broker.port, tmp_path / "data", tmp_path / "hub.log", disk / "ballast",
                         "h-pgdisk", "h-pgdisk-pass-1", client_id=f"row35pg-{os.getpid()}") as run:
        assert run.answer.json()["type"].endswith("storage-full")
        documented = run.http.get("/openapi.json").json()["paths"]["/gatherings"]["post"]["responses"]["503"]
        assert "application/problem+json" in documented["content"]
        assert documented["headers"]["Retry-After"]["required"] is True
    writer, log = run.writer, tmp_path / "hub.log"
    with psycopg.connect(url) as conn:
        ids = {r[0] for r in conn.execute("SELECT id FROM gatherings WHERE host = 'h-pgdisk'").fetchall()}
    lost = set(writer.acked) - ids
    print(f"RELIABILITY row 35 (PostgreSQL): ballast {run.ballast_bytes // 1024} KB; {len(writer.acked)} writes "
          f"acknowledged, {writer.refused.get(503, 0)} answered 503 while full, {len(lost)} lost, "
          "recovered without restart")
    assert set(writer.refused) == {503}, writer.bodies
    assert writer.errors == []
    assert lost == set()
    assert run.code == 0, log.read_text(errors="replace")[-3000:]
