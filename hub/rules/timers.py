"""The asyncio task that fires ``for:`` timers and schedules on time.

    task = asyncio.create_task(run_timers(engine, clock), name="rules-timers")

It ticks the engine, sleeps until :meth:`RuleEngine.next_due` (at most ``max_sleep``), and
wakes up early when a new earliest timer appears (the engine's wake-up callback, safe to
call from the ingest thread). The first tick happens at once, so timers that came due while
the hub was down fire on start (or were dropped by ``misfire: skip`` at load).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from hub.clock import Clock
from hub.rules.engine import RuleEngine

logger = logging.getLogger(__name__)


async def run_timers(engine: RuleEngine, clock: Clock, *, max_sleep: float = 60.0) -> None:
    """Fire due timers and schedules until cancelled."""
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def wake_up() -> None:
        loop.call_soon_threadsafe(wake.set)

    engine.set_wakeup(wake_up)
    try:
        while True:
            wake.clear()
            try:
                engine.tick(clock.now())
            except Exception:
                logger.exception("rules: tick failed")
            due = engine.next_due()
            delay = max_sleep
            if due is not None:
                delay = min(max(0.0, (due - clock.now()).total_seconds()), max_sleep)
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancellation
            # that arrives as the wake-up completes, and the hub's task group then waits
            # on this loop until max_sleep (seen as a hung shutdown).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await wake.wait()
    finally:
        engine.set_wakeup(None)
