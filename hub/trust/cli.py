"""``hub trust key|rotate|verify``: the hub's export keys and offline verification.

``hub trust verify FILE --jwks KEYS`` needs nothing but the file and the issuing hub's
key set (saved from its ``/.well-known/jwks.json`` or ``hub trust key``); without
``--jwks`` the configured store's own keys are used. Exit 0 when intact, 1 with the reason.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hub.config import load_settings
from hub.storage.database import Database
from hub.storage.factory import open_database
from hub.trust.jws import JwsError
from hub.trust.keys import KeyRing
from hub.trust.record import verify_document


def register(sub: Any) -> None:
    """Add ``hub trust ...`` to the ``hub`` parser."""
    trust = sub.add_parser("trust", help="signed record exports: keys and verification")
    tsub = trust.add_subparsers(dest="trust_command", required=True)
    key = tsub.add_parser("key", help="print the hub's public keys (JWK set)")
    key.set_defaults(func=cmd_key)
    rotate = tsub.add_parser("rotate", help="make a new signing key (old ones stay valid)")
    rotate.set_defaults(func=cmd_rotate)
    verify = tsub.add_parser("verify", help="check an exported record offline")
    verify.add_argument("file", type=Path)
    verify.add_argument("--jwks", type=Path, help="the issuing hub's key set (JSON file)")
    verify.set_defaults(func=cmd_verify)


def _ring() -> tuple[Database, KeyRing]:
    db = open_database(load_settings())
    return db, KeyRing(db)


def cmd_key(args: argparse.Namespace) -> int:
    del args
    db, ring = _ring()
    try:
        print(json.dumps(ring.jwks(), indent=2))
    finally:
        db.close()
    return 0


def cmd_rotate(args: argparse.Namespace) -> int:
    del args
    db, ring = _ring()
    try:
        kid, _ = ring.rotate()
        print(kid)
    finally:
        db.close()
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"hub trust verify: cannot read {args.file}: {exc}", file=sys.stderr)
        return 1
    if args.jwks is not None:
        try:
            jwks = json.loads(args.jwks.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"hub trust verify: cannot read the key set {args.jwks}: {exc}", file=sys.stderr)
            return 1
    else:
        db, ring = _ring()
        try:
            jwks = ring.jwks()
        finally:
            db.close()
    try:
        doc = verify_document(text, jwks if isinstance(jwks, dict) else {})
    except JwsError as exc:
        print(f"hub trust verify: NOT intact: {exc}", file=sys.stderr)
        return 1
    subject = doc["credentialSubject"]
    print(f"intact: record of {subject['household']} issued by {doc['issuer']['id']} at "
          f"{doc['validFrom']}: {len(subject.get('ratings_received') or [])} ratings, "
          f"{len(subject['timebank'].get('entries') or [])} ledger entries, balance "
          f"{subject['timebank']['balance']} h")
    return 0
