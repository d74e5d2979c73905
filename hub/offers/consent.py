"""The consent port: may a household's data of one kind reach a provider for a purpose.

The identity package provides the real implementation; :class:`AllowAll` serves unit tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

#: The fields a provider feed may carry, and the consent signal that covers each
#: (signal names as the identity package's grants use them).
FIELD_SIGNALS = {"items": "pantry_needs", "slot": "slot", "address": "street_address"}
FEED_SIGNALS = tuple(FIELD_SIGNALS)

#: The consent purpose a request of each kind is sent for.
PURPOSES = {"grocery": "grocery_delivery", "service": "service_visit", "lending": "lending"}


def purpose_of(kind: str) -> str:
    """The consent purpose of a request kind (``grocery`` -> ``grocery_delivery``)."""
    return PURPOSES.get(kind, kind)


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
