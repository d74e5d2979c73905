"""Jittered exponential backoff ("full jitter" on a growing ceiling)."""

from __future__ import annotations

import random


class Backoff:
    """Delays to wait after consecutive failures.

    The n-th delay is drawn uniformly from ``[ceiling * (1 - jitter), ceiling]`` with
    ``ceiling = min(maximum, initial * factor**n)``: growing, capped, and spread so that a
    hundred bridges that failed together do not retry together.

    Args:
        initial: first ceiling, seconds.
        maximum: cap, seconds.
        factor: growth per failure.
        jitter: fraction of the ceiling that is random (0 = none, 1 = full jitter).
        rng: a random source (seed it for reproducible tests).
    """

    def __init__(self, initial: float = 1.0, maximum: float = 300.0, factor: float = 2.0,
                 jitter: float = 0.5, rng: random.Random | None = None) -> None:
        if not (0 < initial <= maximum and factor >= 1 and 0 <= jitter <= 1):
            raise ValueError("need 0 < initial <= maximum, factor >= 1, 0 <= jitter <= 1")
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
        self._rng = rng or random.Random()
        self.failures = 0
        self.history: list[float] = []
        """Every delay handed out since creation (bounded to the last 100)."""

    def next_delay(self) -> float:
        """The delay to wait after one more failure."""
        ceiling = min(self.maximum, self.initial * self.factor ** min(self.failures, 64))
        self.failures += 1
        delay = ceiling * (1 - self.jitter * self._rng.random())
        self.history.append(delay)
        del self.history[:-100]
        return delay

    def reset(self) -> None:
        """After a success: the next failure starts from ``initial`` again."""
        self.failures = 0
