"""``hub rules``: check packs, backtest them, print the pack schema.

hub rules check [PATH ...]                 # default rules/; exit 1 on any error
hub rules backtest PACK --input FILE.jsonl [--json] [--no-drain]
hub rules backtest PACK --since 7d         # needs the telemetry store (when wired)
hub rules schema [--write rules/schema.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DEFAULT_PATH = "rules"


def register(sub: Any) -> None:
    """Add ``hub rules ...`` to the ``hub`` parser."""
    rules = sub.add_parser("rules", help="rule packs: check, backtest, schema")
    rsub = rules.add_subparsers(dest="rules_command", required=True)

    check = rsub.add_parser("check", help="validate rule packs (files or folders)")
    check.add_argument("paths", nargs="*", default=[DEFAULT_PATH], metavar="PATH")
    check.set_defaults(func=cmd_check)

    bt = rsub.add_parser("backtest", help="replay recorded history through a pack")
    bt.add_argument("pack", help="a pack file or folder")
    src = bt.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", help="recorded JSONL (see hub.rules.backtest for the format)")
    src.add_argument("--since", help="history from the telemetry store, e.g. 7d, 12h")
    bt.add_argument("--json", action="store_true", help="print actions as JSON lines")
    bt.add_argument(
        "--no-drain",
        action="store_true",
        help="do not fire for: timers still pending after the last record",
    )
    bt.add_argument(
        "--progress",
        choices=["auto", "always", "never"],
        default="auto",
        help="progress bar on stderr (auto: when stderr is a terminal)",
    )
    bt.set_defaults(func=cmd_backtest)

    schema = rsub.add_parser("schema", help="print the JSON Schema of a rule pack")
    schema.add_argument("--write", metavar="FILE", help="write it to FILE instead")
    schema.set_defaults(func=cmd_schema)


def cmd_check(args: argparse.Namespace) -> int:
    from hub.rules.loader import check_paths, pack_files

    errors = check_paths(args.paths)
    for err in errors:
        print(f"{err.file}:{err.line}: rule {err.rule_id or '-'}: {err.message}")
    if errors:
        print(f"{len(errors)} error(s)", file=sys.stderr)
        return 1
    count = sum(len(pack_files(p)) for p in args.paths)
    print(f"{count} pack(s) ok", file=sys.stderr)
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from hub.rules.model import pack_json_schema

    text = json.dumps(pack_json_schema(), indent=2, ensure_ascii=False) + "\n"
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    from hub.rules import backtest
    from hub.rules.durations import parse_duration
    from hub.rules.loader import check_paths

    errors = check_paths([args.pack])
    if errors:
        for err in errors:
            print(
                f"{err.file}:{err.line}: rule {err.rule_id or '-'}: {err.message}", file=sys.stderr
            )
        return 1
    # The replay's private in-memory database would log its migrations: not news here.
    logging.getLogger("hub.storage").setLevel(logging.WARNING)
    show = args.progress == "always" or (args.progress == "auto" and sys.stderr.isatty())
    try:
        if args.since:
            if backtest.HISTORY_FACTORY is None:
                print(
                    "hub rules backtest: --since needs the telemetry store, which is not"
                    " wired in this build; record history to JSONL and use --input",
                    file=sys.stderr,
                )
                return 2
            until = datetime.now(UTC)
            since = until - timedelta(seconds=parse_duration(args.since))
            records = backtest.HISTORY_FACTORY().records(since, until)
            result = backtest.run_backtest([args.pack], records, drain=not args.no_drain)
        else:
            path = Path(args.input)
            with path.open("rb") as f:
                bar = backtest.ProgressBar(path.stat().st_size) if show else None
                result = backtest.run_backtest(
                    [args.pack],
                    backtest.read_jsonl(f),
                    drain=not args.no_drain,
                    progress=(lambda n: bar.show(f.tell(), n)) if bar else None,
                )
                if bar:
                    bar.show(path.stat().st_size, result.records)
                    bar.close()
    except (OSError, backtest.BacktestInputError, ValueError) as exc:
        print(f"hub rules backtest: {exc}", file=sys.stderr)
        return 2
    for a in result.actions:
        if args.json:
            print(json.dumps(a.marshal(), ensure_ascii=False, default=str))
        else:
            created = a.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            print(f"{created} {a.household} {a.pack}/{a.rule_id} {a.kind} [{a.key}] {a.title}")
    print(f"{result.records} record(s) replayed, {len(result.actions)} action(s)", file=sys.stderr)
    return 0
