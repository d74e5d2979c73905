#!/usr/bin/env python3
"""The hub's end-to-end benchmark, beside the reference peer, in one run.

Starts Mosquitto with the kit's ``mosquitto.conf`` (loopback only), then for each peer (the
reference ``peers/paho_hub.py`` and ``hub run --bench``) drives ``loadgen.py`` at fixed
rates and as fast as it can, and prints a table: sustained msg/s, p50/p99 latency, CPU %,
CPU µs per message (the figure of merit: (CPU % / 100) x 1e6 / rate), and RSS.

The peer under test is pinned to core 1, the broker and load generator to core 0, as in
the kit's own figures. The benchmark kit lives in ``../shared/bench`` (override with
``BENCH_KIT``). Results go to ``bench/results/latest.json`` and ``latest.md``.

    python bench/run.py                       # 2k, 10k, 20k msg/s and overload, 10 s each
    python bench/run.py --rates 2000 --seconds 5 --peers hub
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parent.parent
KIT = Path(os.environ.get("BENCH_KIT", ROOT.parent / "shared" / "bench"))
RESULTS = ROOT / "bench" / "results"
TICK = os.sysconf("SC_CLK_TCK")
PROFILE_DIR: Path | None = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on {port}")


def pinned(core: int, argv: list[str]) -> list[str]:
    """``argv`` pinned to one core, when the machine has several and taskset exists."""
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str(core), *argv]
    return argv


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def probe_offer(port: int, timeout: float = 20.0) -> None:
    """Publish a trigger until an offer comes back: the peer is subscribed and working."""
    got = threading.Event()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-probe-{os.getpid()}")
    c.on_message = lambda *_a: got.set()
    c.connect("127.0.0.1", port)
    c.subscribe("offers/grocery/#")
    c.loop_start()
    payload = ('{"device":"fridge-0","household":"h0","items":{"milk":{"qty":0.1,"unit":"l"}},'
               '"door_open":false,"temp_c":4.0,"ts":%f,"seq":0}')
    deadline = time.monotonic() + timeout
    try:
        while not got.is_set():
            if time.monotonic() > deadline:
                raise RuntimeError("the peer never answered a trigger")
            c.publish("home/h0/fridge-0/telemetry", payload % 1.0)
            got.wait(0.5)
    finally:
        c.loop_stop()
        c.disconnect()


def start_peer(name: str, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    if name == "paho-peer":
        argv = [sys.executable, str(KIT / "peers" / "paho_hub.py"), "--port", str(port), "--nodelay"]
        env = dict(os.environ)
    else:
        argv = [str(Path(sys.executable).parent / "hub"), "--log-level", "WARNING", "run", "--bench"]
        env = dict(os.environ, HUB_MQTT_URL=f"mqtt://127.0.0.1:{port}", HUB_DATA_DIR=str(workdir / "hub"),
                   HUB_API_PORT=str(free_port()), HUB_MQTT_CLIENT_ID=f"bench-hub-{os.getpid()}")
    with open(workdir / f"{name}.log", "wb") as log:
        proc = subprocess.Popen(pinned(1, argv), env=env, stdout=subprocess.DEVNULL, stderr=log)
    probe_offer(port)
    return proc


def run_load(port: int, rate: int, seconds: float, workdir: Path, peer_pid: int, label: str) -> dict[str, float]:
    out = workdir / f"{label}.json"
    argv = pinned(0, [sys.executable, str(KIT / "loadgen.py"), "--port", str(port), "--rate", str(rate),
                      "--seconds", str(seconds), "--json", str(out), "--label", label])
    warmup = 1.0
    samples: dict[str, float] = {}
    peak = [0.0]

    def sample() -> None:
        time.sleep(0.3 + warmup + 0.5)
        c0, t0 = cpu_seconds(peer_pid), time.monotonic()
        end = t0 + max(seconds - 1.0, 1.0)
        while time.monotonic() < end:
            peak[0] = max(peak[0], rss_mb(peer_pid))
            time.sleep(0.1)
        samples["cpu_pct"] = 100 * (cpu_seconds(peer_pid) - c0) / (time.monotonic() - t0)

    sampler = threading.Thread(target=sample)
    sampler.start()
    spy = None
    if PROFILE_DIR is not None and label.startswith("hub"):
        spy = subprocess.Popen(pinned(0, [str(Path(sys.executable).parent / "py-spy"), "record", "--nonblocking",
                                          "--pid", str(peer_pid), "--duration", str(int(seconds)), "--rate", "250",
                                          "--output", str(PROFILE_DIR / f"{label}.svg")]),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(argv, check=True, stderr=subprocess.DEVNULL)
    sampler.join()
    if spy is not None:
        spy.wait(30)
    result = json.loads(out.read_text())
    # Messages the peer actually handled: the paced rate when it kept up, else its own rate.
    kept_up = rate and result["loss_pct"] < 1.0
    achieved = rate if kept_up else result["hub_msgs_per_s_est"]
    result["cpu_pct"] = samples.get("cpu_pct", 0.0)
    result["rss_mb"] = peak[0]
    result["us_per_msg"] = (result["cpu_pct"] / 100) * 1e6 / achieved if achieved else 0.0
    return result


def table(rows: list[dict[str, object]]) -> str:
    head = "| peer | rate | handled msg/s | loss % | p50 ms | p99 ms | CPU % | µs/msg | RSS MB |"
    lines = [head, "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['peer']} | {r['rate'] or 'max'} | {r['hub_msgs_per_s_est']:.0f} | {r['loss_pct']:.2f} | "
            f"{r['p50_ms'] or 0:.1f} | {r['p99_ms'] or 0:.1f} | {r['cpu_pct']:.0f} | {r['us_per_msg']:.1f} | "
            f"{r['rss_mb']:.0f} |"
        )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rates", type=int, nargs="+", default=[2000, 10000, 20000, 0], help="0 = as fast as possible")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--peers", nargs="+", default=["paho-peer", "hub"])
    ap.add_argument("--profile", type=Path, help="record py-spy flame graphs of the hub into this folder")
    a = ap.parse_args()
    global PROFILE_DIR
    if a.profile is not None:
        a.profile.mkdir(parents=True, exist_ok=True)
        PROFILE_DIR = a.profile
    if not (KIT / "loadgen.py").exists():
        print(f"benchmark kit not found at {KIT} (set BENCH_KIT)", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text((KIT / "mosquitto.conf").read_text() + f"\nlistener {port} 127.0.0.1\n")
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    broker = subprocess.Popen(pinned(0, [exe, "-c", str(conf)]), stderr=subprocess.DEVNULL)
    rows: list[dict[str, object]] = []
    try:
        wait_port(port)
        for peer in a.peers:
            proc = start_peer(peer, port, workdir)
            try:
                for rate in a.rates:
                    result = run_load(port, rate, a.seconds, workdir, proc.pid, f"{peer}-{rate}")
                    result["peer"] = peer
                    result["rate"] = rate
                    rows.append(result)
                    print(f"{peer} rate {rate or 'max'}: {result['hub_msgs_per_s_est']:.0f} msg/s, "
                          f"p99 {result['p99_ms'] or 0:.1f} ms, {result['us_per_msg']:.1f} µs/msg, "
                          f"RSS {result['rss_mb']:.0f} MB", file=sys.stderr)
            finally:
                proc.terminate()
                proc.wait(10)
    finally:
        broker.terminate()
        broker.wait(10)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(rows, indent=1))
    text = table(rows)
    by = {(r["peer"], r["rate"]): r for r in rows}
    ratios = []
    for rate in a.rates:
        hub, ref = by.get(("hub", rate)), by.get(("paho-peer", rate))
        if hub and ref and ref["us_per_msg"]:
            ratios.append(f"- at {rate or 'max'} msg/s: hub CPU per message = "
                          f"{hub['us_per_msg'] / ref['us_per_msg']:.2f} x the reference peer's")  # type: ignore[operator]
    text += "\n\n" + "\n".join(ratios) + "\n"
    (RESULTS / "latest.md").write_text(text)
    print(text)
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
