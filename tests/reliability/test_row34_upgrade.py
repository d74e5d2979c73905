"""RELIABILITY row 34: the store of the previous release, opened by this release.

``tests/fixtures/stores/release-<version>.sqlite3`` are stores written by released code
(``build_store.py`` beside them plays the demo's whole story with that release). Each is
opened with this release's store code, which migrates it in place: every row of every
table is still there, SQLite's integrity check and ``hub ledger verify`` pass.
The same fixture restored with ``hub restore`` into an empty data directory comes out
migrated to this release's schema.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from hub.storage import Database
from hub.storage.backup import known_migrations
from tests.reliability.ops_support import run_cli

STORES = sorted((Path(__file__).parent.parent / "fixtures" / "stores").glob("release-*.sqlite3"))
# Tables no released hub writes into hub.sqlite3: the telemetry history lives in
# history.sqlite3, the rules' action log and schedules are unused by the community pack.
NEVER_WRITTEN = {"rules_action_log", "rules_schedules", "telemetry_agg", "telemetry_raw"}


def snapshot_rows(path: Path) -> dict[str, tuple[list[str], list[tuple[object, ...]]]]:
    with sqlite3.connect(path) as db:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                           " AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        out = {}
        for table in tables:
            cursor = db.execute(f'SELECT * FROM "{table}"')
            out[table] = ([c[0] for c in cursor.description], cursor.fetchall())
        return out


def test_row34_there_is_a_fixture_of_the_previous_release() -> None:
    assert [p.name for p in STORES] >= ["release-0.1.0.sqlite3"]


@pytest.mark.parametrize("store", STORES, ids=[p.stem for p in STORES])
def test_row34_previous_release_store_is_migrated_in_place_with_every_row(store: Path, tmp_path: Path) -> None:
    before = snapshot_rows(store)
    assert {t for t, (_, rows) in before.items() if not rows} == NEVER_WRITTEN  # real data everywhere else
    path = tmp_path / "hub.sqlite3"
    shutil.copyfile(store, path)

    db = Database(path)  # this release's store code: it migrates on open
    try:
        schema = [r["name"] for r in db.query("SELECT name FROM schema_migrations ORDER BY name")]
        assert db.integrity_check() == "ok"
        lost = {}
        for table, (columns, rows) in before.items():
            now = {c[1] for c in db.query(f'PRAGMA table_info("{table}")')}
            kept = [c for c in columns if c in now]
            assert kept, f"table {table} lost every column"
            index = [columns.index(c) for c in kept]
            select = ", ".join(f'"{c}"' for c in kept)
            have = {tuple(r) for r in db.query(f'SELECT {select} FROM "{table}"')}
            missing = [r for r in rows if tuple(r[i] for i in index) not in have]
            if missing:
                lost[table] = len(missing)
    finally:
        db.close()
    total = sum(len(rows) for _, rows in before.values())
    print(f"RELIABILITY row 34: {store.name}: {total} rows in {len(before)} tables, "
          f"{len(schema) - len(before['schema_migrations'][1])} migrations applied, {sum(lost.values())} lost")
    assert schema == known_migrations()
    assert lost == {}
    verified = run_cli("ledger", "verify", data_dir=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"ratings: {len(before['offer_ratings'][1])} entries checked" in verified.stdout
    ratings = before["offer_ratings"][1]
    assert len(ratings) >= 1


@pytest.mark.parametrize("store", STORES, ids=[p.stem for p in STORES])
def test_row34_restore_of_an_older_snapshot_migrates_it(store: Path, tmp_path: Path) -> None:
    done = run_cli("restore", str(store), data_dir=tmp_path / "data")
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "data" / "hub.sqlite3") as db:
        schema = [r[0] for r in db.execute("SELECT name FROM schema_migrations ORDER BY name")]
        accounts = db.execute("SELECT count(*) FROM accounts").fetchone()[0]
    assert schema == known_migrations()
    assert accounts == len(snapshot_rows(store)["accounts"][1])
