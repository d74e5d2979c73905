"""A latched metric trigger: the in-memory state the engine keeps and the store persists."""

from __future__ import annotations

from hub.events import Reading


class Latch:
    """An active metric trigger of one household and device."""

    __slots__ = ("due", "fired", "reading", "since")

    def __init__(self, since: float, reading: Reading, due: float | None, fired: bool) -> None:
        self.since = since
        self.reading = reading
        self.due = due
        self.fired = fired
