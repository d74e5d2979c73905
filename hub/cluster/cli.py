"""``hub status``: which worker holds which share (read from the shared store).

    $ hub status
    shares: 16, workers alive: 3
    worker w1  http://127.0.0.1:8081  shares 0 3 6 9 12 15
    ...

``--json`` prints the same as one JSON object. Without ``HUB_SHARES`` the hub is one worker:
it says so.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from hub.cluster.leases import Leases
from hub.config import load_settings
from hub.errors import HubError
from hub.storage.factory import open_database


def register(sub: Any) -> None:
    """Add ``status`` to the ``hub`` parser."""
    status = sub.add_parser("status", help="which partitioned worker holds which share (HUB_SHARES)")
    status.add_argument("--json", action="store_true", help="one JSON object instead of text")
    status.set_defaults(func=_status_command)


def cluster_view(leases: Leases, now: float) -> dict[str, Any]:
    """Shares by worker, the unheld ones, and the live workers (with their API)."""
    held: dict[str, list[int]] = {}
    unheld: list[int] = []
    for lease in leases.table():
        if lease.worker and lease.expires_at > now:
            held.setdefault(lease.worker, []).append(lease.share)
        else:
            unheld.append(lease.share)
    workers = leases.workers(now)
    for w in workers:
        w["shares"] = held.get(str(w["id"]), [])
    return {"shares": leases.shares, "workers": workers, "held": held, "unheld": unheld}


def _status_command(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
        if not settings.shares:
            print("one worker: HUB_SHARES is not set, the households are not partitioned")
            return 0
        if not settings.database_url:
            raise HubError("HUB_SHARES needs PostgreSQL (HUB_DATABASE_URL)")
        db = open_database(settings, pool_size=2)
    except HubError as exc:
        print(f"hub: {exc}", file=sys.stderr)
        return 2
    try:
        view = cluster_view(Leases(db, settings.shares), time.time())
    finally:
        db.close()
    if args.json:
        print(json.dumps(view))
        return 0
    print(f"shares: {view['shares']}, workers alive: {len(view['workers'])}")
    for w in view["workers"]:
        shares = " ".join(str(k) for k in w["shares"]) or "(none)"
        print(f"worker {w['id']}  {w['api'] or '-'}  shares {shares}")
    for worker, shares in view["held"].items():
        if worker not in {w["id"] for w in view["workers"]}:
            print(f"worker {worker} (not renewing)  shares {' '.join(map(str, shares))}")
    if view["unheld"]:
        print(f"unheld: {' '.join(str(k) for k in view['unheld'])}")
    return 0
