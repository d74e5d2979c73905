"""SmartThings poller: ``GET /v1/devices`` then each device's ``/status``."""

from __future__ import annotations

import logging
import re

import httpx
import orjson

from ._backoff import Backoff
from ._base import BridgeError, PollingBridge, Publish, get_bounded, publish

logger = logging.getLogger(__name__)

_DEVICE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


class SmartThingsPoller(PollingBridge):
    """Publishes each SmartThings device's status to
    ``home/<h>/bridge/smartthings/<deviceId>/status``.

    Args:
        household: whose account this is.
        publish: ``publish(topic, payload)``.
        client: an ``httpx.AsyncClient`` with ``base_url`` (``https://api.smartthings.com``),
            the ``Authorization: Bearer <token>`` header and timeouts set.
        device_ids: poll only these (default: every device ``/v1/devices`` lists).
        interval, backoff: see :class:`PollingBridge`.
    """

    name = "smartthings"

    def __init__(self, household: str, publish: Publish, *, client: httpx.AsyncClient,
                 interval: float = 60.0, backoff: Backoff | None = None,
                 device_ids: list[str] | None = None) -> None:
        super().__init__(household, publish, client=client, interval=interval, backoff=backoff)
        self.device_ids = device_ids

    async def _device_ids(self) -> list[str]:
        if self.device_ids is not None:
            return self.device_ids
        body = await get_bounded(self.client, "/v1/devices")
        try:
            items = orjson.loads(body)["items"]
            ids = [item["deviceId"] for item in items]
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise BridgeError(f"/v1/devices: unexpected document ({exc!r})") from None
        return [i for i in ids if isinstance(i, str) and _DEVICE_ID.match(i)][:200]

    async def poll_once(self) -> int:
        sent = 0
        for device_id in await self._device_ids():
            body = await get_bounded(self.client, f"/v1/devices/{device_id}/status")
            await publish(self.publish_fn, self.topic(device_id, "status"), body)
            sent += 1
        return sent
