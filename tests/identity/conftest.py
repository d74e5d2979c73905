"""Fixtures: a real Mosquitto with the dynamic security plugin, rendered from mosquitto/."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from identity_probe import (
    ADMIN_USER,
    FAST_PASSWORDS,
    HUB_USER,
    REPO,
    Broker,
    Probe,
    free_port,
    wait_for_port,
)

from hub.clock import SystemClock
from hub.identity.broker_config import init_dynsec, render_config
from hub.identity.dynsec import DynSecAdmin
from hub.identity.service import Identity
from tests.stores import open_db


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(exe).exists():
        pytest.fail("mosquitto is not installed")
    root = tmp_path_factory.mktemp("mosquitto")
    port = free_port()
    admin_password, hub_password = uuid.uuid4().hex, uuid.uuid4().hex
    dynsec_file = root / "dynsec.json"
    init_dynsec(
        dynsec_file, ADMIN_USER, admin_password, hub_user=HUB_USER, hub_password=hub_password
    )
    conf = root / "mosquitto.conf"
    conf.write_text(
        render_config(
            REPO / "mosquitto" / "mosquitto.conf",
            port=port,
            data_dir=root / "data",
            dynsec_file=dynsec_file,
        )
    )
    log = root / "mosquitto.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([exe, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc, log, timeout=10)
        yield Broker("127.0.0.1", port, admin_password, hub_password, log, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture(scope="session")
def dynsec(broker: Broker) -> Iterator[DynSecAdmin]:
    with DynSecAdmin(broker.host, broker.port, ADMIN_USER, broker.admin_password) as admin:
        yield admin


_ids = itertools.count()


@pytest.fixture
def uid() -> str:
    """A short unique prefix so that tests sharing the broker never share a topic."""
    return f"t{next(_ids)}{uuid.uuid4().hex[:5]}"


@pytest.fixture
def identity(tmp_path: Path, dynsec: DynSecAdmin) -> Iterator[Identity]:
    db = open_db(tmp_path / "hub.db")
    yield Identity(
        db, dynsec, SystemClock(), "test-secret-" + uuid.uuid4().hex, passwords=FAST_PASSWORDS
    )
    db.close()


@pytest.fixture
def probes(broker: Broker) -> Iterator[Any]:
    made: list[Probe] = []

    def make(
        username: str | None, password: str | None, client_id: str | None = None, *, v5: bool = True
    ) -> Probe:
        probe = Probe(broker, username, password, client_id or username or "anon", v5=v5)
        made.append(probe)
        return probe

    yield make
    for probe in made:
        probe.close()


@pytest.fixture
def hub_probe(broker: Broker, probes: Any, uid: str) -> Probe:
    """The hub's own account, reading every household's tree (unpinned id is refused)."""
    probe: Probe = probes(HUB_USER, broker.hub_password, HUB_USER)
    assert str(probe.connect()) == "Success"
    return probe
