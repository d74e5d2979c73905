"""Rules: YAML rule packs turned into suggestions, requests and offers.

Public API (see :mod:`hub.rules.engine` for the wiring)::

    from hub.rules import RuleEngine, Action, ActionSink, ListSink, DatabaseSink, OutboxSink
    from hub.rules import OfferEvent, NoticeChange, DeviceAvailability, watch_packs, run_timers
"""

from hub.rules.actions import Action, ActionSink, DatabaseSink, ListSink, OutboxSink
from hub.rules.engine import RuleEngine
from hub.rules.events import (
    DeviceAvailability,
    Notice,
    NoticeChange,
    NoticeChangeLike,
    NoticeLike,
    OfferEvent,
    OfferEventLike,
)
from hub.rules.loader import PackInvalid, check_paths, load_pack
from hub.rules.packset import ReloadResult
from hub.rules.timers import run_timers
from hub.rules.watch import watch_packs

__all__ = [
    "Action",
    "ActionSink",
    "DatabaseSink",
    "DeviceAvailability",
    "ListSink",
    "Notice",
    "NoticeChange",
    "NoticeChangeLike",
    "NoticeLike",
    "OfferEvent",
    "OfferEventLike",
    "OutboxSink",
    "PackInvalid",
    "ReloadResult",
    "RuleEngine",
    "check_paths",
    "load_pack",
    "run_timers",
    "watch_packs",
]
