"""A bounded, thread-safe buffer of samples with exact drop accounting.

The bound covers what waits *and* what a flush has taken but not yet confirmed, so the
count of dropped samples is exact: a sample is either stored, still held, or dropped,
never two of these. When the buffer is full, new samples are refused (the newest are
dropped), like a full queue: what is held keeps its place and is delivered first when the
backend comes back.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class BoundedBuffer(Generic[T]):
    """Holds at most ``limit`` items between ``add()`` and a confirmed flush.

    Args:
        limit: the most items held, waiting plus in flight.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the buffer limit must be at least 1")
        self.limit = limit
        self._items: list[T] = []
        self._inflight = 0
        self._lock = threading.Lock()
        self.dropped = 0

    def add(self, items: Sequence[T]) -> int:
        """Append what fits; count the rest as dropped. Returns how many were held now."""
        with self._lock:
            room = self.limit - len(self._items) - self._inflight
            taken = max(0, min(room, len(items)))
            if taken == len(items):
                self._items.extend(items)
            else:
                self._items.extend(items[:taken])
                self.dropped += len(items) - taken
            return len(self._items)

    def refuse(self, count: int) -> None:
        """Count ``count`` items as dropped without holding them (the writer is closed)."""
        with self._lock:
            self.dropped += count

    def take(self, most: int | None = None) -> list[T]:
        """Hand the oldest items (up to ``most``) to a flush; they stay counted until
        :meth:`done` or :meth:`give_back`. Only one flush may hold items at a time."""
        with self._lock:
            if self._inflight:
                raise RuntimeError("a flush is already in progress")
            if most is None or most >= len(self._items):
                batch, self._items = self._items, []
            else:
                batch, self._items = self._items[:most], self._items[most:]
            self._inflight = len(batch)
            return batch

    def done(self) -> None:
        """The taken items are stored: release their room."""
        with self._lock:
            self._inflight = 0

    def give_back(self, batch: list[T]) -> None:
        """The flush failed: the taken items go back to the front, in order."""
        with self._lock:
            self._items[:0] = batch
            self._inflight = 0

    def discard(self, batch: list[T]) -> None:
        """The flush gave up on the taken items: count them as dropped."""
        with self._lock:
            self.dropped += len(batch)
            self._inflight = 0

    def abandon(self) -> int:
        """Count what a crashed flush held as dropped, so a new flush can start."""
        with self._lock:
            lost = self._inflight
            self.dropped += lost
            self._inflight = 0
            return lost

    def drop_all(self) -> int:
        """Count everything still waiting as dropped (closing with the backend down)."""
        with self._lock:
            lost = len(self._items)
            self.dropped += lost
            self._items = []
            return lost

    def __len__(self) -> int:
        with self._lock:
            return len(self._items) + self._inflight
