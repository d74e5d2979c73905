"""``hub run`` and ``hub demo``: placeholders until the service lands."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add ``run`` and ``demo``."""
    del sub
