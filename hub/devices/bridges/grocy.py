"""Grocy poller: quantity units, stock and volatile stock (due, overdue, expired, missing)."""

from __future__ import annotations

import httpx

from ._backoff import Backoff
from ._base import PollingBridge, Publish, get_bounded, publish

ENDPOINTS = (
    ("quantity_units", "/api/objects/quantity_units"),
    ("stock", "/api/stock"),
    ("volatile", "/api/stock/volatile"),
)


class GrocyPoller(PollingBridge):
    """Publishes Grocy documents to ``home/<h>/bridge/grocy/<name>``.

    Quantity units go first, so the stock readings that follow carry unit names.

    Args:
        household: whose Grocy this is.
        publish: ``publish(topic, payload)``.
        client: an ``httpx.AsyncClient`` with ``base_url`` (the Grocy URL), the
            ``GROCY-API-KEY`` header and timeouts set.
        due_soon_days: passed to ``/api/stock/volatile``.
        interval, backoff: see :class:`PollingBridge`.
    """

    name = "grocy"

    def __init__(self, household: str, publish: Publish, *, client: httpx.AsyncClient,
                 interval: float = 60.0, backoff: Backoff | None = None,
                 due_soon_days: int = 3) -> None:
        super().__init__(household, publish, client=client, interval=interval, backoff=backoff)
        self.due_soon_days = due_soon_days

    async def poll_once(self) -> int:
        # Fetch everything before publishing anything: a half-failed poll publishes nothing.
        docs = []
        for name, path in ENDPOINTS:
            params = {"due_soon_days": self.due_soon_days} if name == "volatile" else None
            docs.append((name, await get_bounded(self.client, path, params=params)))
        for name, body in docs:
            await publish(self.publish_fn, self.topic(name), body)
        return len(docs)
