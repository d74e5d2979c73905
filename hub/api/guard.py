"""Refuse hostile input before any route sees it (pure ASGI middleware).

- A path holding a NUL or a ``..`` segment (after percent-decoding) is 404: no route serves
  such a name, and nothing below has to be careful about it.
- A JSON or form body whose text (any string, any key, at any depth) holds a control
  character other than newline and tab (a carriage return only as part of CRLF, as browsers
  send textarea lines) is 422, naming the field: ``body.title: control character U+001B``.
  One check for every route, so that no text field of any package can store one.

Answers are RFC 9457 problem documents. Bodies are already capped by the body-size
middleware outside this one, so buffering them here is bounded.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.problems import MEDIA_TYPE, problem_bytes
from hub.text import TEXT_PATTERN, control_in

__all__ = ["TEXT_PATTERN", "InputGuardMiddleware", "control_in", "find_control"]

# Cheap pre-check on raw bytes: only bodies with an escape, a raw control byte or an
# encoded C1 character need parsing here at all.
_SUSPECT_JSON = re.compile(rb"[\\\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def find_control(value: Any, loc: tuple[str, ...] = ("body",)) -> tuple[tuple[str, ...], str] | None:
    """Where in a parsed JSON value a forbidden control character is, and which one."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, loc)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            bad = control_in(item)
            if bad is not None:
                return where, bad
        elif isinstance(item, dict):
            for key, child in item.items():
                bad = control_in(key)
                if bad is not None:
                    return (*where, repr(key)[1:-1][:40]), bad
                stack.append((child, (*where, key)))
        elif isinstance(item, list):
            stack.extend((child, (*where, str(i))) for i, child in enumerate(item))
    return None


def _kind(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or []:
        if name == b"content-type":
            media = value.split(b";")[0].strip().lower()
            if media == b"application/json" or media.endswith(b"+json"):
                return "json"
            if media == b"application/x-www-form-urlencoded":
                return "form"
            return None
    return "json"  # no Content-Type: FastAPI reads such a body as JSON, so the guard does too


def _check_body(kind: str, body: bytes) -> tuple[tuple[str, ...], str] | None:
    if kind == "json":
        if not _SUSPECT_JSON.search(body):
            return None
        try:
            parsed = json.loads(body)
        except ValueError:
            return None  # not JSON: the route's own parsing answers
        return find_control(parsed)
    try:
        fields = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=1000)
    except (UnicodeDecodeError, ValueError):
        return None  # the form reader answers
    for name, value in fields:
        for text in (name, value):
            bad = control_in(text)
            if bad is not None:
                return ("body", name[:40]), bad
    return None


class InputGuardMiddleware:
    """404 for NUL or ``..`` in a path; 422 for control characters in a text field."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if "\x00" in path or ".." in path.split("/"):
            await _answer(send, 404, problem_bytes(404, "not-found", "no such path", path[:200].replace("\x00", "")))
            return
        kind = _kind(scope) if scope.get("method") in _BODY_METHODS else None
        if kind is None:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        tail: list[Message] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                tail.append(message)
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        found = _check_body(kind, body)
        if found is not None:
            loc, char = found
            field = ".".join(loc)
            detail = f"{field}: control character {char} is not allowed (only newline and tab)"
            error = {"loc": list(loc), "msg": f"control character {char}", "type": "control_character"}
            await _answer(send, 422, problem_bytes(422, "validation", detail, path, errors=[error]))
            return
        replay = [{"type": "http.request", "body": body, "more_body": False}, *tail]

        async def replayed() -> Message:
            if replay:
                return replay.pop(0)
            return await receive()

        await self.app(scope, replayed, send)


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
