"""A story clock for the demo: story time runs ``speed`` times faster than real time."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta


class ScaledClock:
    """Story time that starts at ``start`` and runs ``speed`` times faster than the wall.

    The whole hub runs on it in the demo, so that a 30-minute ``for:`` wait of the rule
    pack passes in 30 / speed real minutes and the story's Saturday plays in minutes.
    """

    def __init__(self, start: datetime, speed: float = 60.0) -> None:
        if start.tzinfo is None:
            raise ValueError("the story start must be timezone-aware")
        self.speed = speed
        self._start = start.astimezone(UTC)
        self._real0 = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._real0) * self.speed)

    def timestamp(self) -> float:
        return self.now().timestamp()

    async def until(self, when: datetime) -> None:
        """Sleep until story time ``when`` (no-op when it has passed)."""
        delay = (when - self.now()).total_seconds() / self.speed
        if delay > 0:
            await asyncio.sleep(delay)
