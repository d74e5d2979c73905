"""Deliver a body of line protocol to InfluxDB: 1.x ``/write`` or 2.x through influxdb-client.

InfluxDB 1.x before 1.8 serves no ``/api/v2/write`` (1.6 answers 404), so the 1.x sender
posts to ``/write?db=&rp=&precision=ns`` with httpx. The 2.x sender uses influxdb-client's
synchronous write API; its own batching and retries are not used, because the hub's
sender thread owns the bounded buffer, the retries and the drop accounting.

Both senders raise :class:`SendFailed` for what may succeed later (connection refused,
timeouts, 5xx, 429, authentication and missing database or bucket, which an operator can
fix) and :class:`SendRejected` for a body the server will never accept (400 and 413).
"""

from __future__ import annotations

import logging
import re
from typing import Protocol

import httpx

from hub.errors import HubError

logger = logging.getLogger(__name__)

_PARTIAL = re.compile(r"dropped=(\d+)")


class SendFailed(HubError):
    """InfluxDB could not be reached or is not ready; the batch is retried."""


class SendRejected(HubError):
    """InfluxDB refused (part of) the batch for good.

    Attributes:
        refused: points the server says it did not write (the whole batch when unknown).
    """

    def __init__(self, message: str, *, refused: int) -> None:
        super().__init__(message)
        self.refused = refused


class Sender(Protocol):
    """Posts one body of line protocol holding ``points`` lines."""

    def send(self, body: str, points: int) -> None: ...

    def close(self) -> None: ...


def _refused(text: str, points: int) -> int:
    """Points a 400 answer says were dropped (1.x reports ``partial write ... dropped=N``)."""
    match = _PARTIAL.search(text)
    return min(points, int(match.group(1))) if match else points


class V1Sender:
    """InfluxDB 1.x (and 2.x's 1.x compatibility) ``/write`` over httpx.

    Args:
        url: base URL, e.g. ``http://127.0.0.1:8086``.
        bucket: ``database`` or ``database/retention-policy``.
        token: ``user:password`` for basic authentication, or a token sent as
            ``Authorization: Token ...``; None or empty for an open server.
        timeout_s: connect and read timeout of one request.
    """

    def __init__(
        self, url: str, bucket: str, token: str | None = None, *, timeout_s: float = 5.0
    ) -> None:
        database, _, policy = bucket.partition("/")
        self._params = {"db": database, "precision": "ns"}
        if policy:
            self._params["rp"] = policy
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        auth: tuple[str, str] | None = None
        if token and ":" in token:
            user, _, password = token.partition(":")
            auth = (user, password)
        elif token:
            headers["Authorization"] = f"Token {token}"
        self._client = httpx.Client(
            base_url=url.rstrip("/"), timeout=timeout_s, headers=headers, auth=auth
        )

    def send(self, body: str, points: int) -> None:
        try:
            response = self._client.post("/write", params=self._params, content=body.encode())
        except httpx.HTTPError as exc:
            raise SendFailed(f"influxdb unreachable: {exc!r}") from exc
        if response.status_code == 204:
            return
        text = response.text[:300]
        if response.status_code in (400, 413):
            raise SendRejected(
                f"influxdb refused the batch ({response.status_code}): {text}",
                refused=_refused(text, points),
            )
        raise SendFailed(f"influxdb answered {response.status_code}: {text}")

    def close(self) -> None:
        self._client.close()


class V2Sender:
    """InfluxDB 2.x/3.x through influxdb-client's synchronous write API.

    Args:
        url: base URL of the server.
        token: API token.
        org: organisation name or id.
        bucket: bucket name.
        timeout_s: timeout of one request.
    """

    def __init__(
        self, url: str, token: str, org: str, bucket: str, *, timeout_s: float = 5.0
    ) -> None:
        from influxdb_client.client.influxdb_client import InfluxDBClient
        from influxdb_client.client.write_api import SYNCHRONOUS

        self._bucket = bucket
        self._org = org
        self._client = InfluxDBClient(
            url=url, token=token, org=org, timeout=int(timeout_s * 1000), retries=False
        )
        self._write = self._client.write_api(write_options=SYNCHRONOUS)

    def send(self, body: str, points: int) -> None:
        from influxdb_client.rest import ApiException

        try:
            self._write.write(bucket=self._bucket, org=self._org, record=body)
        except ApiException as exc:
            status = exc.status or 0
            if status in (400, 413):
                raise SendRejected(
                    f"influxdb refused the batch ({status}): {str(exc.body)[:300]}",
                    refused=_refused(str(exc.body), points),
                ) from exc
            raise SendFailed(f"influxdb answered {status}: {str(exc.body)[:300]}") from exc
        except Exception as exc:  # urllib3 and socket errors: the server is away
            raise SendFailed(f"influxdb unreachable: {exc!r}") from exc

    def close(self) -> None:
        self._write.close()  # type: ignore[no-untyped-call]
        self._client.close()  # type: ignore[no-untyped-call]
