"""The ``hub`` command line (CONTRACTS.md, "Command line").

Each stage of the flow contributes its own subcommands through a ``register(subparsers)``
function in its ``cli`` module, so this file only wires them together.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from hub import __version__


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every subpackage's subcommands."""
    from hub.cluster import cli as cluster_cli
    from hub.demo import cli as demo_cli
    from hub.devices import cli as devices_cli
    from hub.identity import cli as identity_cli
    from hub.ledger import cli as ledger_cli
    from hub.notices import cli as notices_cli
    from hub.rules import cli as rules_cli
    from hub.runner import register as runner_register
    from hub.storage import cli as storage_cli
    from hub.trust import cli as trust_cli

    parser = argparse.ArgumentParser(prog="hub", description="The community hub.")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    sub = parser.add_subparsers(dest="command", required=True)
    version = sub.add_parser("version", help="print the version")
    version.set_defaults(func=lambda _args: print(__version__) or 0)
    runner_register(sub)
    demo_cli.register(sub)
    devices_cli.register(sub)
    identity_cli.register(sub)
    notices_cli.register(sub)
    rules_cli.register(sub)
    storage_cli.register(sub)
    ledger_cli.register(sub)
    trust_cli.register(sub)
    cluster_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hub`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    code = args.func(args)
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
