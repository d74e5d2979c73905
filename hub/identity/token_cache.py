"""A short-lived memory of which token resolved to which principal.

Every authenticated request used to read two rows (the token, then its account): under
load the token check alone was a tenth of the request's time (``docs/perf/http.md``). The
cache keeps a resolved token for ``ttl_s`` seconds of monotonic time. Whatever changes who
a token stands for in this process (logout, a revoked token, a disabled, enabled or
deleted account) calls :meth:`TokenCache.invalidate` once its transaction commits, so the
change holds from the next request on. A change made by another process (a second hub
worker, a command-line tool) holds within ``ttl_s``.

Why an epoch: a request that read the token's row just before a logout committed must not
put its stale answer into the cache just after the logout emptied it. :meth:`put` only
stores an answer read under the epoch that is still current.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")

#: Seconds a resolved token is trusted without reading the database again.
DEFAULT_TTL_S = 2.0
#: Entries kept at most (the whole cache is dropped beyond it; it refills in one TTL).
DEFAULT_MAX_ENTRIES = 10_000


class TokenCache(Generic[V]):
    """Token digest → value, for ``ttl_s`` seconds, emptied at once by :meth:`invalidate`."""

    def __init__(
        self,
        ttl_s: float = DEFAULT_TTL_S,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_s
        self._max = max_entries
        self._now = monotonic
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, V]] = {}
        self._epoch = 0

    @property
    def epoch(self) -> int:
        """Read it before resolving a token from the database; hand it to :meth:`put`."""
        return self._epoch

    def get(self, digest: str) -> V | None:
        """The cached value of a token, or None (unknown here or older than the TTL)."""
        entry = self._entries.get(digest)
        if entry is None:
            return None
        stored_at, value = entry
        if self._now() - stored_at >= self._ttl:
            return None
        return value

    def put(self, digest: str, value: V, epoch: int) -> bool:
        """Remember ``value`` unless the cache was invalidated since ``epoch``."""
        with self._lock:
            if epoch != self._epoch:
                return False
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[digest] = (self._now(), value)
            return True

    def invalidate(self) -> None:
        """Forget every token (rare: a logout, a revocation or an account change)."""
        with self._lock:
            self._epoch += 1
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


__all__ = ["DEFAULT_TTL_S", "TokenCache"]
