"""``hub run``: run the service until a signal stops it (``hub demo`` builds on it).

SIGINT and SIGTERM stop the hub (within 5 s, broker included); SIGHUP reloads the rule
packs without a restart.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import Any

from hub.config import Settings, load_settings
from hub.errors import HubError
from hub.service import Hub

logger = logging.getLogger(__name__)


def register(sub: Any) -> None:
    """Add ``run`` to the ``hub`` parser."""
    run = sub.add_parser("run", help="run the hub from settings (HUB_* environment variables)")
    run.add_argument(
        "--bench",
        action="store_true",
        help="benchmark mode: the broker of HUB_MQTT_URL, the bench device profile and rule pack",
    )
    run.set_defaults(func=_run_command)


def _run_command(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(bench=True) if args.bench else load_settings()
        if args.bench and settings.mqtt_url is None:
            raise HubError("hub run --bench needs HUB_MQTT_URL (the benchmark's broker)")
        if not args.bench:
            settings.require_secret()
    except HubError as exc:
        print(f"hub: {exc}", file=sys.stderr)
        return 2
    return run_until_signal(settings)


def run_until_signal(settings: Settings, *, clock: Any = None, after_ready: Any = None) -> int:
    """Run a hub until SIGINT/SIGTERM; ``after_ready(hub, stop)`` is awaited once it is ready."""
    async def main() -> int:
        hub = Hub(settings, clock=clock)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGHUP, hub.reload_rules)
        runner = asyncio.create_task(hub.run(stop), name="hub")
        ready = asyncio.create_task(hub.ready.wait())
        await asyncio.wait({runner, ready}, return_when=asyncio.FIRST_COMPLETED)
        if runner.done():
            ready.cancel()
            runner.result()
            return 1
        if after_ready is not None:
            try:
                await after_ready(hub, stop)
            except Exception:
                logger.exception("demo start-up failed")
                stop.set()
        await runner
        return 0

    try:
        return asyncio.run(main())
    except HubError as exc:
        print(f"hub: {exc}", file=sys.stderr)
        return 2
