"""The timer task fires a for: timer on time, woken by the new timer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from hub.clock import SystemClock
from hub.events import Reading
from hub.rules.actions import Action
from hub.rules.engine import RuleEngine
from hub.rules.timers import run_timers
from hub.storage.database import Database


class EventSink:
    def __init__(self) -> None:
        self.actions: list[Action] = []
        self.got = asyncio.Event()

    def submit(self, actions: Sequence[Action]) -> None:
        self.actions.extend(actions)
        self.got.set()


async def test_timer_task_fires_on_time(db: Database, write_pack: Callable[..., Path]) -> None:
    pack = write_pack(
        """\
        rules:
          - id: quick
            triggers: [{metric: stock, channel: milk, below: 0.5, for: 300ms}]
            actions: [{kind: suggest, title: quick}]
        """
    )
    clock = SystemClock()
    sink = EventSink()
    engine = RuleEngine(db, clock, sink)
    engine.reload([pack])
    task = asyncio.create_task(run_timers(engine, clock, max_sleep=60.0), name="rules-timers")
    try:
        await asyncio.sleep(0)  # the task ticks once and waits (60 s: nothing is pending)
        started = clock.timestamp()
        engine.on_readings(
            "h-ana", [Reading(device="f", metric="stock", channel="milk", value=0.1)]
        )
        await asyncio.wait_for(sink.got.wait(), timeout=5)
        elapsed = sink.actions[0].created_at.timestamp() - started
        assert 0.3 <= elapsed < 2.0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
