"""Safe decoding of untrusted MQTT payloads.

Every payload is hostile until proven otherwise: it may be huge, deeply nested, not UTF-8,
or hold numbers that are not numbers (NaN, Infinity, 1e309). orjson already refuses NaN,
Infinity and out-of-range floats (RFC 8259 has no such values); this module adds the size
and depth limits and turns every failure into :class:`PayloadRejected`.
"""

from __future__ import annotations

from typing import Any

import orjson

from hub.errors import PayloadRejected

MAX_PAYLOAD = 256 * 1024
"""Largest payload accepted, in bytes (256 KiB)."""

MAX_DEPTH = 32
"""Deepest JSON nesting accepted; real device payloads stay under 8."""

MAX_TEXT = 4096
"""Longest bare-text payload accepted (``ON``, ``Online``, a DSMR telegram is ~1 KiB)."""

_JSONDecodeError = orjson.JSONDecodeError
_loads = orjson.loads


def check_size(payload: bytes, topic: str) -> None:
    """Refuse payloads over :data:`MAX_PAYLOAD`."""
    if len(payload) > MAX_PAYLOAD:
        raise PayloadRejected(
            f"payload of {len(payload)} bytes is over the {MAX_PAYLOAD} byte limit", topic=topic
        )


def _depth(obj: Any) -> int:
    """Nesting depth of a decoded JSON value, iteratively (no recursion to exhaust)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > MAX_DEPTH:
                return deepest
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, dict | list))
    return deepest


def loads(payload: bytes, topic: str) -> Any:
    """Decode a JSON payload with the hub's limits.

    Raises:
        PayloadRejected: too large, not JSON, not UTF-8, NaN/Infinity/overflowing numbers,
            or nested deeper than :data:`MAX_DEPTH`.
    """
    if len(payload) > MAX_PAYLOAD:
        check_size(payload, topic)
    try:
        obj = _loads(payload)
    except _JSONDecodeError as exc:
        raise PayloadRejected(f"malformed JSON: {str(exc)[:120]}", topic=topic) from None
    # Counting brackets is a C-speed scan; only payloads that could be deep get walked.
    if (
        len(payload) > 2 * MAX_DEPTH
        and payload.count(b"{") + payload.count(b"[") > MAX_DEPTH
        and _depth(obj) > MAX_DEPTH
    ):
        raise PayloadRejected(f"JSON nested deeper than {MAX_DEPTH} levels", topic=topic)
    return obj


def loads_object(payload: bytes, topic: str) -> dict[str, Any]:
    """Like :func:`loads` but the top level must be a JSON object."""
    obj = loads(payload, topic)
    if type(obj) is not dict:
        raise PayloadRejected(f"expected a JSON object, got {type(obj).__name__}", topic=topic)
    return obj


def text(payload: bytes, topic: str, *, limit: int = MAX_TEXT) -> str:
    """Decode a bare-text payload (``ON``, ``Online``, ``true``), stripped of whitespace."""
    if len(payload) > limit:
        raise PayloadRejected(f"text payload of {len(payload)} bytes is too long", topic=topic)
    try:
        return payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise PayloadRejected("payload is not valid UTF-8", topic=topic) from None
