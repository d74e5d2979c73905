"""Run Mosquitto as a child process: start, wait until it listens, restart if it dies, stop.

The child gets ``PR_SET_PDEATHSIG`` so that it dies with the hub even when the hub is
killed with SIGKILL: the demo and the tests never leave a mosquitto behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from hub.errors import BrokerError

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int,
    proc: subprocess.Popen[bytes] | None = None,
    *,
    host: str = "127.0.0.1",
    timeout: float = 10.0,
    log_path: Path | None = None,
) -> None:
    """Block until ``host:port`` accepts connections; raise with the child's errors if it died."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        if proc is not None and proc.poll() is not None:
            if log_path is not None and log_path.exists():
                err = log_path.read_text(errors="replace")[-2000:]
            else:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise BrokerError(f"mosquitto exited with {proc.returncode}: {err.strip()[:2000]}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        if time.monotonic() > deadline:
            raise BrokerError(f"nothing listens on {host}:{port} after {timeout:.0f} s")
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def _die_with_parent() -> None:
    """Run in the child before exec: receive SIGTERM when the parent dies."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def find_mosquitto(name: str = "mosquitto") -> str:
    """The mosquitto executable, or a BrokerError naming the package to install."""
    for candidate in (name, "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"):
        found = shutil.which(candidate)
        if found:
            return found
    raise BrokerError("mosquitto is not installed: install the Debian package 'mosquitto'")


class BrokerSupervisor:
    """Keeps one Mosquitto child process running on 127.0.0.1.

    Args:
        render: returns the configuration text for a given port.
        workdir: where the configuration file and the broker's log go.
        port: the port to listen on (0 picks a free one, kept across restarts).
    """

    def __init__(
        self,
        render: Callable[[int], str],
        workdir: Path,
        *,
        port: int = 0,
        executable: str = "mosquitto",
    ) -> None:
        self._render = render
        self._workdir = workdir
        self.port = port or free_port()
        self._exe = find_mosquitto(executable)
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopping = False
        self.restarts = 0
        self.log_path = workdir / "mosquitto.log"
        self.ready = asyncio.Event()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> None:
        """Start the broker and wait until it accepts connections (blocking, bounded)."""
        self._workdir.mkdir(parents=True, exist_ok=True)
        conf = self._workdir / "mosquitto.conf"
        conf.write_text(self._render(self.port), encoding="utf-8")
        self._proc = subprocess.Popen(
            [self._exe, "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent,
        )
        try:
            wait_for_port(self.port, self._proc)
        except BrokerError:
            self.stop()
            raise
        logger.info("mosquitto pid %s listening on 127.0.0.1:%s", self._proc.pid, self.port)
        self.ready.set()

    async def watch(self) -> None:
        """Restart the broker with jittered backoff whenever it dies, until cancelled."""
        backoff = 0.5
        while True:
            proc = self._proc
            if proc is None:
                return
            code = await asyncio.to_thread(proc.wait)
            if self._stopping:
                return
            self.ready.clear()
            logger.error("mosquitto exited with %s (log: %s); restarting", code, self.log_path)
            await asyncio.sleep(backoff * random.uniform(0.5, 1.5))
            backoff = min(backoff * 2, 10.0)
            try:
                await asyncio.to_thread(self.start)
                self.restarts += 1
                backoff = 0.5
            except BrokerError:
                logger.exception("mosquitto restart failed")

    def stop(self, timeout: float = 3.0) -> None:
        """Terminate the broker; kill it if it does not stop within ``timeout``."""
        self._stopping = True
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout)
        self.ready.clear()
        logger.info("mosquitto stopped")
