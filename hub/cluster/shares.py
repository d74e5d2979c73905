"""Which share a household belongs to: a stable hash, the same in every worker and release."""

from __future__ import annotations

import zlib


def share_of(household: str, shares: int) -> int:
    """The share of ``household`` among ``shares`` (CRC-32 of its id, modulo ``shares``).

    CRC-32, not Python's ``hash()``: that one is salted per process, and every worker must
    agree on the answer.
    """
    return zlib.crc32(household.encode()) % shares


def session_id(share: int, prefix: str = "hub") -> str:
    """The MQTT client id of a share's persistent session: ``hub-share-<k>`` by default.

    ``prefix`` is ``HUB_MQTT_CLIENT_ID``, so that two hubs on one broker keep apart.
    """
    return f"{prefix}-share-{share}"
