"""Helpers of the devices tests (imported by the test modules; fixtures are in conftest)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from hub.events import Normalized

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "fixtures" / "corpus"
PROFILES = REPO / "devices"


def corpus(path: str) -> bytes:
    """The bytes of one corpus file, e.g. ``corpus("tasmota/stat_POWER_ON.txt")``."""
    return (CORPUS / path).read_bytes()


def table(result: Normalized) -> dict[tuple[str, str, str | None], tuple[object, str | None,
                                                                          str | None]]:
    """{(device, metric, channel): (value, unit, ts)} of a result's readings."""
    out = {}
    for r in result.readings:
        key = (r.device, r.metric, r.channel)
        assert key not in out, f"duplicate reading {key}"
        out[key] = (r.value, r.unit, r.ts)
    return out


def run_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ``hub normalize ARGS`` as a subprocess of this interpreter."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", "normalize", *args],
        input=stdin, capture_output=True, env=env, timeout=60, check=False,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"mosquitto exited early: {err}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)  # polling a port, not standing in for readiness
    raise TimeoutError(f"mosquitto did not listen on {port} within {timeout}s")


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
