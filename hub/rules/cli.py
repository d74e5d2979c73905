"""Command-line subcommands of `hub.rules`."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add this package's subcommands to the `hub` parser."""
    del sub


_ = argparse
