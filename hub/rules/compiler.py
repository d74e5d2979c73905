"""Compiling validated packs into objects the engine evaluates cheaply.

Compilation happens once per (re)load: templates are compiled, conditions become small
callables, metric triggers become :class:`Watch` objects that the engine indexes by
``(metric, channel)``, so a reading no rule mentions costs one dictionary lookup.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as dtime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from hub.rules.loader import LoadedPack
from hub.rules.model import (
    ActionSpec,
    AnyCondition,
    Comparison,
    ConsentCondition,
    DeviceOfflineTrigger,
    HouseholdCondition,
    MetricCondition,
    MetricTrigger,
    NoticeSpec,
    NoticeTrigger,
    OfferSpec,
    OfferTrigger,
    PathCondition,
    Rule,
    ScheduleSpec,
    ScheduleTrigger,
    TimeCondition,
)
from hub.rules.templates import Renderer, compile_data, compile_template

ACTIVE, CLEAR, KEEP = 1, -1, 0
_NUMBER = (int, float)
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_OPS = frozenset(Comparison.model_fields)
TRACKED_KINDS = frozenset({"suggest", "request", "offer"})
"""Action kinds that stay open (de-duplicated) until released."""


class EvalScope(Protocol):
    """What conditions may ask the engine while evaluating."""

    def value(self, household: str, metric: str, channel: str | None) -> Any: ...

    def consent(self, household: str, purpose: str) -> bool: ...


Ctx = dict[str, Any]
CheckFn = Callable[[Ctx, EvalScope], "tuple[bool, str]"]


class Watch:
    """One metric trigger of one rule, as the hot path sees it."""

    __slots__ = (
        "_label",
        "channel",
        "clear",
        "device",
        "for_s",
        "idx",
        "key",
        "latch",
        "metric",
        "mode",
        "rule",
        "threshold",
    )

    def __init__(self, rule: CompiledRule, idx: int, spec: MetricTrigger | DeviceOfflineTrigger):
        self._label: str | None = None
        self.rule = rule
        self.idx = idx
        self.key = (rule.uid, idx)
        self.mode: str
        self.threshold: Any
        self.clear: float | None
        self.device: str | None
        if isinstance(spec, DeviceOfflineTrigger):
            self.metric, self.channel = "online", None
            self.device = None if spec.device_offline in {"any", "*"} else spec.device_offline
            self.mode, self.threshold, self.clear = "equals", False, None
            self.for_s, self.latch = spec.for_ or 0.0, True
            return
        self.metric, self.channel, self.device = spec.metric, spec.channel, spec.device
        self.for_s, self.latch = spec.for_ or 0.0, spec.latch
        if spec.below is not None:
            self.mode, self.threshold = "below", spec.below
            self.clear = spec.clear_above if spec.clear_above is not None else spec.below
        elif spec.above is not None:
            self.mode, self.threshold = "above", spec.above
            self.clear = spec.clear_below if spec.clear_below is not None else spec.above
        else:
            self.mode, self.threshold, self.clear = "equals", spec.equals, None

    def judge(self, value: Any) -> int:
        """ACTIVE when the trigger condition holds, CLEAR when it is released, KEEP in the
        hysteresis band (or for a value of the wrong type)."""
        mode = self.mode
        if mode == "below":
            if type(value) not in _NUMBER:
                return KEEP
            if value < self.threshold:
                return ACTIVE
            return CLEAR if value >= self.clear else KEEP
        if mode == "above":
            if type(value) not in _NUMBER:
                return KEEP
            if value > self.threshold:
                return ACTIVE
            return CLEAR if value <= self.clear else KEEP
        # equals: bool and number never match each other (False == 0 in Python)
        same = value == self.threshold and (type(value) is bool) == (type(self.threshold) is bool)
        return ACTIVE if same else CLEAR

    def describe(self) -> str:
        """The trigger as text (``stock[milk] < 0.5``); the same every time, so made once."""
        label = self._label
        if label is None:
            label = self._label = self._describe()
        return label

    def _describe(self) -> str:
        where = self.metric + (f"[{self.channel}]" if self.channel else "")
        if self.mode == "equals":
            return f"{where} == {self.threshold!r}"
        sign = "<" if self.mode == "below" else ">"
        return f"{where} {sign} {self.threshold}"


@dataclass(slots=True)
class CompiledAction:
    spec: ActionSpec
    key: Renderer | None
    title: Renderer
    message: Renderer
    data: Callable[[Mapping[str, Any]], Any]


@dataclass(slots=True)
class ScheduleEntry:
    idx: int
    spec: ScheduleSpec
    tz: ZoneInfo

    def next_after(self, moment: datetime) -> datetime | None:
        """The first fire time strictly after ``moment`` (None: never again)."""
        spec = self.spec
        if spec.every is not None:
            return moment + timedelta(seconds=spec.every)
        if spec.cron is not None:
            trig = CronTrigger.from_crontab(spec.cron, timezone=self.tz)
            nxt: datetime | None = trig.get_next_fire_time(None, moment + timedelta(seconds=1))
            return nxt
        assert spec.at is not None
        try:
            at = dtime.fromisoformat(spec.at)
        except ValueError:
            once = datetime.fromisoformat(spec.at)
            if once.tzinfo is None:
                once = once.replace(tzinfo=self.tz)
            return once if once > moment else None
        trig = CronTrigger(hour=at.hour, minute=at.minute, second=at.second, timezone=self.tz)
        daily: datetime | None = trig.get_next_fire_time(None, moment + timedelta(seconds=1))
        return daily


@dataclass(slots=True, eq=False)
class CompiledRule:
    """A rule ready for evaluation."""

    uid: str
    id: str
    pack: str
    file: str
    line: int
    digest: str
    spec: Rule
    tz: ZoneInfo
    conditions: list[tuple[str, CheckFn]] = field(default_factory=list)
    actions: list[CompiledAction] = field(default_factory=list)
    watches: list[Watch] = field(default_factory=list)
    notices: list[tuple[int, NoticeSpec]] = field(default_factory=list)
    offers: list[tuple[int, OfferSpec]] = field(default_factory=list)
    schedules: list[ScheduleEntry] = field(default_factory=list)
    names: frozenset[str] = frozenset()
    tracked: set[tuple[str, str | None]] = field(default_factory=set)
    _needs_home: bool | None = None

    @property
    def needs_home(self) -> bool:
        # Asked at every firing; the rule does not change once compiled, so walk it once.
        if self._needs_home is None:
            self._needs_home = "home" in self.names or any(
                isinstance(c, HouseholdCondition) for c in _walk_conditions(self.spec.conditions)
            )
        return self._needs_home


def compile_pack(loaded: LoadedPack) -> list[CompiledRule]:
    """Compile every enabled rule of a validated pack."""
    tz = ZoneInfo(loaded.model.timezone)
    out = []
    for rule in loaded.model.rules:
        if not rule.enabled:
            continue
        digest = hashlib.sha256(
            (loaded.model.timezone + "\n" + rule.model_dump_json(by_alias=True)).encode()
        ).hexdigest()[:16]
        cr = CompiledRule(
            uid=f"{loaded.name}/{rule.id}",
            id=rule.id,
            pack=loaded.name,
            file=loaded.path,
            line=loaded.rule_lines.get(rule.id, 0),
            digest=digest,
            spec=rule,
            tz=tz,
        )
        names: set[str] = set()
        for idx, trig in enumerate(rule.triggers):
            if isinstance(trig, MetricTrigger | DeviceOfflineTrigger):
                w = Watch(cr, idx, trig)
                cr.watches.append(w)
                cr.tracked.add((w.metric, w.channel))
            elif isinstance(trig, NoticeTrigger):
                cr.notices.append((idx, trig.notice))
            elif isinstance(trig, OfferTrigger):
                cr.offers.append((idx, trig.offer))
            elif isinstance(trig, ScheduleTrigger):
                cr.schedules.append(ScheduleEntry(idx, trig.schedule, tz))
        for cond in rule.conditions:
            cr.conditions.append((_describe(cond), _compile_condition(cond, tz)))
            for c in _walk_conditions([cond]):
                if isinstance(c, MetricCondition):
                    cr.tracked.add((c.metric, c.channel))
        for spec in rule.actions:
            key_fn, n1 = compile_template(spec.key) if spec.key else (None, frozenset())
            title_fn, n2 = compile_template(spec.title)
            msg_fn, n3 = compile_template(spec.message)
            data_fn, n4 = compile_data(spec.data)
            names |= n1 | n2 | n3 | n4
            cr.actions.append(CompiledAction(spec, key_fn, title_fn, msg_fn, data_fn))
        cr.names = frozenset(names)
        out.append(cr)
    return out


# -- conditions -------------------------------------------------------------------------


def _walk_conditions(conds: Any) -> list[Any]:
    out = []
    for c in conds:
        out.append(c)
        if isinstance(c, AnyCondition):
            out.extend(_walk_conditions(c.any))
    return out


def _describe(cond: Any) -> str:
    data = cond.model_dump(by_alias=True, exclude_defaults=True)
    return ", ".join(f"{k}: {v}" for k, v in data.items())


def resolve_path(root: Any, path: str) -> tuple[bool, Any]:
    """Follow a dotted path through mappings and sequences; (found, value)."""
    current = root
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list | tuple) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return False, None
    return True, current


def compare(spec: Comparison, found: bool, value: Any) -> tuple[bool, str]:
    """Apply every operator given in ``spec``; (ok, why not)."""
    s = spec.model_fields_set & _OPS
    if "exists" in s and spec.exists is not None and found != spec.exists:
        return False, "is missing" if spec.exists else f"exists ({value!r})"
    if not found:
        # A missing value fails the positive comparisons and passes the negative ones
        # (no opt_outs at all does not contain "grocery").
        if s - {"exists", "not_equals", "not_contains"}:
            return False, "no value"
        return True, ""
    if "equals" in s and value != spec.equals:
        return False, f"{value!r} is not {spec.equals!r}"
    if "not_equals" in s and value == spec.not_equals:
        return False, f"{value!r} equals {spec.not_equals!r}"
    for op in ("below", "above", "at_least", "at_most"):
        if op not in s:
            continue
        bound: float = getattr(spec, op)
        subject: Any = len(value) if isinstance(value, list | tuple | dict | set) else value
        if type(subject) not in _NUMBER:
            return False, f"{value!r} is not a number"
        if not _ORDER[op](subject, bound):
            return False, f"{value!r} is not {op.replace('_', ' ')} {bound}"
    if "one_of" in s and spec.one_of is not None and value not in spec.one_of:
        return False, f"{value!r} is not one of {spec.one_of!r}"
    if "contains" in s and not _contains(value, spec.contains):
        return False, f"{value!r} does not contain {spec.contains!r}"
    if "not_contains" in s and _contains(value, spec.not_contains):
        return False, f"{value!r} contains {spec.not_contains!r}"
    return True, ""


_ORDER: dict[str, Callable[[Any, float], bool]] = {
    "below": lambda a, b: bool(a < b),
    "above": lambda a, b: bool(a > b),
    "at_least": lambda a, b: bool(a >= b),
    "at_most": lambda a, b: bool(a <= b),
}


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        return str(item).lower() in container.lower()
    if isinstance(container, list | tuple | set | frozenset | Mapping):
        return item in container
    return False


def _compile_condition(cond: Any, tz: ZoneInfo) -> CheckFn:
    if isinstance(cond, MetricCondition):
        metric, channel, device = cond.metric, cond.channel, cond.device

        def check_metric(ctx: Ctx, scope: EvalScope) -> tuple[bool, str]:
            reading = scope.value(ctx["household"], metric, channel)
            found = reading is not None and (device is None or reading.device == device)
            ok, why = compare(cond, found, reading.value if found else None)
            return ok, "" if ok else f"{metric}{f'[{channel}]' if channel else ''} {why}"

        return check_metric
    if isinstance(cond, TimeCondition):
        after = dtime.fromisoformat(cond.time.after) if cond.time.after else None
        before = dtime.fromisoformat(cond.time.before) if cond.time.before else None
        days = set(cond.time.weekdays or ())

        def check_time(ctx: Ctx, scope: EvalScope) -> tuple[bool, str]:
            local = ctx["now"]
            t = local.time()
            if days and _WEEKDAYS[local.weekday()] not in days:
                return False, f"{_WEEKDAYS[local.weekday()]} is not in {sorted(days)}"
            if after and before and before <= after:  # wraps midnight
                ok = t >= after or t < before
            else:
                ok = (after is None or t >= after) and (before is None or t < before)
            return ok, "" if ok else f"{t.strftime('%H:%M')} is outside the time window"

        return check_time
    if isinstance(cond, HouseholdCondition):

        def check_home(ctx: Ctx, scope: EvalScope) -> tuple[bool, str]:
            found, value = resolve_path(ctx.get("home") or {}, cond.household)
            ok, why = compare(cond, found, value)
            return ok, "" if ok else f"household {cond.household} {why}"

        return check_home
    if isinstance(cond, ConsentCondition):

        def check_consent(ctx: Ctx, scope: EvalScope) -> tuple[bool, str]:
            ok = scope.consent(ctx["household"], cond.consent)
            return ok, "" if ok else f"no consent for {cond.consent}"

        return check_consent
    if isinstance(cond, PathCondition):

        def check_path(ctx: Ctx, scope: EvalScope) -> tuple[bool, str]:
            found, value = resolve_path(ctx, cond.path)
            ok, why = compare(cond, found, value)
            return ok, "" if ok else f"{cond.path} {why}"

        return check_path
    if isinstance(cond, AnyCondition):
        parts = [_compile_condition(c, tz) for c in cond.any]

        def check_any(ctx: Ctx, scope: EvalScope) -> tuple[bool, str]:
            whys = []
            for part in parts:
                ok, why = part(ctx, scope)
                if ok:
                    return True, ""
                whys.append(why)
            return False, "none of: " + "; ".join(whys)

        return check_any
    raise TypeError(f"unknown condition {cond!r}")  # pragma: no cover - the model forbids it
