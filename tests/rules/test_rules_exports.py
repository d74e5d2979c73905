"""The public names of hub.rules (what the rest of the hub may import)."""

from __future__ import annotations

import hub.rules


def test_public_names() -> None:
    assert sorted(hub.rules.__all__) == [
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
    for name in hub.rules.__all__:
        assert getattr(hub.rules, name) is not None
