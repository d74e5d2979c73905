"""Command-line subcommands of `hub.devices`: ``hub normalize`` (CONTRACTS.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

from hub.errors import ConfigError, PayloadRejected

from ._normalizer import SOURCES, Normalizer, split_household
from ._payload import MAX_PAYLOAD

DEFAULT_PROFILES = Path(__file__).resolve().parents[2] / "devices"
"""The repository's ``devices/`` folder of YAML profiles."""


def register(sub: Any) -> None:
    """Add this package's subcommands to the `hub` parser."""
    p = sub.add_parser(
        "normalize",
        help="print the canonical readings of one device message",
        description="Read one MQTT payload (or one HTTP-bridged document) and print one JSON "
        "object per reading or registration. Exit 2 with the reason when not understood.",
    )
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--topic", help="the MQTT topic, with or without home/<household>/")
    group.add_argument("--source", choices=SOURCES, help="an HTTP-bridged format")
    p.add_argument("file", nargs="?", help="the payload file (stdin when omitted)")
    p.add_argument("--profiles", type=Path, default=None,
                   help=f"device profile folder (default: {DEFAULT_PROFILES})")
    p.set_defaults(func=run)


def _fail(message: str) -> int:
    sys.stderr.write(" ".join(message.split())[:500] + "\n")
    return 2


def run(args: argparse.Namespace) -> int:
    """Handler of ``hub normalize``; returns the exit code."""
    try:
        if args.file:
            with open(args.file, "rb") as fh:
                payload = fh.read(MAX_PAYLOAD + 1)
        else:
            payload = sys.stdin.buffer.read(MAX_PAYLOAD + 1)
    except OSError as exc:
        return _fail(f"cannot read {args.file}: {exc.strerror}")
    folder = args.profiles
    if folder is None and DEFAULT_PROFILES.is_dir():
        folder = DEFAULT_PROFILES
    try:
        normalizer = Normalizer(folder)
    except ConfigError as exc:
        return _fail(str(exc))
    try:
        if args.source:
            if not args.file:
                return _fail("--source needs a FILE")
            result = normalizer.normalize_source(args.source, payload)
        else:
            household, topic = split_household(args.topic)
            result = normalizer.normalize(topic, payload, household=household)
    except PayloadRejected as exc:
        return _fail(f"rejected: {exc}")
    out = sys.stdout.buffer
    for reg in result.registrations:
        out.write(orjson.dumps(reg.marshal()) + b"\n")
    for r in result.readings:
        out.write(orjson.dumps(r.marshal()) + b"\n")
    out.flush()
    return 0
