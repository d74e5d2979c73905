"""Build the configured history from the hub's settings.

Settings read (environment names with the ``HUB_`` prefix; attributes of the object
passed in, missing ones take the defaults below):

=========================== ========== ===================================================
setting                      default    meaning
=========================== ========== ===================================================
``history_raw_days``         7          raw readings kept in SQLite
``history_agg_days``         365        aggregates kept in SQLite
``history_bucket_s``         300        aggregate width (must divide a day)
``influx_url``               unset      also send readings to this InfluxDB
``influx_token``             ""         2.x token; 1.x ``user:password`` (or empty)
``influx_org``               ""         2.x organisation
``influx_bucket``            ``hub``    2.x bucket; 1.x ``database[/retention-policy]``
``influx_api``               auto       ``v1`` or ``v2``; auto: ``v2`` when an org is set
``influx_max_buffer``        50000      points held while InfluxDB is away
=========================== ========== ===================================================
"""

from __future__ import annotations

from typing import Any

from hub.clock import Clock
from hub.errors import ConfigError
from hub.storage.database import Database
from hub.telemetry.base import HistoryStore
from hub.telemetry.fanout import FanoutHistory
from hub.telemetry.influx import InfluxHistory
from hub.telemetry.sqlite import SQLiteHistory


def _secret(value: Any) -> str:
    getter = getattr(value, "get_secret_value", None)
    return str(getter() if getter else (value or ""))


def build_history(db: Database, settings: Any, *, clock: Clock | None = None) -> HistoryStore:
    """The SQLite history, fanned out to InfluxDB when ``influx_url`` is set.

    Args:
        db: the hub's database.
        settings: the hub's settings object (see the table above).
        clock: the hub's clock.
    """
    store = SQLiteHistory(
        db,
        raw_days=int(getattr(settings, "history_raw_days", 7)),
        agg_days=int(getattr(settings, "history_agg_days", 365)),
        bucket_s=int(getattr(settings, "history_bucket_s", 300)),
        clock=clock,
    )
    url = getattr(settings, "influx_url", None)
    if not url:
        return store
    org = str(getattr(settings, "influx_org", "") or "")
    api = str(getattr(settings, "influx_api", None) or ("v2" if org else "v1"))
    if api not in ("v1", "v2"):
        raise ConfigError(f"HUB_INFLUX_API must be v1 or v2, not {api!r}")
    influx = InfluxHistory(
        url,
        token=_secret(getattr(settings, "influx_token", "")) or None,
        org=org or None,
        bucket=str(getattr(settings, "influx_bucket", "hub") or "hub"),
        api="v1" if api == "v1" else "v2",
        max_buffer=int(getattr(settings, "influx_max_buffer", 50_000)),
    )
    return FanoutHistory(store, influx)
