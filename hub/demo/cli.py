"""``hub demo``: the subcommand that runs the whole weekend story on loopback."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from hub.demo import run_demo
from hub.errors import HubError


def register(sub: Any) -> None:
    """Add ``demo`` to the ``hub`` parser."""
    demo = sub.add_parser("demo", help="run the whole demo on loopback (Riverside, 20 households)")
    demo.add_argument("--port", type=int, default=8080, help="HTTP port of the dashboards and API")
    demo.add_argument("--households", type=int, default=20, help="simulated households (at least 3)")
    demo.add_argument("--speed", type=float, default=60.0,
                      help="story minutes per real minute (default 60: one story minute a second)")
    demo.add_argument("--fresh", action=argparse.BooleanOptionalAction, default=True,
                      help="start from an empty demo database (default) or keep the last one")
    demo.set_defaults(func=_demo_command)


def _demo_command(args: argparse.Namespace) -> int:
    try:
        return int(run_demo(port=args.port, households=args.households, fresh=args.fresh, speed=args.speed))
    except HubError as exc:
        print(f"hub: {exc}", file=sys.stderr)
        return 2
