"""Alert, update and cancel end to end over a real Mosquitto, read back as retained messages."""

from __future__ import annotations

from datetime import timedelta

import orjson
from notices_support import cap_xml, read_retained, relay_pending

NOTICES = "community/riverside/notices/#"
HOMES = "home/+/hub/notices/#"


def live(retained: dict[str, bytes], mark: str) -> dict[str, dict]:  # type: ignore[type-arg]
    """Non-empty retained messages of this test (topics holding ``mark``)."""
    return {t: orjson.loads(p) for t, p in retained.items() if p and mark in t}


def test_alert_update_cancel_over_the_broker(kit, broker) -> None:  # type: ignore[no-untyped-def]
    book = kit.book
    # Unique ids per test run: the broker is shared by the session.
    gas1, gas2, gas3 = "e2e-gas-1", "e2e-gas-2", "e2e-gas-3"

    book.ingest_bytes(cap_xml(gas1), community="riverside", source="mqtt:gas-utility")
    assert relay_pending(kit.outbox, broker) == 3
    seen = live(read_retained(broker, NOTICES, HOMES), "e2e-")
    assert set(seen) == {
        f"community/riverside/notices/{gas1}",
        f"home/ana/hub/notices/{gas1}",
        f"home/ben/hub/notices/{gas1}",
    }
    community_copy = seen[f"community/riverside/notices/{gas1}"]
    assert community_copy["households"] == 2
    assert community_copy["category"] == ["Infra"]
    assert community_copy["expires"] == "2026-11-28T23:00:00+01:00"
    assert seen[f"home/ben/hub/notices/{gas1}"]["event"] == "Corte de gas"
    assert read_retained(broker, "home/chen/#") == {}

    upd = cap_xml(
        gas2,
        msg_type="Update",
        references=(gas1,),
        expires="2026-11-28T21:00:00+01:00",
        headline="Planned gas supply interruption, 17:00-21:00",
    )
    (change,) = book.ingest_bytes(upd, community="riverside", source="mqtt:gas-utility")
    assert change.action == "updated"
    relay_pending(kit.outbox, broker)
    seen = live(read_retained(broker, NOTICES, HOMES), "e2e-")
    assert set(seen) == {
        f"community/riverside/notices/{gas2}",
        f"home/ana/hub/notices/{gas2}",
        f"home/ben/hub/notices/{gas2}",
    }
    assert seen[f"community/riverside/notices/{gas2}"]["expires"] == "2026-11-28T21:00:00+01:00"

    # The same update again changes nothing and sends nothing.
    assert book.ingest_bytes(upd, community="riverside", source="mqtt:gas-utility") == []
    assert kit.outbox.pending() == []

    cancel = cap_xml(gas3, msg_type="Cancel", references=(gas1, gas2))
    (change,) = book.ingest_bytes(cancel, community="riverside", source="mqtt:gas-utility")
    assert change.action == "cancelled"
    relay_pending(kit.outbox, broker)
    assert live(read_retained(broker, NOTICES, HOMES), "e2e-") == {}


def test_out_of_order_and_expiry_over_the_broker(kit, broker) -> None:  # type: ignore[no-untyped-def]
    book = kit.book
    a, b = "ooo-alert", "ooo-update"
    upd = cap_xml(b, msg_type="Update", references=(a,), headline="moved to 18:00")
    assert book.ingest_bytes(upd, community="riverside", source="t") == []
    assert relay_pending(kit.outbox, broker) == 0
    assert live(read_retained(broker, NOTICES), "ooo-") == {}

    changes = book.ingest_bytes(cap_xml(a), community="riverside", source="t")
    assert [c.action for c in changes] == ["arrived", "updated"]
    relay_pending(kit.outbox, broker)
    seen = live(read_retained(broker, NOTICES), "ooo-")
    assert f"community/riverside/notices/{a}" not in seen
    assert seen[f"community/riverside/notices/{b}"]["headline"] == "moved to 18:00"

    kit.clock.advance(timedelta(hours=12))
    (change,) = book.expire()
    assert (change.action, change.notice.id) == ("expired", b)
    relay_pending(kit.outbox, broker)
    assert live(read_retained(broker, NOTICES, HOMES), "ooo-") == {}
