"""Fixtures for the notices tests: a real Mosquitto, a real SQLite file, households."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from notices_support import START, Broker, free_port, seed_households, wait_for_port

from hub.clock import FakeClock
from hub.notices.book import NoticeBook
from hub.storage.database import Database
from hub.storage.outbox import Outbox
from tests.stores import open_db


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    exe = shutil.which("mosquitto") or shutil.which("/usr/sbin/mosquitto")
    if exe is None:
        pytest.fail("mosquitto is not installed")
    port = free_port()
    conf = tmp_path_factory.mktemp("mosquitto") / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "log_dest stderr\nlog_type error\n"
    )
    proc = subprocess.Popen([exe, "-c", str(conf)], stderr=subprocess.PIPE)
    try:
        wait_for_port(port, proc, timeout=5)
        yield Broker("127.0.0.1", port)
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        if proc.stderr:
            proc.stderr.close()


@dataclass
class BookKit:
    db: Database
    outbox: Outbox
    clock: FakeClock
    book: NoticeBook


@pytest.fixture
def kit(tmp_path: Path) -> Iterator[BookKit]:
    db = open_db(tmp_path / "hub.db")
    seed_households(db)
    outbox = Outbox(db)
    clock = FakeClock(START)
    yield BookKit(db, outbox, clock, NoticeBook(db, outbox, clock))
    db.close()
