"""Limits on what a caller can make the API do: login attempts and body sizes."""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.clock import Clock
from hub.i18n.words import N_
from hub.identity.errors import TooManyAttempts
from hub.problems import MEDIA_TYPE, problem_bytes

#: Default request body limit: far above any form or JSON body the API takes.
MAX_BODY_BYTES = 64 * 1024


class LoginLimiter:
    """Throttle password guessing without letting a stranger lock an owner out.

    Follows OWASP's authentication cheat sheet (lockouts must not become a denial of
    service) and django-axes' "combination of user and address" lockout. In memory, per hub
    process, over a sliding ``window_s``:

    - the **(account, address) pair** gets ``max_failures`` guesses: past that, that address
      alone is refused for that account (429 with the seconds to wait);
    - an **address** gets ``max_failures_per_ip`` failures over all accounts (a spray from
      one address stops there, other addresses are untouched; an account that logged in
      from that address before, e.g. a neighbour behind the same router, still may);
    - an **account** is slowed everywhere only when it has ``account_failures`` failures
      from at least ``account_addresses`` distinct addresses (a distributed attack): then
      each address that never logged in to it successfully gets one guess per window.
      Addresses with a recent success (``known_s``) keep their own allowance.

    A wrong guess from one address therefore never stops the right password from another.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        max_failures: int = 5,
        max_failures_per_ip: int = 50,
        window_s: float = 300.0,
        account_failures: int = 100,
        account_addresses: int = 10,
        known_s: float = 30 * 86400.0,
        max_keys: int = 100_000,
    ) -> None:
        self._clock = clock
        self.max_failures = max_failures
        self.max_failures_per_ip = max_failures_per_ip
        self.window_s = window_s
        self.account_failures = account_failures
        self.account_addresses = account_addresses
        self.known_s = known_s
        self._max_keys = max_keys
        self._failures: dict[str, deque[tuple[float, str]]] = {}
        self._known: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[tuple[float, str]]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0][0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def _refuse(self, times: deque[tuple[float, str]], now: float) -> TooManyAttempts:
        retry = max(1, int(times[0][0] + self.window_s - now) + 1)
        return TooManyAttempts(N_("too many failed logins; try again later"), retry_after=retry)

    def _under_attack(self, username: str, now: float) -> bool:
        times = self._recent("u:" + username, now)
        if len(times) < self.account_failures:
            return False
        return len({address for _, address in times}) >= self.account_addresses

    def check(self, username: str, address: str) -> None:
        """Raise :class:`TooManyAttempts` when this address may not try this account now."""
        now = self._clock.timestamp()
        with self._lock:
            pair = self._recent(f"p:{username}\x00{address}", now)
            if len(pair) >= self.max_failures:
                raise self._refuse(pair, now)
            known = self._known.get((username, address), -1e18) > now - self.known_s
            from_address = self._recent("a:" + address, now)
            if len(from_address) >= self.max_failures_per_ip and not known:
                raise self._refuse(from_address, now)
            if pair and not known and self._under_attack(username, now):
                raise self._refuse(pair, now)

    def failed(self, username: str, address: str) -> None:
        """Count a failed login of ``username`` from ``address``."""
        now = self._clock.timestamp()
        with self._lock:
            if len(self._failures) >= self._max_keys:
                # Bounded memory under a spray of usernames: forget the stalest keys.
                for key in list(self._failures)[: self._max_keys // 10]:
                    del self._failures[key]
            for key in (f"p:{username}\x00{address}", "a:" + address, "u:" + username):
                self._failures.setdefault(key, deque()).append((now, address))

    def succeeded(self, username: str, address: str = "") -> None:
        """A good login: clear the pair's failures and remember the address as known."""
        now = self._clock.timestamp()
        with self._lock:
            self._failures.pop(f"p:{username}\x00{address}", None)
            if len(self._known) >= self._max_keys:
                for key in list(self._known)[: self._max_keys // 10]:
                    del self._known[key]
            self._known[(username, address)] = now


def _too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"request body over {limit} bytes")


class LimitedBodyRoute(APIRoute):
    """A route that refuses bodies over ``max_body`` bytes with 413 before parsing them.

    A declared ``Content-Length`` over the limit is refused before reading a byte; a
    chunked body is counted as it arrives and refused when it crosses the limit.
    """

    max_body: int = MAX_BODY_BYTES

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        limit = self.max_body

        async def limited(request: Request) -> Response:
            declared = request.headers.get("content-length")
            if declared is not None and (not declared.isdigit() or int(declared) > limit):
                raise _too_large(limit)
            receive = request.receive
            seen = 0

            async def capped() -> Message:
                nonlocal seen
                message = await receive()
                if message["type"] == "http.request":
                    seen += len(message.get("body", b""))
                    if seen > limit:
                        raise _too_large(limit)
                return message

            return await handler(Request(request.scope, capped))

        return limited


class BodySizeLimitMiddleware:
    """ASGI middleware: 413 for any request body over ``max_body`` bytes, app-wide.

    ``larger`` lists (path regex, limit) pairs for the few routes that take more (photo
    uploads); the first full match wins.
    """

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY_BYTES,
                 larger: Sequence[tuple[str, int]] = ()) -> None:
        self.app = app
        self.max_body = max_body
        self._larger = [(re.compile(pattern), limit) for pattern, limit in larger]

    def limit_for(self, path: str) -> int:
        """The body limit of a request path."""
        for pattern, limit in self._larger:
            if pattern.fullmatch(path):
                return limit
        return self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_body = self.limit_for(str(scope.get("path", "")))
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_body):
            await _send_413(send, max_body, scope.get("path", ""))
            return
        seen = 0
        started = False

        async def capped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_body:
                    raise _BodyTooLarge
            return message

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, capped, watch)
        except _BodyTooLarge:
            if not started:
                await _send_413(send, max_body, scope.get("path", ""))


class _BodyTooLarge(Exception):
    pass


async def _send_413(send: Send, limit: int, instance: str) -> None:
    body = problem_bytes(413, "too-large", f"request body over {limit} bytes", instance)
    headers: list[Any] = [
        (b"content-type", MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
