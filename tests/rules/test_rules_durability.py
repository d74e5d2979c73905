"""Durable timers: restarts (in process and kill -9) neither lose nor repeat a firing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from hub.clock import FakeClock
from hub.events import Reading
from hub.rules.actions import ListSink
from hub.rules.engine import RuleEngine
from tests.stores import location, open_db

REPO = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("rules_worker.py")

PACK = """\
pack: k
rules:
  - id: milk
    misfire: {misfire}
    triggers: [{{metric: stock, channel: milk, below: 0.5, clear_above: 1, for: {delay}}}]
    actions: [{{kind: suggest, key: milk, title: "Milk low"}}]
"""


def milk(value: float) -> list[Reading]:
    return [Reading(device="fridge-1", metric="stock", channel="milk", value=value)]


# -- in process: a new engine on the same database file ---------------------------------


def test_restart_before_due_fires_once_at_due(
    tmp_path: Path, clock: FakeClock, write_pack: Callable[..., Path]
) -> None:
    pack = write_pack(PACK.format(misfire="fire", delay="30m"))
    db = open_db(tmp_path / "a.db")
    first = RuleEngine(db, clock, ListSink())
    first.reload([pack])
    first.on_readings("h-ana", milk(0.1))
    due = first.next_due()
    db.close()

    clock.advance(timedelta(minutes=10))
    db = open_db(tmp_path / "a.db")
    sink = ListSink()
    second = RuleEngine(db, clock, sink)
    second.reload([pack])
    assert second.next_due() == due
    second.on_readings("h-ana", milk(0.2))  # still low: the timer is not restarted
    assert second.next_due() == due
    clock.advance(timedelta(minutes=20))
    second.tick(clock.now())
    second.tick(clock.now())
    assert [(a.title, a.created_at) for a in sink.actions] == [("Milk low", due)]
    db.close()


def test_came_due_while_down_fires_once_or_is_skipped(
    tmp_path: Path, clock: FakeClock, write_pack: Callable[..., Path]
) -> None:
    for misfire, expected in (("fire", 1), ("skip", 0)):
        pack = write_pack(PACK.format(misfire=misfire, delay="30m"), name=misfire)
        db = open_db(tmp_path / f"{misfire}.db")
        first = RuleEngine(db, clock, ListSink())
        first.reload([pack])
        first.on_readings("h-ana", milk(0.1))
        db.close()
        clock.advance(timedelta(hours=1))
        db = open_db(tmp_path / f"{misfire}.db")
        sink = ListSink()
        second = RuleEngine(db, clock, sink)
        second.reload([pack])
        second.tick(clock.now())
        clock.advance(timedelta(hours=1))
        second.tick(clock.now())
        assert len(sink.actions) == expected, misfire
        if misfire == "skip":
            assert second.traces()[-1]["outcome"] == "misfire-skipped"
        db.close()


def test_cooldown_and_open_keys_survive_a_restart(
    tmp_path: Path, clock: FakeClock, write_pack: Callable[..., Path]
) -> None:
    pack = write_pack(PACK.format(misfire="fire", delay="0s"))
    db = open_db(tmp_path / "c.db")
    sink = ListSink()
    first = RuleEngine(db, clock, sink)
    first.reload([pack])
    first.on_readings("h-ana", milk(0.1))
    assert len(sink.actions) == 1
    db.close()
    db = open_db(tmp_path / "c.db")
    second = RuleEngine(db, clock, sink)
    second.reload([pack])
    second.on_readings("h-ana", milk(1.5))
    second.on_readings("h-ana", milk(0.1))
    assert len(sink.actions) == 1
    assert second.traces()[-1]["reason"] == "open: milk"
    db.close()


def test_a_failing_sink_rolls_back_and_retries(
    tmp_path: Path, clock: FakeClock, write_pack: Callable[..., Path]
) -> None:
    class Flaky:
        def __init__(self) -> None:
            self.fail = True
            self.got: list[object] = []

        def submit(self, actions: object) -> None:
            if self.fail:
                raise RuntimeError("offers store down")
            self.got.extend(actions)  # type: ignore[call-overload]

    pack = write_pack(PACK.format(misfire="fire", delay="30m"))
    db = open_db(tmp_path / "f.db")
    flaky = Flaky()
    engine = RuleEngine(db, clock, flaky)
    engine.reload([pack])
    engine.on_readings("h-ana", milk(0.1))
    clock.advance(timedelta(minutes=30))
    engine.tick(clock.now())  # fails: rolled back, the timer is pending again
    assert flaky.got == []
    assert db.query("SELECT fired FROM rules_state")[0][0] == 0
    flaky.fail = False
    engine.tick(clock.now())
    assert len(flaky.got) == 1
    db.close()


# -- kill -9 of a real process ------------------------------------------------------------


_SPAWNED: list[subprocess.Popen[bytes]] = []


@pytest.fixture(autouse=True)
def _no_leftover_workers() -> Iterator[None]:
    yield
    while _SPAWNED:
        proc = _SPAWNED.pop()
        if proc.poll() is None:  # a failed test left it running: stop it by its pid
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def _spawn(db: Path, pack: Path, mode: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), location(db), str(pack), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    _SPAWNED.append(proc)
    return proc


def _line(proc: subprocess.Popen[bytes]) -> list[str]:
    assert proc.stdout is not None
    line = proc.stdout.readline().decode().split()
    assert line, proc.stderr.read().decode() if proc.stderr else "no output"
    return line


def _kill(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL


def _fired(db_path: Path) -> list[float]:
    db = open_db(db_path)
    try:
        rows = db.query("SELECT body, created_at FROM rules_action_log ORDER BY created_at")
        assert all(orjson.loads(r["body"])["title"] == "Milk low" for r in rows)
        return [r["created_at"] for r in rows]
    finally:
        db.close()


def _resume(db: Path, pack: Path) -> None:
    proc = _spawn(db, pack, "resume")
    assert _line(proc) == ["DONE"]
    assert proc.wait(timeout=10) == 0


def test_kill9_during_for_wait_fires_once_at_due(
    tmp_path: Path, write_pack: Callable[..., Path]
) -> None:
    pack = write_pack(PACK.format(misfire="fire", delay="1500ms"))
    db = tmp_path / "hub.db"
    proc = _spawn(db, pack, "wait")
    tag, due = _line(proc)
    assert tag == "WAITING"
    _kill(proc)
    assert time.time() < float(due), "the machine was too slow to kill before due"
    _resume(db, pack)
    fired = _fired(db)
    assert len(fired) == 1
    assert float(due) <= fired[0] < float(due) + 1.0
    _resume(db, pack)  # a second restart fires nothing again
    assert len(_fired(db)) == 1


def test_kill9_after_firing_does_not_repeat(
    tmp_path: Path, write_pack: Callable[..., Path]
) -> None:
    pack = write_pack(PACK.format(misfire="fire", delay="1s"))
    db = tmp_path / "hub.db"
    proc = _spawn(db, pack, "fire")
    assert _line(proc)[0] == "WAITING"
    assert _line(proc) == ["FIRED"]
    _kill(proc)
    _resume(db, pack)
    assert len(_fired(db)) == 1


def test_kill9_then_down_past_due(tmp_path: Path, write_pack: Callable[..., Path]) -> None:
    for misfire, expected in (("fire", 1), ("skip", 0)):
        pack = write_pack(PACK.format(misfire=misfire, delay="1s"), name=misfire)
        db = tmp_path / f"{misfire}.db"
        proc = _spawn(db, pack, "wait")
        _tag, due = _line(proc)
        _kill(proc)
        time.sleep(max(0.0, float(due) - time.time()) + 0.05)  # stay down past the due time
        restarted = time.time()
        _resume(db, pack)
        fired = _fired(db)
        assert len(fired) == expected, misfire
        if fired:
            assert fired[0] >= restarted


SCHEDULED = """\
pack: s
rules:
  - id: hourly
    misfire: {misfire}
    dedup: false
    triggers: [{{schedule: {{every: 1h, households: [h-ana]}}}}]
    actions: [{{kind: notify, title: "tick"}}]
"""


def test_schedules_survive_restarts_and_coalesce_or_skip_misfires(
    tmp_path: Path, clock: FakeClock, write_pack: Callable[..., Path]
) -> None:
    for misfire, expected in (("fire", 1), ("skip", 0)):
        start = clock.now()
        pack = write_pack(SCHEDULED.format(misfire=misfire), name=f"s-{misfire}")
        db = open_db(tmp_path / f"s-{misfire}.db")
        first = RuleEngine(db, clock, ListSink())
        first.reload([pack])
        assert first.next_due() == start + timedelta(hours=1)
        db.close()
        clock.advance(timedelta(hours=3, minutes=30))  # down for three due times
        db = open_db(tmp_path / f"s-{misfire}.db")
        sink = ListSink()
        second = RuleEngine(db, clock, sink)
        second.reload([pack])
        second.tick(clock.now())
        assert len(sink.actions) == expected, misfire  # three missed: at most one firing
        assert second.next_due() == clock.now() + timedelta(hours=1)
        db.close()
