"""``HubClient``: log in over HTTP, follow a provider's feed over MQTT, claim, fulfil, answer.

Over MQTT (aiomqtt, MQTT v5, client id = the MQTT username, which the broker pins):

- :meth:`HubClient.feed` yields the messages on ``providers/<me>/feed/#`` (a new
  ``request``, then ``claimed``, ``taken``, ``claim-rejected``, ``update``, ``cancelled``...);
- :meth:`HubClient.claim` publishes ``{"request", "id"}`` to ``providers/<me>/claims`` and
  :meth:`HubClient.claim_and_wait` waits on the feed for the hub's answer.

Over the HTTP API (bearer token from ``POST /auth/login``, or an API token):

- :meth:`HubClient.fulfil` (``POST /provider/requests/{id}/fulfil``, with an
  ``Idempotency-Key`` so a retry is safe);
- households: :meth:`HubClient.suggestions`, :meth:`HubClient.accept`,
  :meth:`HubClient.decline`.

Errors of the API come back as :class:`HubError` with the problem+json ``status`` and
``detail``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import aiomqtt
import httpx


class HubError(Exception):
    """The hub refused a call: HTTP ``status`` and its problem ``detail``."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


@dataclass(frozen=True, slots=True)
class FeedMessage:
    """One message of a provider's feed."""

    type: str
    request: str
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def items(self) -> list[dict[str, Any]]:
        return list(self.body.get("items") or [])


@dataclass(frozen=True, slots=True)
class ClaimOutcome:
    """What the hub said about a claim: ``claimed`` (it is mine), ``taken`` or ``rejected``."""

    status: str
    request: str
    reason: str = ""

    @property
    def won(self) -> bool:
        return self.status == "claimed"


ANSWERS = {"claimed": "claimed", "taken": "taken", "claim-rejected": "rejected"}


class HubClient:
    """One account's connection to the hub (use ``async with``).

    Args:
        api: the hub's HTTP base URL.
        username, password: the API login (or give ``token``, e.g. a provider's API token).
        mqtt_host, mqtt_port, mqtt_username, mqtt_password: the MQTT login (providers);
            without them only the HTTP calls work.
        timeout: seconds for each HTTP call.
    """

    def __init__(self, api: str, *, username: str | None = None, password: str | None = None,
                 token: str | None = None, mqtt_host: str | None = None, mqtt_port: int = 1883,
                 mqtt_username: str | None = None, mqtt_password: str | None = None,
                 timeout: float = 10.0) -> None:
        if token is None and (username is None or password is None):
            raise ValueError("give a token, or a username and a password")
        self._api = api.rstrip("/")
        self._username, self._password, self._token = username, password, token
        self._mqtt_args = (mqtt_host, mqtt_port, mqtt_username, mqtt_password)
        self._timeout = timeout
        self._http: httpx.AsyncClient | None = None
        self._mqtt: aiomqtt.Client | None = None
        self.principal: dict[str, Any] = {}

    async def __aenter__(self) -> HubClient:
        self._http = httpx.AsyncClient(base_url=self._api, timeout=self._timeout)
        if self._token is None:
            answer = await self._call("POST", "/auth/login",
                                      json={"username": self._username, "password": self._password})
            self._token = answer["access_token"]
        self.principal = await self._call("GET", "/me")
        host, port, user, secret = self._mqtt_args
        if host is not None and user is not None:
            self._mqtt = aiomqtt.Client(host, port, username=user, password=secret, identifier=user,
                                        protocol=aiomqtt.ProtocolVersion.V5)
            await self._mqtt.__aenter__()
            if self.provider:
                await self._mqtt.subscribe(f"providers/{self.provider}/feed/#", qos=1)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._mqtt is not None:
            await self._mqtt.__aexit__(exc_type, exc, tb)
            self._mqtt = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    @property
    def provider(self) -> str | None:
        """The provider id of a provider's login."""
        value = self.principal.get("provider")
        return str(value) if value else None

    @property
    def household(self) -> str | None:
        value = self.principal.get("household")
        return str(value) if value else None

    # -- HTTP ---------------------------------------------------------------------------

    async def _call(self, method: str, path: str, *, json: Any = None,
                    headers: dict[str, str] | None = None) -> Any:
        assert self._http is not None, "use HubClient in 'async with'"
        sent = dict(headers or {})
        if self._token:
            sent["Authorization"] = f"Bearer {self._token}"
        answer = await self._http.request(method, path, json=json, headers=sent)
        if answer.status_code >= 400:
            try:
                detail = str(answer.json().get("detail") or answer.text)
            except ValueError:
                detail = answer.text
            raise HubError(answer.status_code, detail)
        return answer.json() if answer.content else None

    async def fulfil(self, request: str) -> dict[str, Any]:
        """Mark a claimed request delivered (safe to retry)."""
        key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"fulfil/{request}"))
        result: dict[str, Any] = await self._call("POST", f"/provider/requests/{request}/fulfil",
                                                  headers={"Idempotency-Key": key})
        return result

    async def schedule(self) -> list[dict[str, Any]]:
        """Requests I claimed."""
        return _items(await self._call("GET", "/provider/schedule"))

    async def suggestions(self) -> list[dict[str, Any]]:
        """A household's open suggestions."""
        return _items(await self._call("GET", "/suggestions?state=proposed"))

    async def slots(self) -> list[dict[str, Any]]:
        """Free grocery delivery slots a household may book."""
        return _items(await self._call("GET", "/grocery/slots"))

    async def accept(self, suggestion: str, *, slot: str | None = None) -> dict[str, Any]:
        """Accept a suggestion (a delivery needs a ``slot``)."""
        result: dict[str, Any] = await self._call("POST", f"/suggestions/{suggestion}/accept",
                                                  json={"slot": slot} if slot else {})
        return result

    async def decline(self, suggestion: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("POST", f"/suggestions/{suggestion}/decline", json={})
        return result

    # -- MQTT ---------------------------------------------------------------------------

    async def feed(self) -> AsyncIterator[FeedMessage]:
        """The provider's feed messages, as they come (forever, until the caller stops)."""
        if self._mqtt is None or not self.provider:
            raise RuntimeError("the feed needs a provider's MQTT login")
        async for message in self._mqtt.messages:
            try:
                body = json.loads(bytes(message.payload))
            except (TypeError, ValueError):
                continue  # not a hub message: nothing to act on
            if isinstance(body, dict) and isinstance(body.get("request"), str):
                yield FeedMessage(str(body.get("type", "")), body["request"], body)

    async def claim(self, request: str) -> str:
        """Send a claim; returns its message id (the hub answers on the feed)."""
        if self._mqtt is None or not self.provider:
            raise RuntimeError("claims need a provider's MQTT login")
        mid = uuid.uuid4().hex
        await self._mqtt.publish(f"providers/{self.provider}/claims",
                                 json.dumps({"request": request, "id": mid}), qos=1)
        return mid

    async def claim_and_wait(self, request: str, feed: AsyncIterator[FeedMessage]) -> ClaimOutcome:
        """Claim ``request`` and read ``feed`` until the hub answers about it."""
        await self.claim(request)
        async for msg in feed:
            if msg.request == request and msg.type in ANSWERS:
                return ClaimOutcome(ANSWERS[msg.type], request, str(msg.body.get("reason", "")))
        raise RuntimeError("the feed ended before the hub answered the claim")


def _items(page: Any) -> list[dict[str, Any]]:
    if isinstance(page, dict):
        return list(page.get("items") or [])
    return list(page or [])
