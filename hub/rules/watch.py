"""Hot reload on file change: poll the packs' modification times in an asyncio task.

Polling (no new dependency, works on every file system and in containers) every
``interval`` seconds; a change to any ``*.yaml`` file of the folder (added, edited,
removed) triggers :meth:`RuleEngine.reload`. A pack that fails validation keeps its
previous version (the engine guarantees it); the errors are logged.

    task = asyncio.create_task(watch_packs(engine, "rules", interval=2.0), name="rules-watch")
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from hub.rules.engine import RuleEngine
from hub.rules.loader import pack_files
from hub.rules.packset import ReloadResult

logger = logging.getLogger(__name__)

Snapshot = dict[str, tuple[int, int]]


def snapshot(folder: str | Path) -> Snapshot:
    """Modification time and size of every pack file in ``folder``."""
    out: Snapshot = {}
    for f in pack_files(folder):
        try:
            st = f.stat()
        except OSError:
            continue
        out[str(f)] = (st.st_mtime_ns, st.st_size)
    return out


async def watch_packs(
    engine: RuleEngine,
    folder: str | Path,
    interval: float = 2.0,
    *,
    on_reload: Callable[[ReloadResult], None] | None = None,
) -> None:
    """Reload ``engine`` whenever a pack in ``folder`` changes; runs until cancelled.

    Args:
        engine: the engine to reload (with ``[folder]``).
        folder: the packs' folder.
        interval: seconds between polls.
        on_reload: called with each reload's result (tests, metrics).
    """
    last = snapshot(folder)
    while True:
        await asyncio.sleep(interval)
        try:
            current = snapshot(folder)
            if current == last:
                continue
            last = current
            logger.info("rule packs changed in %s: reloading", folder)
            result = engine.reload([folder])
            if on_reload is not None:
                on_reload(result)
        except Exception:
            logger.exception("rules: reload after a file change failed")
