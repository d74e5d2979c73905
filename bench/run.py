#!/usr/bin/env python3
"""The hub's end-to-end benchmark, beside the reference peer, in one run.

Starts Mosquitto with the kit's ``mosquitto.conf`` (loopback only), then for each peer (the
reference ``peers/paho_hub.py`` and ``hub run --bench``) drives ``loadgen.py`` at fixed
rates and as fast as it can, and prints a table: sustained msg/s, p50/p99 latency, CPU %,
CPU µs per message (the figure of merit: (CPU % / 100) x 1e6 / rate), and RSS.

The peer under test is pinned to core 1, the broker and load generator to core 0, as in
the kit's own figures. The benchmark kit lives in ``../shared/bench`` (override with
``BENCH_KIT``). Results go to ``bench/results/latest.json`` and ``latest.md``.

    python bench/run.py        # 10k and 20k msg/s both peers; the hub's ceiling, 2 x it, after; sweeps
    python bench/run.py --repeat 1 --no-overload --no-sweeps    # one quick round, both peers

The paced rates run ``--repeat`` times (default 3, the kit's method: "median of 3 runs of
10 s"), each round starting both peers afresh, one after the other; the table shows each
figure's median over the rounds, and every run is printed as it ends. The overload runs
(ceiling, 2 x it, after) run once, on the hub of the last round.
    python bench/run.py --rates 2000 --seconds 5 --peers hub --no-overload --no-sweeps
    python bench/run.py --profile docs/perf   # also py-spy flame graphs of each hub run
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parent.parent
# ../shared/bench beside the repo (from a worktree in /work/wt/<name>: two levels up).
KIT = Path(os.environ.get("BENCH_KIT") or next(
    (p for p in (ROOT.parent / "shared" / "bench", ROOT.parent.parent / "shared" / "bench") if p.exists()),
    ROOT.parent / "shared" / "bench"))
RESULTS = ROOT / "bench" / "results"
TICK = os.sysconf("SC_CLK_TCK")
PROFILE_DIR: Path | None = None
PROFILE_RATE = 100  # py-spy samples per second


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


API_PORTS: dict[int, int] = {}


def start_peer(name: str, port: int, workdir: Path, round_no: int = 0) -> subprocess.Popen[bytes]:
    """Start one peer; each round's hub starts afresh (its own data folder and MQTT session)."""
    if name == "paho-peer":
        argv = [sys.executable, str(KIT / "peers" / "paho_hub.py"), "--port", str(port), "--nodelay"]
        env = dict(os.environ)
    else:
        argv = [str(Path(sys.executable).parent / "hub"), "--log-level", "WARNING", "run", "--bench"]
        api_port = free_port()
        env = dict(os.environ, HUB_MQTT_URL=f"mqtt://127.0.0.1:{port}", HUB_DATA_DIR=str(workdir / f"hub-{round_no}"),
                   HUB_API_PORT=str(api_port), HUB_MQTT_CLIENT_ID=f"bench-hub-{os.getpid()}-{round_no}")
    with open(workdir / f"{name}.log", "ab") as log:
        proc = subprocess.Popen(pinned(1, argv), env=env, stdout=subprocess.DEVNULL, stderr=log)
    if name == "hub":
        API_PORTS[proc.pid] = api_port
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

    probes: list[float | None] = []  # /readyz answer times (None: no answer in 2 s)
    api_port = API_PORTS.get(peer_pid)

    def probe_ready() -> None:
        end = time.monotonic() + warmup + seconds
        while time.monotonic() < end:
            t0 = time.monotonic()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/readyz", timeout=2) as resp:
                    resp.read()
                probes.append(time.monotonic() - t0)
            except (OSError, urllib.error.URLError):
                probes.append(None)
            time.sleep(0.5)

    sampler = threading.Thread(target=sample)
    sampler.start()
    prober = threading.Thread(target=probe_ready) if api_port else None
    if prober is not None:
        prober.start()
    spies = []
    if PROFILE_DIR is not None and label.startswith("hub"):
        # A flame graph to look at, and the same samples raw for bench/flame_breakdown.py.
        for fmt, suffix in (("flamegraph", "svg"), ("raw", "txt")):
            spies.append(subprocess.Popen(
                pinned(0, [str(Path(sys.executable).parent / "py-spy"), "record", "--nonblocking", "--pid",
                           str(peer_pid), "--duration", str(int(seconds)), "--rate", str(PROFILE_RATE), "--format", fmt,
                           "--output", str(PROFILE_DIR / f"{label}.{suffix}")]),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    subprocess.run(argv, check=True, stderr=subprocess.DEVNULL)
    sampler.join()
    if prober is not None:
        prober.join()
    for spy in spies:
        spy.wait(30)
    result = json.loads(out.read_text())
    # Messages the peer actually handled: the paced rate when it kept up, else its own rate.
    kept_up = rate and result["loss_pct"] < 1.0
    achieved = rate if kept_up else result["hub_msgs_per_s_est"]
    result["cpu_pct"] = samples.get("cpu_pct", 0.0)
    result["rss_mb"] = peak[0]
    result["us_per_msg"] = (result["cpu_pct"] / 100) * 1e6 / achieved if achieved else 0.0
    if probes:
        answered = [p for p in probes if p is not None]
        result["readyz"] = f"{len(answered)}/{len(probes)} answered, slowest {max(answered, default=0) * 1e3:.0f} ms"
    if api_port:
        result["dropped"] = dropped_by_reason(api_port)
    return result


def dropped_by_reason(api_port: int) -> dict[str, float]:
    """The hub's ``hub_ingest_dropped_total`` by reason, from ``/metrics``."""
    with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    found = re.findall(r'^hub_ingest_dropped_total\{reason="([a-z_]+)"\} ([0-9.e+]+)$', text, re.M)
    return {reason: float(value) for reason, value in found}


MEDIAN_OF = ("hub_msgs_per_s_est", "sent_per_s", "loss_pct", "p50_ms", "p99_ms", "cpu_pct", "us_per_msg", "rss_mb")


def median_row(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One row for the runs of one peer and rate: each figure's median, and the runs' count."""
    row = dict(results[-1])
    for key in MEDIAN_OF:
        values = [r[key] for r in results if r.get(key) is not None]
        row[key] = statistics.median(values) if values else None
    row["runs"] = len(results)
    row["us_per_msg_runs"] = [round(r["us_per_msg"], 1) for r in results]
    return row


def phase(r: dict[str, Any]) -> str:
    return {"2x": "2 x ceiling: ", "after": "after: "}.get(str(r["label_rate"]), "")


def table(rows: list[dict[str, Any]]) -> str:
    head = "| peer | rate | handled msg/s | loss % | p50 ms | p99 ms | CPU % | µs/msg | µs/msg of each run | RSS MB |"
    lines = [head, "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        each = ", ".join(f"{v:.1f}" for v in r.get("us_per_msg_runs", [r["us_per_msg"]]))
        lines.append(
            f"| {r['peer']} | {phase(r)}{r['rate'] or 'max'} | {r['hub_msgs_per_s_est']:.0f} | {r['loss_pct']:.2f} | "
            f"{r['p50_ms'] or 0:.1f} | {r['p99_ms'] or 0:.1f} | {r['cpu_pct']:.0f} | {r['us_per_msg']:.1f} | "
            f"{each} | {r['rss_mb']:.0f} |"
        )
    return "\n".join(lines)


def summary(rows: list[dict[str, Any]]) -> str:
    """The issue's figures, one line each (medians when the rates ran several rounds)."""
    by = {(r["peer"], r["label_rate"]): r for r in rows}
    out = []
    hub, ref = by.get(("hub", 10000)), by.get(("paho-peer", 10000))
    if hub and ref and ref["us_per_msg"]:
        rounds = f" (median of {hub.get('runs', 1)} runs each)" if hub.get("runs", 1) > 1 else ""
        out.append(f"- 10k msg/s{rounds}: hub {hub['us_per_msg']:.1f} µs/msg CPU vs peer {ref['us_per_msg']:.1f} "
                   f"= {hub['us_per_msg'] / ref['us_per_msg']:.2f} x; hub p99 {hub['p99_ms'] or 0:.1f} ms, "
                   f"loss {hub['loss_pct']:.2f} %")
    hub20 = by.get(("hub", 20000))
    if hub20:
        ref20 = by.get(("paho-peer", 20000))
        peer = f" (peer: loss {ref20['loss_pct']:.2f} %, p99 {ref20['p99_ms'] or 0:.1f} ms)" if ref20 else ""
        out.append(f"- 20k msg/s: hub loss {hub20['loss_pct']:.2f} %, p99 {hub20['p99_ms'] or 0:.1f} ms{peer}")
    ceiling = by.get(("hub", "max"))
    over = by.get(("hub", "2x"))
    if ceiling and over:
        out.append(f"- ceiling (as fast as possible): {ceiling['hub_msgs_per_s_est']:.0f} msg/s; at 2 x "
                   f"({over['rate']} msg/s asked, {over['sent_per_s']:.0f} sent): handled "
                   f"{over['hub_msgs_per_s_est']:.0f} msg/s, RSS {over['rss_mb']:.0f} MB, "
                   f"/readyz {over.get('readyz', '-')}, dropped by reason {over.get('dropped', {})}")
    after = by.get(("hub", "after"))
    if after:
        out.append(f"- after the burst (2k msg/s): loss {after['loss_pct']:.2f} %, p99 {after['p99_ms'] or 0:.1f} ms")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rates", type=int, nargs="+", default=[10000, 20000], help="paced rates for both peers")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=3, help="rounds of the paced rates; figures are their medians")
    ap.add_argument("--peers", nargs="+", default=["paho-peer", "hub"])
    ap.add_argument("--no-overload", action="store_true", help="skip the hub's ceiling and 2 x ceiling runs")
    ap.add_argument("--no-sweeps", action="store_true", help="skip the household and rule sweeps")
    ap.add_argument("--profile", type=Path, help="record py-spy flame graphs of the hub into this folder")
    ap.add_argument("--profile-rate", type=int, default=100, help="py-spy samples per second (default 100)")
    a = ap.parse_args()
    global PROFILE_DIR, PROFILE_RATE
    PROFILE_RATE = a.profile_rate
    if a.profile is not None:
        a.profile.mkdir(parents=True, exist_ok=True)
        PROFILE_DIR = a.profile
    if not (KIT / "loadgen.py").exists():
        print(f"benchmark kit not found at {KIT} (set BENCH_KIT)", file=sys.stderr)
        return 2
    load_before = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text((KIT / "mosquitto.conf").read_text() + f"\nlistener {port} 127.0.0.1\n")
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    broker = subprocess.Popen(pinned(0, [exe, "-c", str(conf)]), stderr=subprocess.DEVNULL)
    rows: list[dict[str, Any]] = []

    runs: dict[tuple[str, object], list[dict[str, Any]]] = {}

    def one(peer: str, pid: int, rate: int, label_rate: object, round_no: int = 0) -> dict[str, Any]:
        label = f"{peer}-{label_rate}" + (f"-r{round_no + 1}" if round_no else "")  # profiles: hub-10000.svg
        result = run_load(port, rate, a.seconds, workdir, pid, label)
        result.update(peer=peer, rate=rate, label_rate=label_rate)
        runs.setdefault((peer, label_rate), []).append(result)
        print(f"{peer} {label_rate} ({rate or 'max'}) run {round_no + 1}: {result['hub_msgs_per_s_est']:.0f} msg/s, "
              f"loss {result['loss_pct']:.2f} %, p99 {result['p99_ms'] or 0:.1f} ms, "
              f"{result['us_per_msg']:.1f} µs/msg, RSS {result['rss_mb']:.0f} MB", file=sys.stderr)
        return result

    try:
        wait_port(port)
        rounds = max(1, a.repeat)
        for round_no in range(rounds):
            for peer in a.peers:
                proc = start_peer(peer, port, workdir, round_no)
                try:
                    for rate in a.rates:
                        one(peer, proc.pid, rate, rate, round_no)
                    if peer == "hub" and not a.no_overload and round_no == rounds - 1:
                        ceiling = one(peer, proc.pid, 0, "max")["hub_msgs_per_s_est"]
                        # Below 1,000 msg/s the machine starved the hub: drive the overload at 2 x
                        # the load generator's own rate ("max") instead of a meaningless figure.
                        one(peer, proc.pid, int(2 * ceiling) if ceiling >= 1000 else 0, "2x")
                        one(peer, proc.pid, 2000, "after")
                finally:
                    proc.terminate()
                    proc.wait(10)
    finally:
        broker.terminate()
        broker.wait(10)
    rows.extend(median_row(results) for results in runs.values())
    RESULTS.mkdir(parents=True, exist_ok=True)
    load_after = os.getloadavg()
    text = table(rows) + "\n\n" + summary(rows) + "\n"
    text += (f"- machine: {os.cpu_count()} cores, load average {load_before[0]:.1f} before, "
             f"{load_after[0]:.1f} after (1 min)\n")
    if not a.no_sweeps:
        sys.path.insert(0, str(ROOT / "bench"))
        import bench_sweeps

        sweep = bench_sweeps.sweep(20000)
        rows.extend(dict(sweep=True, **r) for r in sweep)
        text += "\n" + bench_sweeps.table(sweep) + "\n"
    (RESULTS / "latest.json").write_text(json.dumps(rows, indent=1))
    (RESULTS / "latest.md").write_text(text)
    print(text)
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
