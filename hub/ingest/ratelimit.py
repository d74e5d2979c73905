"""A per-device rate limit for the ingest path (RELIABILITY rows 9 and 20).

A fixed one-second window per key: cheap enough for the hot path (one dict lookup and an
integer add per message). A device over its limit has the excess shed into the dead-letter
store once per window, so a flooding device cannot crowd out the others.
"""

from __future__ import annotations


class RateLimiter:
    """Allows ``per_second`` messages a second per key."""

    def __init__(self, per_second: int) -> None:
        self.per_second = per_second
        self._window = 0
        self._counts: dict[str, int] = {}
        self.limited: set[str] = set()

    def allow(self, key: str, now: float) -> bool:
        """True when the message may pass."""
        window = int(now)
        if window != self._window:
            self._window = window
            self._counts.clear()
            self.limited.clear()
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        if count > self.per_second:
            self.limited.add(key)
            return False
        return True
