"""``hub backup FILE`` and ``hub restore FILE [--force]`` (CONTRACTS.md, "Operations").

Both act on the store the settings name (``HUB_DATA_DIR``'s SQLite files, or the
PostgreSQL database of ``HUB_DATABASE_URL``). Exit 0 on success, 1 with a reason when the
backup or restore is refused or fails, 2 for unusable settings.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hub.config import Settings, load_settings
from hub.errors import ConfigError, StorageError
from hub.storage.backup import Backend, PostgresBackend, SnapshotInfo, SqliteBackend, known_migrations


def register(sub: Any) -> None:
    """Add ``backup`` and ``restore`` to the ``hub`` parser."""
    backup = sub.add_parser("backup", help="write a consistent snapshot of the store to FILE (the hub may run)")
    backup.add_argument("file", type=Path)
    backup.set_defaults(func=_backup_command)
    restore = sub.add_parser("restore", help="rebuild the store from a snapshot FILE, migrating it if older")
    restore.add_argument("file", type=Path)
    restore.add_argument("--force", action="store_true", help="replace a store that holds data")
    restore.set_defaults(func=_restore_command)


def backend_for(settings: Settings) -> Backend:
    """The backup backend of the configured store."""
    if settings.database_url:
        return PostgresBackend(settings.database_url)
    return SqliteBackend(settings.data_dir, settings.db_path.name)


def migrate_store(settings: Settings) -> list[str]:
    """Open the restored store with the hub's own store code, which applies new migrations."""
    from hub.storage.factory import open_database

    db = open_database(settings, pool_size=1)
    try:
        applied = db.migrate()  # opening migrated already; this confirms nothing is left
        if not settings.database_url:
            verdict = db.integrity_check()
            if verdict != "ok":
                raise StorageError(f"the restored store fails SQLite's integrity check: {verdict}")
        return applied
    finally:
        db.close()


def _settings() -> Settings:
    return load_settings()


def _backup_command(args: argparse.Namespace) -> int:
    try:
        settings = _settings()
    except ConfigError as exc:
        print(f"hub: {exc}", file=sys.stderr)
        return 2
    try:
        info = backend_for(settings).backup(args.file)
    except StorageError as exc:
        print(f"hub backup: {exc}", file=sys.stderr)
        return 1
    print(f"hub backup: wrote {info.path} ({_summary(info)})")
    return 0


def _restore_command(args: argparse.Namespace) -> int:
    try:
        settings = _settings()
    except ConfigError as exc:
        print(f"hub: {exc}", file=sys.stderr)
        return 2
    backend = backend_for(settings)
    try:
        info = backend.restore(args.file, force=args.force)
        before = set(info.schema)
        migrate_store(settings)
        info.migrated = [m for m in known_migrations() if m not in before]
    except StorageError as exc:
        print(f"hub restore: {exc}", file=sys.stderr)
        return 1
    migrated = f"; migrated {', '.join(info.migrated)}" if info.migrated else ""
    print(f"hub restore: restored {args.file} ({_summary(info)}){migrated}")
    return 0


def _summary(info: SnapshotInfo) -> str:
    parts = [f"schema {info.schema_version}"]
    if info.rows:
        parts.append(f"{sum(info.rows.values())} rows in {len(info.rows)} tables")
    if info.files:
        parts.append(f"with {', '.join(info.files)}")
    return ", ".join(parts)
