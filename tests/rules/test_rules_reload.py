"""Hot reload: a broken pack never replaces a working one; unchanged rules keep timers."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from hub.clock import FakeClock
from hub.events import Reading
from hub.rules.actions import ListSink
from hub.rules.engine import RuleEngine
from hub.rules.packset import ReloadResult
from hub.rules.watch import watch_packs
from hub.storage.database import Database

PACK = """\
pack: p
rules:
  - id: slow
    triggers: [{metric: stock, channel: milk, below: 0.5, for: 30m}]
    actions: [{kind: suggest, title: "slow"}]
  - id: other
    triggers: [{metric: stock, channel: eggs, below: 1, for: 30m}]
    actions: [{kind: suggest, title: "other"}]
"""


def low(channel: str) -> list[Reading]:
    return [Reading(device="fridge-1", metric="stock", channel=channel, value=0)]


def test_reload_keeps_timers_of_unchanged_rules(
    db: Database, clock: FakeClock, sink: ListSink, write_pack: Callable[..., Path]
) -> None:
    path = write_pack(PACK)
    engine = RuleEngine(db, clock, sink)
    assert engine.reload([path]).added == ("p/other", "p/slow")
    engine.on_readings("h-ana", low("milk") + low("eggs"))
    clock.advance(timedelta(minutes=10))
    path.write_text(PACK.replace('title: "other"', 'title: "other, edited"'), encoding="utf-8")
    result = engine.reload()
    assert (result.changed, result.unchanged, result.errors) == (("p/other",), ("p/slow",), ())
    assert [p["rule"] for p in engine.pending()] == ["p/slow"]
    clock.advance(timedelta(minutes=20))
    engine.tick(clock.now())
    assert [a.title for a in sink.actions] == ["slow"]


def test_broken_pack_keeps_the_working_one(
    db: Database, clock: FakeClock, sink: ListSink, write_pack: Callable[..., Path]
) -> None:
    path = write_pack(PACK)
    engine = RuleEngine(db, clock, sink)
    engine.reload([path])
    engine.on_readings("h-ana", low("milk"))
    path.write_text(PACK.replace("below: 0.5", "below: lots"), encoding="utf-8")
    result = engine.reload()
    assert not result.ok
    assert result.errors[0].line == 4
    assert result.errors[0].rule_id == "slow"
    assert result.packs == ("p",)
    assert result.unchanged == ("p/other", "p/slow")
    clock.advance(timedelta(minutes=30))
    engine.tick(clock.now())
    assert [a.title for a in sink.actions] == ["slow"]


def test_removed_rule_drops_its_timer(
    db: Database, clock: FakeClock, sink: ListSink, write_pack: Callable[..., Path]
) -> None:
    path = write_pack(PACK)
    engine = RuleEngine(db, clock, sink)
    engine.reload([path])
    engine.on_readings("h-ana", low("milk"))
    path.write_text(PACK.split("  - id: slow")[0] + PACK.split("]\n", 2)[2], encoding="utf-8")
    result = engine.reload()
    assert result.removed == ("p/slow",)
    assert engine.pending() == []
    assert db.query("SELECT count(*) FROM rules_state WHERE rule = 'p/slow'")[0][0] == 0


async def test_watcher_reloads_on_file_change(
    db: Database, clock: FakeClock, sink: ListSink, write_pack: Callable[..., Path]
) -> None:
    path = write_pack(PACK)
    engine = RuleEngine(db, clock, sink)
    engine.reload([path.parent])
    results: asyncio.Queue[ReloadResult] = asyncio.Queue()
    task = asyncio.create_task(
        watch_packs(engine, path.parent, interval=0.05, on_reload=results.put_nowait),
        name="rules-watch",
    )
    try:
        await asyncio.sleep(0)  # the task runs up to its first poll: its snapshot is taken
        path.write_text(PACK.replace('"other"', '"other2"'), encoding="utf-8")
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        result = await asyncio.wait_for(results.get(), timeout=5)
        assert result.changed == ("p/other",)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
