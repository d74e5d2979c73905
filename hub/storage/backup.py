"""Backups and restores of the hub's store (CONTRACTS.md, "Operations").

One backend per kind of store, behind :class:`Backend`:

- :class:`SqliteBackend` copies the store with SQLite's online backup API, which reads a
  consistent snapshot (one read transaction) while the hub keeps writing. The snapshot is a
  plain SQLite file: the store's own tables, ``schema_migrations`` among them (the schema
  version), ``PRAGMA user_version`` set to the last migration's number, and a table
  ``hub_snapshot_files`` with the other files of a data directory that a restore needs (the
  managed broker's dynamic-security file with every MQTT login, the telemetry history).
- :class:`PostgresBackend` runs ``pg_dump --format=custom`` and ``pg_restore``; the dump
  holds ``schema_migrations`` as well.

A restore refuses to overwrite a store that holds data unless forced, and refuses a
snapshot of a newer schema than this release knows. Migrating an older snapshot is the
caller's last step: it opens the restored store with the normal store code, which applies
the missing migrations.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from contextlib import closing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Protocol

from hub.errors import StorageError

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
FILES_TABLE = "hub_snapshot_files"
# Files of a data directory that travel inside an SQLite snapshot, beside the store.
EXTRA_FILES = ("mosquitto/dynamic-security.json",)
HISTORY_DB = "history.sqlite3"


class RestoreRefused(StorageError):
    """A restore that would lose data or cannot be applied (the reason says which)."""


@dataclass
class SnapshotInfo:
    """What a backup wrote, or what a restore read."""

    path: Path
    schema: list[str]
    rows: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    migrated: list[str] = field(default_factory=list)

    @property
    def schema_version(self) -> str:
        return self.schema[-1] if self.schema else "none"


class Backend(Protocol):
    """A kind of store that can be snapshotted and rebuilt."""

    def has_data(self) -> bool:
        """True when the store exists and any of its tables holds a row."""

    def backup(self, target: Path) -> SnapshotInfo:
        """Write a consistent snapshot to ``target`` (atomically: all or nothing)."""

    def restore(self, source: Path, *, force: bool = False) -> SnapshotInfo:
        """Rebuild the store from ``source``; refuse to overwrite data unless ``force``."""


def known_migrations() -> list[str]:
    """The migration names this release ships, in order."""
    folder = resources.files("hub.storage") / "migrations"
    return sorted(e.name for e in folder.iterdir() if e.name.endswith(".sql"))


def seed_rows() -> dict[str, int]:
    """Rows the migrations themselves insert (a fresh store holds them and no data)."""
    from hub.storage.database import Database

    db = Database(":memory:")
    try:
        tables = [r[0] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'"
                                         " AND name NOT LIKE 'sqlite_%' AND name != 'schema_migrations'")]
        return {t: int(db.query_one(f'SELECT count(*) FROM "{t}"')[0]) for t in tables}  # type: ignore[index]
    finally:
        db.close()


def snapshot_kind(path: Path) -> str:
    """``"sqlite"`` or ``"postgresql"``, from the file's first bytes."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise RestoreRefused(f"cannot read snapshot {path}: {exc.strerror}") from exc
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise RestoreRefused(f"{path} is not a hub snapshot (neither an SQLite file nor a pg_dump archive)")


def check_schema(schema: list[str], source: Path) -> None:
    """Refuse a snapshot that is not the hub's, or that comes from a newer release."""
    if not schema:
        raise RestoreRefused(f"{source} has no schema_migrations: not a hub snapshot")
    unknown = sorted(set(schema) - set(known_migrations()))
    if unknown:
        raise RestoreRefused(f"{source} comes from a newer hub (migrations {', '.join(unknown)} are unknown "
                             "to this release): upgrade the hub first")


class SqliteBackend:
    """Backups of the embedded store: ``hub.sqlite3`` and its companions in ``data_dir``."""

    def __init__(self, data_dir: Path, db_name: str = "hub.sqlite3") -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / db_name

    # -- reading the live store ---------------------------------------------------------

    def has_data(self) -> bool:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return False
        with closing(_connect(self.path)) as conn:
            counts = _row_counts(conn)
        seeded = seed_rows()
        return any(n > seeded.get(t, 0) for t, n in counts.items())

    def backup(self, target: Path) -> SnapshotInfo:
        if not self.path.exists():
            raise StorageError(f"no store at {self.path} (is HUB_DATA_DIR right?)")
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.unlink(missing_ok=True)
        try:
            with closing(_connect(self.path)) as src, closing(_connect(partial)) as dst:
                src.backup(dst)  # all pages in one step: one read transaction, one consistent state
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                schema = _schema(dst)
                dst.execute(f"PRAGMA user_version = {_migration_number(schema)}")
                files = self._pack_files(dst)
                _require_integrity(dst, partial)
                rows = _row_counts(dst)
            _fsync(partial)
            os.replace(partial, target)
        except sqlite3.Error as exc:
            partial.unlink(missing_ok=True)
            raise StorageError(f"backup to {target} failed: {exc}") from exc
        return SnapshotInfo(target, schema, rows, files)

    def _pack_files(self, dst: sqlite3.Connection) -> list[str]:
        dst.execute(f"CREATE TABLE {FILES_TABLE} (name TEXT PRIMARY KEY, content BLOB NOT NULL)")
        packed = []
        for name in EXTRA_FILES:
            path = self.data_dir / name
            if path.exists():
                dst.execute(f"INSERT INTO {FILES_TABLE} VALUES (?, ?)", (name, path.read_bytes()))
                packed.append(name)
        history = self.data_dir / HISTORY_DB
        if history.exists():
            with tempfile.TemporaryDirectory() as tmp:
                copy = Path(tmp) / HISTORY_DB
                with closing(_connect(history)) as src, closing(_connect(copy)) as out:
                    src.backup(out)
                    out.execute("PRAGMA journal_mode=DELETE")
                dst.execute(f"INSERT INTO {FILES_TABLE} VALUES (?, ?)", (HISTORY_DB, copy.read_bytes()))
            packed.append(HISTORY_DB)
        return packed

    # -- rebuilding ------------------------------------------------------------------------

    def restore(self, source: Path, *, force: bool = False) -> SnapshotInfo:
        source = Path(source)
        if snapshot_kind(source) != "sqlite":
            raise RestoreRefused(f"{source} is a PostgreSQL dump; this hub's store is SQLite")
        with closing(_connect(source, read_only=True)) as snap:
            _require_integrity(snap, source)
            schema = _schema(snap)
            check_schema(schema, source)
            files = _unpacked_files(snap)
        if self.has_data() and not force:
            raise RestoreRefused(f"the store {self.path} holds data: restoring would overwrite it "
                                 "(stop the hub and pass --force to replace it)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            with closing(_connect(source, read_only=True)) as snap, closing(_connect(self.path)) as dst:
                # The backup API replaces the destination's pages under its write lock, so a
                # reader (a running hub, with --force) sees either the old or the new store.
                snap.backup(dst)
                dst.execute("PRAGMA journal_mode=WAL")
                dst.execute(f"DROP TABLE IF EXISTS {FILES_TABLE}")
                rows = _row_counts(dst)
        except sqlite3.Error as exc:
            raise StorageError(f"restore into {self.path} failed: {exc}") from exc
        for name, content in files.items():
            self._write_file(name, content)
        return SnapshotInfo(source, schema, rows, sorted(files))

    def _write_file(self, name: str, content: bytes) -> None:
        path = self.data_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name == HISTORY_DB:
            for suffix in ("-wal", "-shm"):  # a stale log must not be replayed onto the copy
                Path(str(path) + suffix).unlink(missing_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(content)
        partial.chmod(0o600)
        _fsync(partial)
        os.replace(partial, path)


class PostgresBackend:
    """Backups of a PostgreSQL store with ``pg_dump`` and ``pg_restore`` (custom format)."""

    def __init__(self, url: str) -> None:
        self.url = url
        for tool in ("pg_dump", "pg_restore", "psql"):
            if shutil.which(tool) is None:
                raise StorageError(f"{tool} is not installed (Debian: postgresql-client)")

    def _psql(self, sql: str) -> str:
        done = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", self.url, "-c", sql],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise StorageError(f"psql failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def _tables(self) -> list[str]:
        out = self._psql("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1")
        return [t for t in out.splitlines() if t]

    def has_data(self) -> bool:
        tables = [t for t in self._tables() if t != "schema_migrations"]
        if not tables:
            return False
        seeded = seed_rows()
        probe = " OR ".join(f'(SELECT count(*) FROM "{t}") > {seeded.get(t, 0)}' for t in tables)
        return self._psql(f"SELECT {probe}") == "t"

    def _schema(self) -> list[str]:
        if "schema_migrations" not in self._tables():
            return []
        return self._psql("SELECT name FROM schema_migrations ORDER BY name").splitlines()

    def backup(self, target: Path) -> SnapshotInfo:
        target = Path(target)
        partial = target.with_name(target.name + ".partial")
        # pg_dump runs in one repeatable-read transaction: consistent while the hub writes.
        done = subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                               f"--file={partial}", self.url], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            partial.unlink(missing_ok=True)
            raise StorageError(f"pg_dump failed: {done.stderr.strip()}")
        _fsync(partial)
        os.replace(partial, target)
        return SnapshotInfo(target, self._schema())

    def restore(self, source: Path, *, force: bool = False) -> SnapshotInfo:
        source = Path(source)
        if snapshot_kind(source) != "postgresql":
            raise RestoreRefused(f"{source} is an SQLite snapshot; this hub's store is PostgreSQL")
        if self.has_data() and not force:
            raise RestoreRefused("the PostgreSQL store holds data: restoring would overwrite it "
                                 "(stop the hub and pass --force to replace it)")
        done = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
                               "--single-transaction", "--exit-on-error", f"--dbname={self.url}", str(source)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise StorageError(f"pg_restore failed: {done.stderr.strip()}")
        schema = self._schema()
        check_schema(schema, source)
        return SnapshotInfo(source, schema)


# -- SQLite helpers ----------------------------------------------------------------------------


def _connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    uri = f"file:{Path(path).resolve()}{'?mode=ro' if read_only else ''}"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open {path}: {exc}") from exc
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _schema(conn: sqlite3.Connection) -> list[str]:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").fetchone()
    if found is None:
        return []
    return [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY name")]


def _migration_number(schema: list[str]) -> int:
    try:
        return int(schema[-1].split("_", 1)[0]) if schema else 0
    except ValueError:
        return 0


def _row_counts(conn: sqlite3.Connection, *, exists_only: bool = False) -> dict[str, int]:
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        f" AND name NOT IN ('schema_migrations', '{FILES_TABLE}') ORDER BY name")]
    if exists_only:
        return {t: conn.execute(f'SELECT EXISTS (SELECT 1 FROM "{t}")').fetchone()[0] for t in tables}
    return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def _require_integrity(conn: sqlite3.Connection, path: Path) -> None:
    verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
    if verdict != "ok":
        raise RestoreRefused(f"{path} fails SQLite's integrity check: {verdict}")


def _unpacked_files(conn: sqlite3.Connection) -> dict[str, bytes]:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (FILES_TABLE,)).fetchone()
    if found is None:
        return {}
    return {r[0]: bytes(r[1]) for r in conn.execute(f"SELECT name, content FROM {FILES_TABLE}")
            if r[0] in (*EXTRA_FILES, HISTORY_DB)}


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
