"""``GET /ui/stream``: the browser's one live channel (server-sent events).

For a household it sends what changed in its devices once a second (``event: devices``,
only the keys that changed); for every role it relays the offers package's live events
(``event: offers``) so that the page can refresh its suggestions, calendar or feed. The
browser authenticates with its session cookie (an EventSource cannot send headers).

Bounded: at most ``HUB_STREAMS_PER_ACCOUNT`` streams per account (429 beyond, with
``Retry-After``: one account cannot starve the others), at most :data:`MAX_STREAMS` in all
(503 beyond, the browser retries), and each stream ends after :data:`MAX_AGE_S` (the
EventSource reconnects). The session is
checked again at every heartbeat; once it has ended the stream says ``event: logout`` and
closes. Offers events wait in the offers package's bounded queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from hub.dashboards import data, session
from hub.problems import problem_body, problem_response

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

TICK_S = 1.0
MAX_AGE_S = 600.0
MAX_STREAMS = 200
HEARTBEAT_TICKS = 15


class _Gauge:
    open = 0
    per_account: dict[str, int] = {}  # noqa: RUF012 - one process-wide count, on the event loop


def _per_account_cap(hub: Any) -> int:
    return int(getattr(getattr(hub, "settings", None), "streams_per_account", 10))


def _event(name: str, payload: Any) -> bytes:
    return f"event: {name}\ndata: {json.dumps(payload, separators=(',', ':'), default=str)}\n\n".encode()


@router.get("/ui/stream")
async def stream(request: Request) -> Response:
    """Live device values (households) and offers events (everyone), as SSE."""
    p = session.gate(request)
    if isinstance(p, Response):
        return p
    hub = request.app.state.hub
    account = p.account_id
    cap = _per_account_cap(hub)
    if _Gauge.per_account.get(account, 0) >= cap:
        return problem_response(429, problem_body(
            429, "too-many-streams", f"this account already has {cap} live streams open; close one",
            request.url.path), headers={"Retry-After": "30"})
    if _Gauge.open >= MAX_STREAMS:
        return problem_response(503, problem_body(503, "unavailable", "too many live streams",
                                                  request.url.path), headers={"Retry-After": "5"})
    household = p.household if p.role == data.HOUSEHOLD else None
    offers = data.offer_events(hub, p)
    _Gauge.open += 1
    _Gauge.per_account[account] = _Gauge.per_account.get(account, 0) + 1

    async def body() -> AsyncIterator[bytes]:
        pending: asyncio.Task[dict[str, Any]] | None = None
        started = time.monotonic()
        last: dict[str, Any] = {}
        quiet = 0
        try:
            yield b"retry: 2000\n\n"
            if household is not None:
                last = data.live_values(hub, household)
                yield _event("devices", last)
            while time.monotonic() - started < MAX_AGE_S:
                if await request.is_disconnected():
                    return
                if offers is not None and pending is None:
                    pending = asyncio.ensure_future(anext(offers))
                if pending is not None:
                    done, _ = await asyncio.wait({pending}, timeout=TICK_S)
                    if done:
                        try:
                            event = pending.result()
                        except StopAsyncIteration:
                            yield _event("offers", {"type": "dropped"})
                            return
                        finally:
                            pending = None
                        yield _event("offers", {"type": event.get("type", "update")})
                        quiet = 0
                else:
                    await asyncio.sleep(TICK_S)
                if household is not None:
                    now = data.live_values(hub, household)
                    changed = {k: v for k, v in now.items() if last.get(k) != v}
                    last = now
                    if changed:
                        yield _event("devices", changed)
                        quiet = 0
                        continue
                quiet += 1
                if quiet >= HEARTBEAT_TICKS:
                    quiet = 0
                    if session.viewer(request) is None:
                        # The session ended (logout, expiry, disabled account): stop now.
                        yield _event("logout", {})
                        return
                    yield b": keep-alive\n\n"
        finally:
            if pending is not None:
                pending.cancel()
            if offers is not None:
                with contextlib.suppress(Exception):
                    await offers.aclose()  # type: ignore[attr-defined]

    return _CountedStream(account, body(), media_type="text/event-stream",
                          headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


class _CountedStream(StreamingResponse):
    """A stream that gives its account's place back however it ends (even before its
    first byte, when the body generator never starts)."""

    def __init__(self, account: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account = account

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            _Gauge.open -= 1
            left = _Gauge.per_account.get(self.account, 1) - 1
            if left > 0:
                _Gauge.per_account[self.account] = left
            else:
                _Gauge.per_account.pop(self.account, None)
