"""NoticeBook lifecycle against a real SQLite file: targeting, update, cancel, order, expiry."""

from __future__ import annotations

import itertools
from datetime import timedelta

import orjson
from notices_support import CORPUS, cap_xml

from hub.notices.book import NoticeBook, community_topic, household_topic, topic_id
from hub.notices.parse import parse_document


def one(data: bytes):  # type: ignore[no-untyped-def]
    (notice,) = parse_document(data)
    return notice


def outbox_topics(kit) -> dict[str, list[bytes]]:  # type: ignore[no-untyped-def]
    topics: dict[str, list[bytes]] = {}
    for msg in kit.outbox.pending():
        assert msg.retain
        assert msg.qos == 1
        topics.setdefault(msg.topic, []).append(msg.payload)
    return topics


def test_alert_targets_the_polygon_households_of_its_community(kit) -> None:  # type: ignore[no-untyped-def]
    (change,) = kit.book.ingest(one(cap_xml("gas-1")), community="riverside", source="test")
    assert change.action == "arrived"
    assert change.households == frozenset({"ana", "ben"})
    assert change.thread == "gas-1"
    assert change.notice.community == "riverside"
    topics = outbox_topics(kit)
    assert set(topics) == {
        "community/riverside/notices/gas-1",
        "home/ana/hub/notices/gas-1",
        "home/ben/hub/notices/gas-1",
    }
    body = orjson.loads(topics["community/riverside/notices/gas-1"][0])
    assert body["households"] == 2
    assert "ana" not in orjson.dumps(body).decode()
    assert body["event"] == "Gas supply interruption"
    # Ben's household language is Spanish: his copy uses the Spanish block.
    assert orjson.loads(topics["home/ben/hub/notices/gas-1"][0])["event"] == "Corte de gas"
    assert orjson.loads(topics["home/ana/hub/notices/gas-1"][0])["language"] == "en-GB"
    assert [n.id for n in kit.book.active("riverside")] == ["gas-1"]
    assert [n.id for n in kit.book.active(household="ana")] == ["gas-1"]
    assert kit.book.active(household="chen") == []
    assert kit.book.active("hilltop") == []
    assert kit.book.households_of("gas-1", "riverside") == frozenset({"ana", "ben"})


def test_duplicate_is_ignored(kit) -> None:  # type: ignore[no-untyped-def]
    kit.book.ingest(one(cap_xml("gas-1")), community="riverside")
    before = len(kit.outbox.pending())
    assert kit.book.ingest(one(cap_xml("gas-1")), community="riverside") == []
    assert len(kit.outbox.pending()) == before


def test_update_replaces_and_cancel_retracts(kit) -> None:  # type: ignore[no-untyped-def]
    kit.book.ingest(one(cap_xml("gas-1")), community="riverside")
    kit.outbox.mark_sent(m.id for m in kit.outbox.pending())
    upd = cap_xml(
        "gas-2",
        msg_type="Update",
        references=("gas-1",),
        headline="Planned gas supply interruption, 17:00-21:00",
        expires="2026-11-28T21:00:00+01:00",
    )
    (change,) = kit.book.ingest(one(upd), community="riverside")
    assert (change.action, change.previous, change.thread) == ("updated", "gas-1", "gas-1")
    assert change.notice.headline.endswith("17:00-21:00")
    assert kit.book.state("gas-1") == "superseded"
    topics = outbox_topics(kit)
    assert topics[community_topic("riverside", "gas-1")] == [b""]
    assert topics[household_topic("ana", "gas-1")] == [b""]
    assert orjson.loads(topics[community_topic("riverside", "gas-2")][0])["headline"].endswith(
        "21:00"
    )
    kit.outbox.mark_sent(m.id for m in kit.outbox.pending())

    cancel = cap_xml("gas-3", msg_type="Cancel", references=("gas-1", "gas-2"))
    (change,) = kit.book.ingest(one(cancel), community="riverside")
    assert change.action == "cancelled"
    assert change.notice.id == "gas-2"
    assert change.cause is not None
    assert change.cause.id == "gas-3"
    assert change.households == frozenset({"ana", "ben"})
    assert change.thread == "gas-1"
    assert kit.book.active("riverside") == []
    assert kit.book.state("gas-3") == "applied"
    topics = outbox_topics(kit)
    assert topics == {
        community_topic("riverside", "gas-2"): [b""],
        household_topic("ana", "gas-2"): [b""],
        household_topic("ben", "gas-2"): [b""],
    }


def test_cancel_of_a_replaced_notice_follows_to_its_replacement(kit) -> None:  # type: ignore[no-untyped-def]
    kit.book.ingest(one(cap_xml("a")), community="riverside")
    kit.book.ingest(one(cap_xml("b", msg_type="Update", references=("a",))), community="riverside")
    (change,) = kit.book.ingest(
        one(cap_xml("c", msg_type="Cancel", references=("a",))), community="riverside"
    )
    assert (change.action, change.notice.id) == ("cancelled", "b")


def test_update_and_cancel_before_their_original_wait_for_it(kit) -> None:  # type: ignore[no-untyped-def]
    cancel = cap_xml(
        "c", msg_type="Cancel", references=("a", "b"), sent="2026-11-28T13:00:00+01:00"
    )
    update = cap_xml("b", msg_type="Update", references=("a",), sent="2026-11-28T12:00:00+01:00")
    assert kit.book.ingest(one(cancel), community="riverside") == []
    assert kit.book.ingest(one(update), community="riverside") == []
    assert kit.book.state("b") == "pending"
    assert kit.outbox.pending() == []
    changes = kit.book.ingest(one(cap_xml("a")), community="riverside")
    assert [(c.action, c.notice.id) for c in changes] == [
        ("arrived", "a"),
        ("updated", "b"),
        ("cancelled", "b"),
    ]
    assert kit.book.active() == []
    assert {kit.book.state(x) for x in "abc"} == {"superseded", "cancelled", "applied"}


def test_update_before_original_then_original(kit) -> None:  # type: ignore[no-untyped-def]
    assert (
        kit.book.ingest(
            one(cap_xml("b", msg_type="Update", references=("a",), headline="later")),
            community="riverside",
        )
        == []
    )
    changes = kit.book.ingest(one(cap_xml("a")), community="riverside")
    assert [c.action for c in changes] == ["arrived", "updated"]
    assert [n.headline for n in kit.book.active("riverside")] == ["later"]


def test_expiry_removes_and_clears(kit) -> None:  # type: ignore[no-untyped-def]
    kit.book.ingest(one(cap_xml("gas-1")), community="riverside")
    kit.outbox.mark_sent(m.id for m in kit.outbox.pending())
    assert kit.book.expire() == []  # 11:00 UTC, expires 22:00 UTC
    kit.clock.advance(timedelta(hours=11))
    (change,) = kit.book.expire()
    assert (change.action, change.notice.id) == ("expired", "gas-1")
    assert change.households == frozenset({"ana", "ben"})
    assert kit.book.active() == []
    assert kit.book.state("gas-1") == "expired"
    assert set(outbox_topics(kit)) == {
        "community/riverside/notices/gas-1",
        "home/ana/hub/notices/gas-1",
        "home/ben/hub/notices/gas-1",
    }
    assert kit.book.expire() == []


def test_alert_already_expired_on_arrival_changes_nothing(kit) -> None:  # type: ignore[no-untyped-def]
    old = cap_xml("old", expires="2026-11-28T10:00:00+01:00")
    assert kit.book.ingest(one(old), community="riverside") == []
    assert kit.book.state("old") == "expired"
    assert kit.outbox.pending() == []


def test_pending_cancel_is_dropped_after_a_week(kit) -> None:  # type: ignore[no-untyped-def]
    kit.book.ingest(one(cap_xml("c", msg_type="Cancel", references=("zz",))), community="riverside")
    kit.clock.advance(timedelta(days=8))
    kit.book.expire()
    assert kit.book.state("c") == "expired"


def test_no_area_goes_to_the_whole_community(kit) -> None:  # type: ignore[no-untyped-def]
    doc = cap_xml("all", polygon=None).replace(b"<areaDesc>Mill Lane and around</areaDesc>", b"")
    doc = doc.replace(b"<area></area>", b"")
    (change,) = kit.book.ingest(one(doc), community="riverside")
    assert change.notice.area.is_empty
    assert change.households == frozenset({"ana", "ben", "chen"})


def test_outage_list_targets_by_street_name(kit) -> None:  # type: ignore[no-untyped-def]
    doc = orjson.loads((CORPUS / "tauron_outages_planned_subset.json").read_bytes())
    doc["OutageItems"][0]["Message"] = "Riverside: Hill Road 1-17."
    doc["OutageItems"][0]["EndDate"] = "2026-11-28T20:00:00Z"
    (change,) = kit.book.ingest_bytes(orjson.dumps(doc), community="riverside", source="test")
    assert change.households == frozenset({"chen"})


def test_same_alert_in_two_communities_is_two_notices(kit) -> None:  # type: ignore[no-untyped-def]
    kit.book.ingest(one(cap_xml("gas-1")), community="riverside")
    (change,) = kit.book.ingest(one(cap_xml("gas-1")), community="hilltop")
    assert change.households == frozenset({"dora"})
    assert kit.book.get("gas-1", "hilltop") is not None


def test_state_survives_a_restart(kit) -> None:  # type: ignore[no-untyped-def]
    kit.book.ingest(one(cap_xml("gas-1")), community="riverside")
    again = NoticeBook(kit.db, kit.outbox, kit.clock)
    (notice,) = again.active("riverside")
    assert notice == kit.book.get("gas-1")
    assert [i.language for i in notice.infos] == ["en-GB", "es-ES"]


def test_topic_id_keeps_the_topic_shape() -> None:
    assert topic_id("a/b+c#d") == "a%2Fb%2Bc%23d"
    assert topic_id("KSTO1055887203") == "KSTO1055887203"


def test_chain_of_updates_in_any_order_ends_the_same(kit) -> None:  # type: ignore[no-untyped-def]
    for n, order in enumerate(itertools.permutations("abc")):
        a, b, c = f"a{n}", f"b{n}", f"c{n}"
        docs = {
            "a": cap_xml(a, sent="2026-11-28T11:00:00+01:00"),
            "b": cap_xml(b, msg_type="Update", references=(a,), sent="2026-11-28T11:10:00+01:00"),
            "c": cap_xml(
                c,
                msg_type="Update",
                references=(b,),
                headline="third",
                sent="2026-11-28T11:20:00+01:00",
            ),
        }
        actions = []
        for key in order:
            actions += [x.action for x in kit.book.ingest(one(docs[key]), community="riverside")]
        assert sorted(actions) == ["arrived", "updated", "updated"], order
        active = [x for x in kit.book.active("riverside") if x.id in (a, b, c)]
        assert [x.id for x in active] == [c], order
        assert active[0].headline == "third"
        assert (kit.book.state(a), kit.book.state(b)) == ("superseded", "superseded")
