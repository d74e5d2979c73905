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
from hub.identity.errors import TooManyAttempts

#: Default request body limit: far above any form or JSON body the API takes.
MAX_BODY_BYTES = 64 * 1024


class LoginLimiter:
    """Refuse logins after too many failures per key (a username, an address) in a window.

    In memory, per hub process: an attacker gets ``max_failures`` guesses per username and
    ``max_failures_per_ip`` per address per ``window_s``. Locking a username out for the
    window is the price; a success clears the username's count.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        max_failures: int = 5,
        max_failures_per_ip: int = 20,
        window_s: float = 300.0,
        max_keys: int = 100_000,
    ) -> None:
        self._clock = clock
        self.max_failures = max_failures
        self.max_failures_per_ip = max_failures_per_ip
        self.window_s = window_s
        self._max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def check(self, username: str, address: str) -> None:
        """Raise :class:`TooManyAttempts` when either key is over its limit."""
        now = self._clock.timestamp()
        with self._lock:
            for key, limit in (
                ("u:" + username, self.max_failures),
                ("a:" + address, self.max_failures_per_ip),
            ):
                times = self._recent(key, now)
                if len(times) >= limit:
                    retry = int(times[0] + self.window_s - now) + 1
                    raise TooManyAttempts(
                        "too many failed logins; try again later", retry_after=retry
                    )

    def failed(self, username: str, address: str) -> None:
        """Count a failed login."""
        now = self._clock.timestamp()
        with self._lock:
            if len(self._failures) >= self._max_keys:
                # Bounded memory under a spray of usernames: forget the stalest keys.
                for key in list(self._failures)[: self._max_keys // 10]:
                    del self._failures[key]
            for key in ("u:" + username, "a:" + address):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, username: str) -> None:
        """Clear a username's failures after a good login."""
        with self._lock:
            self._failures.pop("u:" + username, None)


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
            await _send_413(send, max_body)
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
                await _send_413(send, max_body)


class _BodyTooLarge(Exception):
    pass


async def _send_413(send: Send, limit: int) -> None:
    body = b'{"detail":"request body over %d bytes"}' % limit
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
