"""The consent port: may a household's data of one kind reach a provider for a purpose.

The identity package provides the real implementation; :class:`AllowAll` serves unit tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

#: The fields a provider feed may carry, each checked as a separate consent signal.
FEED_SIGNALS = ("items", "slot", "address")


class ConsentPort(Protocol):
    """Answers whether a household allowed a signal to reach a provider for a purpose."""

    def allowed(
        self,
        household: str,
        provider: str,
        provider_kinds: Sequence[str],
        purpose: str,
        signal: str,
    ) -> bool: ...


class AllowAll:
    """A consent port that allows everything (unit tests only)."""

    def allowed(
        self,
        household: str,
        provider: str,
        provider_kinds: Sequence[str],
        purpose: str,
        signal: str,
    ) -> bool:
        return True
