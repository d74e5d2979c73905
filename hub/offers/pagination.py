"""Opaque cursors for keyset pagination (newest first by ``(created_at, id)``)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

import orjson

from hub.errors import DomainError
from hub.i18n.words import N_

#: The largest page a caller may ask for; larger is refused with 422.
MAX_PAGE = 100


class InvalidCursor(DomainError):
    """A cursor that this hub did not hand out."""

    status = 422
    code = "invalid-cursor"


@dataclass(frozen=True, slots=True)
class Page:
    """One page of items and the cursor of the next, if any."""

    items: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: str | None = None


def encode_cursor(created_at: str, oid: str) -> str:
    """The cursor after the row ``(created_at, oid)``."""
    return base64.urlsafe_b64encode(orjson.dumps([created_at, oid])).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[str, str] | None:
    """The position a cursor names; InvalidCursor when it is not one of ours."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise InvalidCursor(N_("cursor is not valid")) from exc
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, str) for v in value)):
        raise InvalidCursor(N_("cursor is not valid"))
    return value[0], value[1]
