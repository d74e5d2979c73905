"""Fixtures of the devices tests: a normalizer and a real Mosquitto broker."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from devices_helpers import PROFILES, Broker, free_port, wait_for_port

from hub.devices import Normalizer


@pytest.fixture
def normalizer() -> Normalizer:
    return Normalizer(PROFILES)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A real Mosquitto on a free loopback port, for this test session."""
    exe = "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else "mosquitto"
    port = free_port()
    conf = tmp_path_factory.mktemp("mosquitto") / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "log_dest stderr\nlog_type error\n"
    )
    proc = subprocess.Popen([exe, "-c", str(conf)], stderr=subprocess.PIPE)
    try:
        wait_for_port(port, proc, timeout=10)
        yield Broker("127.0.0.1", port)
    finally:
        proc.terminate()
        proc.wait(timeout=5)
