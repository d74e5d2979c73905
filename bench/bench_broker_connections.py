#!/usr/bin/env python3
"""Mosquitto's memory per idle MQTT connection: connections per GB of broker RSS.

Starts a loopback Mosquitto (the plain test configuration, or with ``--dynsec`` the hub's
production template with dynamic security and one login per connection), opens idle MQTT
3.1.1 connections in steps from one small asyncio script (raw sockets, no client library,
keepalive 0), each subscribed to its own ``home/<i>/hub/#`` like a device gateway, and
reads the broker's VmRSS from /proc after each step. Bounded: at most 10,000 connections,
everything on 127.0.0.1, the broker stopped by its pid at the end.

    .venv/bin/python bench/bench_broker_connections.py [--steps 1000 2000 4000] [--dynsec]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import secrets
import subprocess
import tempfile
import time
from pathlib import Path

from hub.broker.config import render_plain_config
from hub.broker.supervisor import find_mosquitto, free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent


def _string(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(2, "big") + raw


def _packet(kind: int, body: bytes) -> bytes:
    n, length = len(body), bytearray()
    while True:
        byte, n = n % 128, n // 128
        length.append(byte | (0x80 if n else 0))
        if not n:
            break
    return bytes([kind]) + bytes(length) + body


def connect_packet(client_id: str, username: str | None, password: str | None) -> bytes:
    flags = 0x02 | (0xC0 if username else 0)  # clean session (+ username and password)
    body = _string("MQTT") + bytes([4, flags]) + (0).to_bytes(2, "big") + _string(client_id)
    if username and password:
        body += _string(username) + _string(password)
    return _packet(0x10, body)


def subscribe_packet(topic: str) -> bytes:
    return _packet(0x82, (1).to_bytes(2, "big") + _string(topic) + b"\x01")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def open_one(port: int, i: int, logins: dict[int, str] | None) -> asyncio.StreamWriter:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    user = f"gw-h{i}" if logins is not None else None
    writer.write(connect_packet(user or f"idle-{i}", user, logins[i] if logins else None))
    ack = await reader.readexactly(4)
    if ack[3] != 0:
        raise RuntimeError(f"connection {i} refused: CONNACK code {ack[3]}")
    writer.write(subscribe_packet(f"home/h{i}/hub/#"))
    suback = await reader.readexactly(5)
    if suback[0] != 0x90 or suback[4] > 2:
        raise RuntimeError(f"connection {i}: subscription refused ({suback.hex()})")
    return writer


def provision_time(port: int, logins: int, count: int = 20) -> None:
    """Time ``count`` createClient commands on a broker that holds ``logins`` logins."""
    from hub.identity.dynsec import DynSecAdmin

    with DynSecAdmin("127.0.0.1", port, "hub-admin", ADMIN_PASSWORD, timeout=60) as admin:
        started = time.monotonic()
        for i in range(count):
            admin.create_client(f"gw-new{i}", secrets.token_urlsafe(16))
        took = time.monotonic() - started
    print(f"provisioning with {logins} logins held: {took * 1000 / count:.1f} ms per createClient"
          f" (the plugin saves its whole file after each)")


def _raise_nofile(limit: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, limit), hard), hard))


ADMIN_PASSWORD = secrets.token_urlsafe(16)


def start_broker(folder: Path, dynsec_logins: int) -> tuple[subprocess.Popen[bytes], int, dict[int, str] | None]:
    port = free_port()
    logins: dict[int, str] | None = None
    if dynsec_logins:
        from hub.identity import acl
        from hub.identity.broker_config import init_dynsec, render_config, seed_accounts

        dynsec_file = folder / "dynsec.json"
        init_dynsec(dynsec_file, "hub-admin", ADMIN_PASSWORD)
        logins = {i: secrets.token_urlsafe(16) for i in range(dynsec_logins)}
        seed_accounts(dynsec_file, [acl.household_role(f"h{i}") for i in logins],
                      [(f"gw-h{i}", pw, f"household-h{i}") for i, pw in logins.items()])
        conf = render_config(ROOT / "mosquitto" / "mosquitto.conf", port=port,
                             data_dir=folder / "data", dynsec_file=dynsec_file)
    else:
        conf = render_plain_config(port)
    (folder / "mosquitto.conf").write_text(conf)
    log = folder / "mosquitto.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([find_mosquitto(), "-c", str(folder / "mosquitto.conf")],
                                stdout=out, stderr=subprocess.STDOUT,
                                preexec_fn=lambda: _raise_nofile(12_000))
    wait_for_port(port, proc, timeout=30, log_path=log)
    return proc, port, logins


async def measure(steps: list[int], dynsec: bool) -> None:
    _raise_nofile(12_000)
    with tempfile.TemporaryDirectory() as tmp:
        proc, port, logins = start_broker(Path(tmp), max(steps) if dynsec else 0)
        writers: list[asyncio.StreamWriter] = []
        try:
            if dynsec:  # before the connections: paho's select() cannot take fds past 1024
                provision_time(port, max(steps))
            base = rss_kb(proc.pid)
            print(f"mosquitto pid {proc.pid}, {'dynsec' if dynsec else 'plain'} config,"
                  f" RSS with no client: {base / 1024:.1f} MB")
            print("| connections | broker RSS MB | KB per connection (from 0) | seconds to open the step |")
            print("|---|---|---|---|")
            gate = asyncio.Semaphore(100)

            async def one(i: int) -> asyncio.StreamWriter:
                async with gate:
                    return await open_one(port, i, logins)

            for target in steps:
                started = time.monotonic()
                writers += await asyncio.gather(*(one(i) for i in range(len(writers), target)))
                took = time.monotonic() - started
                rss = rss_kb(proc.pid)
                per = (rss - base) / target
                print(f"| {target} | {rss / 1024:.1f} | {per:.1f} | {took:.1f} |")
            final = rss_kb(proc.pid)
            per_kb = max(final - base, 1) / len(writers)
            print(f"growth from the started broker: {per_kb:.1f} KB per connection,"
                  f" {1024 * 1024 / per_kb:,.0f} connections per GB")
            # With --dynsec the started broker already holds every login (and the heap its
            # JSON parse freed, which the connections then reuse): the all-in figure counts
            # the whole broker per connected household.
            all_in = final / len(writers)
            print(f"all in (broker RSS / connections): {all_in:.1f} KB per connection,"
                  f" {1024 * 1024 / all_in:,.0f} connections per GB")
        finally:
            for w in writers:
                w.close()
            proc.terminate()
            proc.wait(timeout=20)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, nargs="+", default=[1000, 2000, 4000])
    ap.add_argument("--dynsec", action="store_true", help="production template, one login each")
    a = ap.parse_args()
    if sorted(a.steps) != a.steps or a.steps[0] < 1 or a.steps[-1] > 10_000:
        ap.error("--steps: increasing, at most 10000")
    asyncio.run(measure(a.steps, a.dynsec))


if __name__ == "__main__":
    main()
