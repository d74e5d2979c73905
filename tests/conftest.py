"""Fixtures shared by the whole suite: a real Mosquitto, unique topics, leak checks."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hub.broker.config import render_plain_config
from hub.broker.supervisor import free_port, wait_for_port
from tests import stores
from tests.pg_server import PgServer, start_postgres
from tests.pg_server import remove as remove_pg


@dataclass(frozen=True)
class Broker:
    """A running Mosquitto on loopback."""

    host: str
    port: int
    pid: int


def start_mosquitto(conf_text: str, conf_dir: Path) -> subprocess.Popen[bytes]:
    """Start mosquitto with ``conf_text``; the caller stops it by pid."""
    exe = shutil.which("mosquitto") or shutil.which("/usr/sbin/mosquitto")
    if exe is None:
        pytest.fail("mosquitto is not installed: run make setup")
    conf = conf_dir / "mosquitto.conf"
    conf.write_text(conf_text)
    return subprocess.Popen([exe, "-c", str(conf)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
    if proc.stderr:
        proc.stderr.close()


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """One real, anonymous Mosquitto for the session, on a free loopback port."""
    port = free_port()
    proc = start_mosquitto(render_plain_config(port), tmp_path_factory.mktemp("mosquitto"))
    try:
        wait_for_port(port, proc, timeout=10)
        yield Broker("127.0.0.1", port, proc.pid)
    finally:
        stop_process(proc)


@pytest.fixture
def topic_prefix() -> str:
    """A topic prefix no other test uses."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def household() -> str:
    """A household id no other test uses."""
    return f"h{uuid.uuid4().hex[:10]}"


_ALLOWED_LINGERING = ("asyncio_", "ThreadPoolExecutor", "pytest_timeout", "Dummy-")


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves a thread of its own running."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 3.0
    while True:
        leaked = [
            t for t in threading.enumerate()
            if t not in before and t.is_alive() and not t.name.startswith(_ALLOWED_LINGERING)
        ]
        if not leaked or time.monotonic() > deadline:
            break
        leaked[0].join(0.1)
    assert not leaked, f"threads left running: {[t.name for t in leaked]}"


# -- the store: SQLite by default, PostgreSQL with --store=postgresql ---------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store", choices=["sqlite", "postgresql"], default=os.environ.get("HUB_TEST_STORE", "sqlite"),
        help="run the store-touching tests on SQLite files or on a throwaway PostgreSQL",
    )


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One throwaway PostgreSQL for the session (tests/pg_server.py), stopped by its pid."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()
        remove_pg(server)


@pytest.fixture(scope="session", autouse=True)
def _store_for_session(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.config.getoption("--store") == "postgresql":
        stores.use_server(request.getfixturevalue("pg_server"))
    yield
    stores.close_opened()
    stores.use_server(None)


@pytest.fixture(autouse=True)
def _fresh_store(monkeypatch: pytest.MonkeyPatch, _no_leaked_threads: None) -> Iterator[None]:
    """On PostgreSQL each test gets a fresh database (set up before the leak check ends)."""
    if stores.on_postgresql():
        assert stores._State.server is not None
        monkeypatch.setenv("HUB_DATABASE_URL", stores._State.server.new_database())
    since = stores.mark()
    yield
    stores.close_opened(since)
