#!/usr/bin/env python3
"""HTTP speed of the running demo beside a bare FastAPI route (``make bench-http``).

Starts ``hub demo`` (its own broker, data and story, in a temporary directory) and
``bench/bare_app.py`` under the same uvicorn, both on 127.0.0.1 pinned to one core, with
``wrk`` on the other. Logs every demo household in, then for ``/healthz`` and every
household read runs ``wrk`` with 32 connections, the households' tokens in turn, three
times on the hub interleaved with three runs on the bare route (the machine may be shared:
medians of interleaved runs seconds apart are what can be compared). Prints one JSON object
per route: the medians of requests/s on both, their ratio, p50 and p99 in ms, and errors
(socket errors and non-2xx answers, all runs).
Then 64 connections mixing those reads with idempotent writes (replayed
``Idempotency-Key`` POSTs) report dropped connections, which must be 0.

Figures only; correctness under the same load is ``tests/reliability/test_row31_*``.

    python bench/bench_http.py                 # 3 runs of 3 s per route and server
    python bench/bench_http.py --seconds 3 --routes /me /suggestions
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

#: The household reads (GET, no id in the path); ``{h}`` is the caller's household.
HOUSEHOLD_READS = [
    "/me", "/suggestions", "/calendar", "/bookings", "/gatherings", "/rides", "/grocery/slots",
    "/consents", "/consents/audit", "/households/{h}/notices", "/communities/riverside/notices",
    "/ratings/verify", "/timebank/balance", "/timebank/transfers", "/timebank/statement",
    "/timebank/skills", "/projects", "/things", "/loans", "/swaps", "/wanted",
]
TARGETS = {"healthz": 0.6, "read": 0.3, "p99_ms": 50.0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(core: int, argv: list[str]) -> list[str]:
    """``argv`` pinned to one core, when the machine has several and taskset exists."""
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", str(core), *argv]
    return argv


def http(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_ready(url: str, timeout: float, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {proc.returncode}")
        try:
            if http("GET", url)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout:.0f} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- wrk --------------------------------------------------------------------------------

def lua_script(items: list[dict[str, Any]]) -> str:
    """A wrk script sending ``items`` (method, path, token, key, body) in turn."""
    lines = ["local items = {"]
    for it in items:
        headers = {"Authorization": f"Bearer {it['token']}"} if it.get("token") else {}
        if it.get("key"):
            headers["Idempotency-Key"] = it["key"]
        if it.get("body") is not None:
            headers["Content-Type"] = "application/json"
        hdr = ", ".join(f'["{k}"] = {json.dumps(v)}' for k, v in headers.items())
        body = json.dumps(json.dumps(it["body"])) if it.get("body") is not None else "nil"
        lines.append(f'  {{"{it.get("method", "GET")}", {json.dumps(it["path"])}, {{{hdr}}}, {body}}},')
    lines += [
        "}",
        "local i = 0",
        "function setup(thread) end",
        "function init(args) i = math.random(#items) end",
        "function request()",
        "  i = i % #items + 1",
        "  local it = items[i]",
        "  return wrk.format(it[1], it[2], it[3], it[4])",
        "end",
    ]
    return "\n".join(lines) + "\n"


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError(f"not a wrk latency: {text}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[m.group(2)]
    return round(float(m.group(1)) * scale, 2)


def parse_wrk(out: str) -> dict[str, Any]:
    """Requests/s, p50/p99 (ms), socket errors and non-2xx answers from wrk's report."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    pct = {m.group(1): _ms(m.group(2)) for m in re.finditer(r"^\s+(\d+)%\s+(\S+)", out, re.M)}
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    connect, read, write, timeout = (int(g) for g in sock.groups()) if sock else (0, 0, 0, 0)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    return {
        "rps": round(rps, 1), "p50_ms": pct.get("50"), "p99_ms": pct.get("99"),
        "requests": int(total.group(1)) if total else None,
        "dropped": connect + read + write, "timeouts": timeout,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
    }


def run_wrk(url: str, script: Path, connections: int, seconds: int, threads: int = 1
            ) -> dict[str, Any]:
    argv = pinned(0, ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
                      "--timeout", "5s", "-s", str(script), url])
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    return parse_wrk(done.stdout)


# -- the run ----------------------------------------------------------------------------

def start_demo(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {"PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    log = (workdir / "demo.log").open("wb")
    return subprocess.Popen(pinned(1, [str(BIN / "hub"), "demo", "--port", str(port)]),
                            cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)


def start_bare(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    log = (workdir / "bare.log").open("wb")
    return subprocess.Popen(pinned(1, [str(BIN / "python"), "-m", "uvicorn", "--app-dir",
                                       str(ROOT / "bench"), "bare_app:app", "--host",
                                       "127.0.0.1", "--port", str(port), "--no-access-log",
                                       "--log-level", "warning"]),
                            cwd=workdir, stdout=log, stderr=subprocess.STDOUT)


def logins(api: str, workdir: Path, timeout: float = 120.0) -> dict[str, str]:
    """household id → a session token, for every household of the demo."""
    path = workdir / "var" / "demo" / "credentials.json"
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the demo wrote no credentials.json")
        time.sleep(0.2)
    creds = json.loads(path.read_text())
    tokens = {}
    for household, c in creds["households"].items():
        status, body = http("POST", f"{api}/auth/login",
                            {"username": c["username"], "password": c["password"]})
        if status != 200:
            raise RuntimeError(f"login of {household}: {status} {body!r}")
        tokens[household] = body["access_token"]
    return tokens


def write_items(tokens: dict[str, str]) -> list[dict[str, Any]]:
    """Idempotent writes: each household's POSTs with a fixed key (the first runs, the rest
    replay its answer)."""
    day = (datetime.now(UTC) + timedelta(days=2)).replace(hour=18, minute=0, second=0, microsecond=0)
    items = []
    for h, token in list(tokens.items())[:8]:
        items.append({"method": "POST", "path": "/gatherings", "token": token,
                      "key": f"bench-gathering-{h}",
                      "body": {"title": f"Bench supper of {h}", "starts_at": day.isoformat(),
                               "capacity": 6, "place": {"label": "Lake Pier", "lat": 52.1304, "lon": 5.0}}})
        items.append({"method": "POST", "path": "/rides", "token": token, "key": f"bench-ride-{h}",
                      "body": {"destination": {"label": "Lake Pier", "lat": 52.1304, "lon": 5.0},
                               "depart_earliest": (day - timedelta(hours=1)).isoformat(),
                               "seats": 2}})
    return items


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=3, help="length of each wrk run")
    ap.add_argument("--rounds", type=int, default=3,
                    help="runs per route on each server, interleaved (medians are reported)")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--mixed-connections", type=int, default=64)
    ap.add_argument("--routes", nargs="*", default=None, help="household reads to run (default: all)")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        print("bench_http: wrk is missing (make bench-http installs it)", file=sys.stderr)
        return 2
    reads = args.routes or HOUSEHOLD_READS
    workdir = Path(tempfile.mkdtemp(prefix="bench-http-"))
    hub_port, bare_port = free_port(), free_port()
    demo, bare = start_demo(workdir, hub_port), start_bare(workdir, bare_port)
    api, bare_api = f"http://127.0.0.1:{hub_port}", f"http://127.0.0.1:{bare_port}"
    results: list[dict[str, Any]] = []
    try:
        wait_ready(f"{bare_api}/healthz", 30, bare)
        wait_ready(f"{api}/healthz", 120, demo)
        tokens = logins(api, workdir)
        bare_script = workdir / "bare.lua"
        bare_script.write_text(lua_script([{"path": "/healthz"}]))

        def measure(route: str, items: list[dict[str, Any]]) -> None:
            script = workdir / f"r{len(results)}.lua"
            script.write_text(lua_script(items))
            hub_runs, bare_runs = [], []
            for _ in range(args.rounds):  # interleaved, so that both see the same machine
                hub_runs.append(run_wrk(api, script, args.connections, args.seconds))
                bare_runs.append(run_wrk(bare_api, bare_script, args.connections, args.seconds))
            rps, bare_rps = median(r["rps"] for r in hub_runs), median(r["rps"] for r in bare_runs)
            row = {"route": route, "connections": args.connections, "rps": round(rps, 1),
                   "bare_rps": round(bare_rps, 1), "ratio": round(rps / bare_rps, 2) if bare_rps else None,
                   "p50_ms": median(r["p50_ms"] for r in hub_runs),
                   "p99_ms": median(r["p99_ms"] for r in hub_runs),
                   "errors": sum(r["dropped"] + r["timeouts"] + r["non_2xx"] for r in hub_runs)}
            results.append(row)
            print(json.dumps(row), flush=True)

        measure("/healthz", [{"path": "/healthz"}])
        for route in reads:
            measure(route, [{"path": route.format(h=h), "token": t} for h, t in tokens.items()])

        reads_items = [{"path": r.format(h=h), "token": t} for r in reads for h, t in tokens.items()]
        writes = write_items(tokens)
        for w in writes:  # the first run of each write, so that the mixed run replays them
            status, body = http(w["method"], api + w["path"], w["body"], w["token"])
            if status != 200:
                raise RuntimeError(f"{w['path']}: {status} {body!r}")
        mixed = reads_items + writes * max(1, len(reads_items) // (4 * len(writes)))
        script = workdir / "mixed.lua"
        script.write_text(lua_script(mixed))
        run = run_wrk(api, script, args.mixed_connections, args.seconds * args.rounds, threads=2)
        row = {"run": "mixed", "connections": args.mixed_connections,
               "writes_share": round((len(mixed) - len(reads_items)) / len(mixed), 2), **run}
        results.append(row)
        print(json.dumps(row), flush=True)
    finally:
        stop(demo)
        stop(bare)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "http-latest.json").write_text(json.dumps(results, indent=1) + "\n")
    print(markdown(results), file=sys.stderr)
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


def markdown(results: list[dict[str, Any]]) -> str:
    """The README's table."""
    lines = ["| route | req/s | bare req/s | ratio | p50 ms | p99 ms | errors |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        if "route" in r:
            lines.append(f"| `{r['route']}` | {r['rps']:.0f} | {r['bare_rps']:.0f} | {r['ratio']:.2f} |"
                         f" {r['p50_ms']} | {r['p99_ms']} | {r['errors']} |")
        else:
            lines.append(f"| mixed, {r['connections']} clients ({r['writes_share']:.0%} writes) |"
                         f" {r['rps']:.0f} | | | {r['p50_ms']} | {r['p99_ms']} |"
                         f" {r['dropped']} dropped, {r['timeouts']} timeouts, {r['non_2xx']} non-2xx |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
