"""Values as templates and actions see them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hub.clock import iso_utc
from hub.events import Reading


def iso(ts: float) -> str:
    return iso_utc(datetime.fromtimestamp(ts, UTC))


_PLAIN = frozenset({str, int, float, bool, type(None)})


def jsonable(value: Any) -> Any:
    """Rendered data as JSON-ready values: datetimes become ISO 8601 text."""
    if type(value) is dict:
        # The common case (every firing): a map of plain values is already JSON-ready.
        plain = _PLAIN
        for v in value.values():
            if type(v) not in plain:
                break
        else:
            if all(type(k) is str for k in value):
                return dict(value)
    elif type(value) in _PLAIN:
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def reading_dict(r: Reading) -> dict[str, Any]:
    """A reading as templates see it: ``ts`` is epoch seconds (a number), ``ts_iso`` text."""
    ts: float | None = None
    if r.ts:
        try:
            ts = datetime.fromisoformat(r.ts).timestamp()
        except ValueError:
            ts = None
    return {
        "device": r.device,
        "metric": r.metric,
        "channel": r.channel,
        "value": r.value,
        "unit": r.unit,
        "ts": ts,
        "ts_iso": r.ts,
    }
