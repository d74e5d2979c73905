"""The checks that keep one store to the right number of workers.

SQLite serves one worker: a second ``hub run`` on the same data directory is refused by an
exclusive ``flock`` on ``<data dir>/hub.lock``, held for the life of the process (the kernel
drops it when the process dies, SIGKILL included). Partitioned workers need PostgreSQL and a
broker they all share.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from hub.config import Settings
from hub.errors import ConfigError


def check_partitioned(settings: Settings) -> None:
    """Refuse, in one line, settings under which partitioned workers cannot work."""
    if not settings.shares:
        return
    if not settings.database_url:
        raise ConfigError("HUB_SHARES needs PostgreSQL (HUB_DATABASE_URL=postgresql://...):"
                          " on SQLite the hub runs as one worker")
    if not settings.mqtt_url:
        raise ConfigError("HUB_SHARES needs the broker all workers share (HUB_MQTT_URL):"
                          " each worker's embedded broker would split the households")
    if settings.lease_heartbeat_s * 2 > settings.lease_ttl_s:
        raise ConfigError(f"HUB_LEASE_HEARTBEAT_S={settings.lease_heartbeat_s:g} must be at most half of"
                          f" HUB_LEASE_TTL_S={settings.lease_ttl_s:g}: one late heartbeat must not lose a share")


def lock_sqlite(data_dir: Path) -> IO[str]:
    """Hold the SQLite store's one-worker lock; refuse when another process holds it.

    Returns the open lock file: keep it open while the hub runs, close it to release.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "hub.lock"
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held open on purpose)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise ConfigError(
            f"another hub (pid {holder}) already runs on the SQLite store in {data_dir}: SQLite serves one"
            " worker; for more, use PostgreSQL (HUB_DATABASE_URL) with HUB_SHARES") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
