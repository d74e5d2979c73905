"""Engine semantics: hysteresis, for:, cooldown, de-duplication, conditions, events, traces."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from hub.clock import FakeClock
from hub.events import Reading
from hub.rules.actions import ListSink
from hub.rules.engine import RuleEngine
from hub.rules.events import DeviceAvailability, Notice, NoticeChange, OfferEvent

MILK_LOW = """
pack: t
rules:
  - id: milk-low
    triggers:
      - {metric: stock, channel: milk, below: 0.5, clear_above: 1.0}
    actions:
      - kind: suggest
        key: milk
        title: "Milk {{ reading.value }} {{ reading.unit }}"
"""


def milk(value: float, device: str = "fridge-1") -> list[Reading]:
    return [Reading(device=device, metric="stock", channel="milk", value=value, unit="l")]


def test_hysteresis_fires_once_until_cleared_above_the_bound(
    make_engine: Callable[..., RuleEngine], sink: ListSink
) -> None:
    engine = make_engine(MILK_LOW.replace("    actions:", "    dedup: false\n    actions:"))
    for v in (0.4, 0.3, 0.6, 0.45, 0.9, 0.2):  # wobbles below clear_above: still latched
        engine.on_readings("h-ana", milk(v))
    assert [a.title for a in sink.actions] == ["Milk 0.4 l"]
    engine.on_readings("h-ana", milk(1.2))  # cleared
    engine.on_readings("h-ana", milk(0.1))  # a new crossing
    assert [a.title for a in sink.actions] == ["Milk 0.4 l", "Milk 0.1 l"]


def test_households_and_devices_latch_separately(
    make_engine: Callable[..., RuleEngine], sink: ListSink
) -> None:
    engine = make_engine(MILK_LOW)
    engine.on_readings("h-ana", milk(0.2))
    engine.on_readings("h-ben", milk(0.2))
    engine.on_readings("h-ben", milk(0.2, device="fridge-2"))
    assert sorted(a.household for a in sink.actions) == ["h-ana", "h-ben"]  # dedup by key
    assert [t["outcome"] for t in engine.traces(household="h-ben")] == ["fired", "held"]


def test_unrelated_readings_do_not_touch_state(
    make_engine: Callable[..., RuleEngine], sink: ListSink
) -> None:
    engine = make_engine(MILK_LOW)
    engine.on_readings(
        "h-ana",
        [
            Reading(device="fridge-1", metric="stock", channel="eggs", value=0, unit="pcs"),
            Reading(device="plug-1", metric="power", value=3.0, unit="W"),
            Reading(device="fridge-1", metric="stock", channel="milk", value="lots"),
        ],
    )
    assert sink.actions == []
    assert engine.traces() == []
    assert engine.value("h-ana", "stock", "milk") is not None  # referenced metric is kept
    assert engine.value("h-ana", "power", None) is None  # unreferenced metric is not


FOR_30M = """
pack: t
rules:
  - id: pantry-low
    triggers:
      - {metric: stock, channel: milk, below: 0.5, clear_above: 1.0, for: 30m}
      - {metric: stock, channel: eggs, below: 1, clear_above: 4, for: 30m}
    actions:
      - kind: suggest
        key: grocery
        title: "Groceries running low: {{ items | join(', ') }}"
"""


def test_for_30m_fires_when_due_not_before(
    make_engine: Callable[..., RuleEngine], sink: ListSink, clock: FakeClock
) -> None:
    engine = make_engine(FOR_30M)
    start = clock.now()
    engine.on_readings("h-ana", milk(0.2))
    assert engine.next_due() == start + timedelta(minutes=30)
    clock.advance(timedelta(minutes=10))
    engine.on_readings(
        "h-ana", [Reading(device="fridge-1", metric="stock", channel="eggs", value=0)]
    )
    clock.advance(timedelta(minutes=19, seconds=59))
    engine.tick(clock.now())
    assert sink.actions == []
    clock.advance(timedelta(seconds=1))
    engine.tick(clock.now())
    assert [a.title for a in sink.actions] == ["Groceries running low: milk, eggs"]
    assert sink.actions[0].created_at == start + timedelta(minutes=30)
    clock.advance(timedelta(minutes=10))
    engine.tick(clock.now())  # eggs' own timer: same key, still open
    assert len(sink.actions) == 1
    assert engine.traces()[-1]["outcome"] == "held"
    assert "open: grocery" in engine.traces()[-1]["reason"]


def test_for_timer_cancelled_when_the_value_recovers(
    make_engine: Callable[..., RuleEngine], sink: ListSink, clock: FakeClock
) -> None:
    engine = make_engine(FOR_30M)
    engine.on_readings("h-ana", milk(0.2))
    clock.advance(timedelta(minutes=5))
    engine.on_readings("h-ana", milk(1.5))  # the door was open, the reading brief
    assert engine.next_due() is None
    clock.advance(timedelta(hours=1))
    engine.tick(clock.now())
    assert sink.actions == []
    assert [t["outcome"] for t in engine.traces()] == ["pending", "cancelled"]


def test_cooldown_holds_a_second_firing_and_is_traced(
    make_engine: Callable[..., RuleEngine], sink: ListSink, clock: FakeClock
) -> None:
    engine = make_engine(
        MILK_LOW.replace("    actions:", "    cooldown: 12h\n    dedup: false\n    actions:")
    )
    engine.on_readings("h-ana", milk(0.2))
    engine.on_readings("h-ana", milk(1.5))
    clock.advance(timedelta(hours=11))
    engine.on_readings("h-ana", milk(0.2))
    assert len(sink.actions) == 1
    held = engine.traces()[-1]
    assert held["outcome"] == "held"
    assert held["reason"] == "cooldown until 2026-11-28T20:00:00Z"
    engine.on_readings("h-ana", milk(1.5))
    clock.advance(timedelta(hours=2))
    engine.on_readings("h-ana", milk(0.2))
    assert len(sink.actions) == 2


def test_dedup_holds_while_open_and_release_reopens(
    make_engine: Callable[..., RuleEngine], sink: ListSink
) -> None:
    engine = make_engine(MILK_LOW)
    engine.on_readings("h-ana", milk(0.2))
    engine.on_readings("h-ana", milk(1.5))
    engine.on_readings("h-ana", milk(0.2))
    assert len(sink.actions) == 1
    assert engine.traces()[-1]["reason"] == "open: milk"
    assert engine.release("h-ana", "milk") == 1
    engine.on_readings("h-ana", milk(1.5))
    engine.on_readings("h-ana", milk(0.2))
    assert len(sink.actions) == 2


def test_offer_event_with_key_releases(
    make_engine: Callable[..., RuleEngine], sink: ListSink
) -> None:
    engine = make_engine(MILK_LOW)
    engine.on_readings("h-ana", milk(0.2))
    engine.on_event(
        OfferEvent(kind="expired", household="h-ana", offer_id="o1", data={"key": "milk"})
    )
    engine.on_readings("h-ana", milk(1.5))
    engine.on_readings("h-ana", milk(0.2))
    assert len(sink.actions) == 2


CONDITIONS = """
pack: t
timezone: Europe/Berlin
rules:
  - id: cond
    triggers:
      - {metric: stock, channel: milk, below: 0.5, latch: false}
    dedup: false
    conditions:
      - time: {after: "08:00", before: "22:00"}
      - household: members
        at_least: 2
      - household: opt_outs
        not_contains: grocery
      - consent: grocery-delivery
      - metric: door_open
        equals: false
    actions:
      - kind: notify
        title: ok
"""


def test_conditions_each_fail_with_a_reason(
    db: object, clock: FakeClock, sink: ListSink, write_pack: Callable[..., object]
) -> None:
    homes = {
        "h-ana": {"members": ["ana", "tom"], "opt_outs": []},
        "h-solo": {"members": ["sol"]},
        "h-out": {"members": ["a", "b"], "opt_outs": ["grocery"]},
    }
    consents = {("h-ana", "grocery-delivery"), ("h-out", "grocery-delivery")}
    engine = RuleEngine(
        db,
        clock,
        sink,  # type: ignore[arg-type]
        household_info=lambda h: homes.get(h, {}),
        consent_check=lambda h, p: (h, p) in consents,
    )
    assert engine.reload([write_pack(CONDITIONS)]).ok
    door = Reading(device="fridge-1", metric="door_open", value=False)
    clock.set(datetime(2026, 11, 28, 6, 30, tzinfo=UTC))  # 07:30 in Berlin
    engine.on_readings("h-ana", [door, *milk(0.2)])
    clock.set(datetime(2026, 11, 28, 9, 0, tzinfo=UTC))
    engine.on_readings("h-solo", [door, *milk(0.2)])
    engine.on_readings("h-out", [door, *milk(0.2)])
    engine.on_readings("h-nobody", [door, *milk(0.2)])
    engine.on_readings(
        "h-ana", [Reading(device="fridge-1", metric="door_open", value=True), *milk(0.2)]
    )
    assert sink.actions == []
    reasons = [t["reason"] for t in engine.traces()]
    assert reasons[0].endswith("07:30 is outside the time window")
    assert reasons[1].endswith("household members ['sol'] is not at least 2.0")
    assert reasons[2].endswith("household opt_outs ['grocery'] contains 'grocery'")
    assert reasons[3].endswith("household members no value")
    assert reasons[4].endswith("door_open True is not False")
    engine.on_readings("h-ana", [door, *milk(0.2)])
    assert [a.household for a in sink.actions] == ["h-ana"]


def test_failing_rule_is_logged_and_others_still_run(
    make_engine: Callable[..., RuleEngine], sink: ListSink, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(
        """
        pack: t
        rules:
          - id: broken
            triggers: [{metric: stock, channel: milk, below: 0.5}]
            actions: [{kind: notify, title: "{{ no_such_name.x }}"}]
          - id: fine
            triggers: [{metric: stock, channel: milk, below: 0.5}]
            actions: [{kind: notify, title: fine}]
        """
    )
    with caplog.at_level(logging.ERROR, logger="hub.rules.engine"):
        engine.on_readings("h-ana", milk(0.2))
    assert [a.title for a in sink.actions] == ["fine"]
    assert "rule t/broken failed for household h-ana" in caplog.text
    broken = engine.traces(rule_id="broken")
    assert broken[-1]["outcome"] == "failed"
    assert "no_such_name" in broken[-1]["reason"]


def test_replay_restores_state_without_firing(
    make_engine: Callable[..., RuleEngine], sink: ListSink, clock: FakeClock
) -> None:
    engine = make_engine(MILK_LOW + FOR_30M.split("rules:\n", 1)[1])
    engine.on_readings("h-ana", milk(0.2), replay=True)
    clock.advance(timedelta(hours=2))
    engine.tick(clock.now())
    engine.on_readings("h-ana", milk(0.3))  # still low: no new crossing
    assert sink.actions == []
    assert engine.next_due() is None
    engine.on_readings("h-ana", milk(1.5))
    engine.on_readings("h-ana", milk(0.2))  # a real crossing after the replay
    assert [a.rule_id for a in sink.actions] == ["milk-low"]


def test_device_offline_for_a_while(
    make_engine: Callable[..., RuleEngine], sink: ListSink, clock: FakeClock
) -> None:
    engine = make_engine(
        """
        pack: t
        rules:
          - id: offline
            triggers: [{device_offline: fridge-1, for: 10m}]
            actions:
              - kind: notify
                key: "off-{{ trigger.device }}"
                title: "{{ trigger.device }} offline"
        """
    )
    engine.on_event(DeviceAvailability(household="h-ana", device="fridge-1", online=False))
    engine.on_event(DeviceAvailability(household="h-ana", device="plug-9", online=False))
    clock.advance(timedelta(minutes=10))
    engine.tick(clock.now())
    assert [(a.title, a.key) for a in sink.actions] == [("fridge-1 offline", "off-fridge-1")]


NOTICE = """
pack: t
timezone: Europe/Berlin
rules:
  - id: gas
    triggers:
      - notice: {when: [arrived, updated], category: Infra, event_contains: gas, overlaps: tonight}
    actions:
      - kind: suggest
        key: "gas-{{ notice.id }}"
        title: "No gas {{ notice.onset | hhmm }}-{{ notice.expires | hhmm }}"
        data: {notice: "{{ notice.id }}", after: "{{ notice.onset }}"}
  - id: gas-cancelled
    dedup: false
    triggers:
      - notice: {when: [cancelled], event_contains: gas}
    actions:
      - {kind: withdraw, key: "gas-{{ notice.id }}"}
"""


def gas_notice(
    onset_h: int,
    end_h: int,
    nid: str = "n1",
    event: str = "Gas outage",
    category: tuple[str, ...] = ("Infra",),
) -> Notice:
    day = datetime(2026, 11, 28, tzinfo=UTC)
    return Notice(
        id=nid,
        event=event,
        category=category,
        onset=day + timedelta(hours=onset_h),
        expires=day + timedelta(hours=end_h),
    )


def test_notice_trigger_filters_and_withdraw(
    make_engine: Callable[..., RuleEngine], sink: ListSink
) -> None:
    engine = make_engine(NOTICE)
    engine.on_event(
        NoticeChange(action="arrived", notice=gas_notice(5, 9, "morning"), households=("h-ana",))
    )
    engine.on_event(
        NoticeChange(
            action="arrived",
            notice=gas_notice(16, 22, "water", event="Water main works"),
            households=("h-ana",),
        )
    )
    engine.on_event(
        NoticeChange(
            action="arrived",
            notice=gas_notice(16, 22, "met", category=("Met",)),
            households=("h-ana",),
        )
    )
    assert sink.actions == []
    n = gas_notice(16, 22)
    engine.on_event(NoticeChange(action="arrived", notice=n, households=("h-ana", "h-ben")))
    engine.on_event(NoticeChange(action="updated", notice=n, households=("h-ana", "h-ben")))
    assert [(a.household, a.title) for a in sink.actions] == [
        ("h-ana", "No gas 17:00-23:00"),
        ("h-ben", "No gas 17:00-23:00"),
    ]
    assert sink.actions[0].data == {"notice": "n1", "after": "2026-11-28T17:00:00+01:00"}
    engine.on_event(NoticeChange(action="cancelled", notice=n, households=("h-ana",)))
    assert [(a.kind, a.key) for a in sink.actions[2:]] == [("withdraw", "gas-n1")]
    # withdrawn: a new arrival may raise it again for h-ana, not for h-ben (still open)
    engine.on_event(NoticeChange(action="arrived", notice=n, households=("h-ana", "h-ben")))
    assert [a.household for a in sink.actions[3:]] == ["h-ana"]
    reasons = [t["reason"] for t in engine.traces(rule_id="gas")]
    assert "notice time does not overlap tonight" in reasons
    assert "event 'Water main works' does not mention 'gas'" in reasons


def test_offer_event_where_filter(make_engine: Callable[..., RuleEngine], sink: ListSink) -> None:
    engine = make_engine(
        """
        pack: t
        rules:
          - id: ride
            triggers: [{offer: {when: [accepted], where: {type: gathering}}}]
            actions:
              - kind: request
                key: "ride-{{ offer.offer_id }}"
                title: "to {{ offer.data.place }}"
        """
    )
    engine.on_event(
        OfferEvent(kind="accepted", household="h-ana", offer_id="b1", data={"type": "delivery"})
    )
    engine.on_event(
        OfferEvent(
            kind="expired",
            household="h-ana",
            offer_id="g1",
            data={"type": "gathering", "place": "Lake Pier"},
        )
    )
    engine.on_event(
        OfferEvent(
            kind="accepted",
            household="h-ana",
            offer_id="g1",
            data={"type": "gathering", "place": "Lake Pier"},
        )
    )
    assert [(a.kind, a.key, a.title) for a in sink.actions] == [
        ("request", "ride-g1", "to Lake Pier")
    ]


SCHEDULE = """
pack: t
timezone: Europe/Berlin
rules:
  - id: morning
    triggers: [{schedule: {cron: "0 9 * * *", households: [h-ana]}}]
    dedup: false
    actions: [{kind: notify, title: "Good morning {{ trigger.scheduled | hhmm }}"}]
  - id: hourly
    triggers: [{schedule: {every: 1h, households: [h-ben]}}]
    dedup: false
    actions: [{kind: notify, title: "tick"}]
"""


def test_schedules_fire_at_their_times(
    make_engine: Callable[..., RuleEngine], sink: ListSink, clock: FakeClock
) -> None:
    engine = make_engine(SCHEDULE)  # 08:00 UTC = 09:00 Berlin: next cron is tomorrow
    assert engine.next_due() == datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    for _ in range(30):
        due = engine.next_due()
        assert due is not None
        if due > datetime(2026, 11, 29, 8, 30, tzinfo=UTC):
            break
        clock.set(due)
        engine.tick(due)
    assert sum(a.title == "tick" for a in sink.actions) == 24
    clock.set(datetime(2026, 11, 29, 8, 0, tzinfo=UTC))
    engine.tick(clock.now())
    assert [a.title for a in sink.actions if a.household == "h-ana"] == ["Good morning 09:00"]


def test_traces_filter_by_rule_and_household(
    make_engine: Callable[..., RuleEngine],
) -> None:
    engine = make_engine(MILK_LOW)
    engine.on_readings("h-ana", milk(0.2))
    engine.on_readings("h-ben", milk(0.2))
    assert len(engine.traces()) == 2
    assert [t["household"] for t in engine.traces(rule_id="milk-low", household="h-ben")] == [
        "h-ben"
    ]
    assert engine.traces(rule_id="t/milk-low") == engine.traces(rule_id="milk-low")
    assert engine.traces(rule_id="other") == []
