"""``hub ledger verify``: check the time-bank ledger and rating chain of the configured store.

Prints the number of entries checked and the chain heads; exit 1 naming the first broken
entry. Works on a running hub's store (SQLite in WAL mode lets a reader in beside it):
``HUB_DATA_DIR=var/demo hub ledger verify``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from hub.config import load_settings
from hub.errors import HubError
from hub.ledger.verify import verify_store
from hub.storage.factory import open_database


def register(sub: Any) -> None:
    """Add ``hub ledger ...`` to the ``hub`` parser."""
    ledger = sub.add_parser("ledger", help="the time-bank ledger: verify")
    lsub = ledger.add_subparsers(dest="ledger_command", required=True)
    verify = lsub.add_parser("verify", help="check the ledger and the rating chain")
    verify.set_defaults(func=cmd_verify)


def cmd_verify(args: argparse.Namespace) -> int:
    del args
    try:
        settings = load_settings()
        db = open_database(settings)
    except HubError as exc:
        print(f"hub ledger verify: {exc}", file=sys.stderr)
        return 2
    try:
        report = verify_store(db)
    finally:
        db.close()
    led, rat = report.ledger, report.ratings
    print(f"time-bank ledger: {led.count} entries checked, sum {led.total}, head {led.head}")
    print(f"ratings: {rat.count} entries checked")
    broken = report.first_break()
    if broken is None:
        print("ok: every transfer balanced, every hash link intact")
        return 0
    chain, entry, reason = broken
    print(f"BROKEN: {chain} entry {entry}: {reason}")
    print(f"{chain} entry {entry} is broken: {reason}", file=sys.stderr)
    return 1
