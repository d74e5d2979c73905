"""Command-line subcommands of :mod:`hub.notices`: ``hub notices parse FILE``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

from hub.errors import NoticeRejected
from hub.notices.parse import DEFAULT_MAX_BYTES, parse_document


def register(sub: Any) -> None:
    """Add ``hub notices ...`` to the ``hub`` parser."""
    notices = sub.add_parser("notices", help="community notices (CAP, warning JSON, outages)")
    notices_sub = notices.add_subparsers(dest="notices_command", required=True)
    parse = notices_sub.add_parser(
        "parse", help="parse a CAP alert, CAP Atom/RSS index, NWS GeoJSON, NINA JSON or outage JSON"
    )
    parse.add_argument("file", help="the document to parse ('-' for stdin)")
    parse.add_argument("--language", default=None, help="preferred language, e.g. en-US")
    parse.add_argument(
        "--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="size limit in bytes"
    )
    parse.set_defaults(func=cmd_parse)


def _read_limited(path: str, limit: int) -> bytes:
    # Read at most limit+1 bytes, so that a huge file is refused without loading it.
    if path == "-":
        return sys.stdin.buffer.read(limit + 1)
    with Path(path).open("rb") as fh:
        return fh.read(limit + 1)


def cmd_parse(args: argparse.Namespace) -> int:
    """Print one JSON object per notice (CONTRACTS.md); exit 2 with a reason if refused."""
    try:
        data = _read_limited(args.file, args.max_bytes)
    except OSError as exc:
        print(f"{args.file}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if len(data) > args.max_bytes:
        print(
            f"{args.file}: refused: document is above the limit of {args.max_bytes} bytes",
            file=sys.stderr,
        )
        return 2
    try:
        notices = parse_document(data, language=args.language, max_bytes=args.max_bytes)
    except NoticeRejected as exc:
        print(f"{args.file}: refused: {exc}", file=sys.stderr)
        return 2
    out = sys.stdout.buffer
    for notice in notices:
        out.write(orjson.dumps(notice.marshal()) + b"\n")
    out.flush()
    return 0
