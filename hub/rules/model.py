"""The rule-pack format: pydantic models of one YAML pack (``rules/<pack>.yaml``).

These models are the single source of truth of the language: ``rules/schema.json`` is
generated from them (``hub rules schema``) and ``rules/README.md`` documents them. Every
model forbids unknown keys, so that a typo (``clear_abve``) is an error with a line
number, not a silently ignored setting.

A pack::

    pack: community
    timezone: Europe/Berlin
    rules:
      - id: pantry-low
        triggers:
          - {metric: stock, channel: milk, below: 0.5, clear_above: 1.0, for: 30m}
        conditions:
          - consent: grocery-delivery
        cooldown: 12h
        actions:
          - kind: suggest
            key: grocery-low
            title: "Groceries running low: {{ items | join(', ') }}. Delivery?"
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from hub.events import OFFER_EVENT_KINDS
from hub.rules.durations import DURATION_PATTERN, parse_duration
from hub.rules.templates import compile_data, compile_template

Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": DURATION_PATTERN},
                {"type": "number", "minimum": 0},
            ],
            "description": "seconds, or a string like 2s, 30m, 12h, 1h30m, 7d",
        }
    ),
]
Scalar = bool | int | float | str
RuleId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]

NOTICE_ACTIONS = ("arrived", "updated", "cancelled", "expired")
OFFER_KINDS = OFFER_EVENT_KINDS
ACTION_KINDS = (
    "suggest",
    "notify",
    "request",
    "offer",
    "reschedule",
    "cancel",
    "set_flag",
    "withdraw",
)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Comparison(_Strict):
    """Comparison operators shared by the conditions; give at least one, all must hold."""

    equals: Scalar | None = None
    not_equals: Scalar | None = None
    below: float | None = None
    above: float | None = None
    at_least: float | None = None
    at_most: float | None = None
    one_of: list[Scalar] | None = None
    contains: Scalar | None = None
    not_contains: Scalar | None = None
    exists: bool | None = None

    @model_validator(mode="after")
    def _one_operator(self) -> Comparison:
        if not (self.model_fields_set & set(Comparison.model_fields)):
            raise ValueError(
                "give a comparison: equals, not_equals, below, above, at_least, at_most,"
                " one_of, contains, not_contains or exists"
            )
        return self


# -- triggers ---------------------------------------------------------------------------


class MetricTrigger(_Strict):
    """A reading crossing a threshold, with optional hysteresis and ``for:`` delay.

    ``below: 0.5, clear_above: 1.0`` becomes active under 0.5 and clears only above 1.0, so
    a value wobbling around 0.5 does not fire again and again. With ``latch: false`` every
    matching reading is a trigger of its own (no hysteresis, no ``for:``).
    """

    TAG: ClassVar[str] = "metric"

    metric: str
    channel: str | None = None
    device: str | None = None
    below: float | None = None
    above: float | None = None
    equals: Scalar | None = None
    clear_above: float | None = None
    clear_below: float | None = None
    for_: Duration | None = Field(default=None, alias="for")
    latch: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> MetricTrigger:
        given = [k for k in ("below", "above", "equals") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of below, above or equals")
        if self.clear_above is not None:
            if self.below is None:
                raise ValueError("clear_above goes with below")
            if self.clear_above < self.below:
                raise ValueError("clear_above must be at least below")
        if self.clear_below is not None:
            if self.above is None:
                raise ValueError("clear_below goes with above")
            if self.clear_below > self.above:
                raise ValueError("clear_below must be at most above")
        if not self.latch and self.for_:
            raise ValueError("for: needs a latched trigger (latch: true)")
        return self


class DeviceOfflineTrigger(_Strict):
    """A device reported offline (availability / LWT), optionally for a while."""

    TAG: ClassVar[str] = "device_offline"

    device_offline: str = Field(description='a device id, or "any"')
    for_: Duration | None = Field(default=None, alias="for")


class NoticeSpec(_Strict):
    """Which notice changes fire: action, category, event, time window."""

    when: list[Literal["arrived", "updated", "cancelled", "expired"]] = ["arrived", "updated"]
    category: Annotated[
        list[str] | None,
        WithJsonSchema(
            {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
        ),
    ] = None
    event: str | None = None
    event_contains: str | None = None
    overlaps: Literal["tonight", "today", "tomorrow"] | Duration | None = Field(
        default=None,
        description="tonight (17:00-24:00), today, tomorrow (pack time zone), or a duration"
        " from now: the notice's onset..expires must overlap that window",
    )

    @field_validator("category", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class NoticeTrigger(_Strict):
    """A community notice for the household's area arrived, was updated, cancelled."""

    TAG: ClassVar[str] = "notice"

    notice: NoticeSpec


class ScheduleSpec(_Strict):
    """One of ``cron`` (5 fields), ``every`` (duration) or ``at`` (HH:MM daily, or ISO time)."""

    cron: str | None = None
    every: Duration | None = None
    at: str | None = None
    households: list[str] | None = Field(
        default=None, description="only these households (default: every known household)"
    )

    @model_validator(mode="after")
    def _one(self) -> ScheduleSpec:
        given = [k for k in ("cron", "every", "at") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of cron, every or at")
        if self.cron is not None:
            try:
                CronTrigger.from_crontab(self.cron)
            except ValueError as exc:
                raise ValueError(f"bad cron expression {self.cron!r}: {exc}") from exc
        if self.every is not None and self.every <= 0:
            raise ValueError("every must be positive")
        if self.at is not None:
            try:
                time.fromisoformat(self.at)
            except ValueError:
                try:
                    datetime.fromisoformat(self.at)
                except ValueError as exc:
                    raise ValueError(
                        f"at must be HH:MM or an ISO date-time, not {self.at!r}"
                    ) from exc
        return self


class ScheduleTrigger(_Strict):
    """A schedule, fired for every household (or the listed ones)."""

    TAG: ClassVar[str] = "schedule"

    schedule: ScheduleSpec


class OfferSpec(_Strict):
    """Offer and booking events; ``where`` matches dotted paths in the event's data."""

    when: list[
        Literal[
            "accepted",
            "declined",
            "expired",
            "cancelled",
            "clashing",
            "claimed",
            "scheduled",
            "moved",
            "fulfilled",
            "rated",
            "withdrawn",
            "waitlisted",
            "booked",
            "appliance-idle",
            "wanted-match",
            "appliance-use-started",
            "appliance-use-ended",
        ]
    ]
    where: dict[str, Scalar] = {}


class OfferTrigger(_Strict):
    """An offer or booking event of the household."""

    TAG: ClassVar[str] = "offer"

    offer: OfferSpec


def _trigger_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        for tag in ("metric", "device_offline", "notice", "schedule", "offer"):
            if tag in value:
                return tag
        return None
    return getattr(value, "TAG", None)


Trigger = Annotated[
    Annotated[MetricTrigger, Tag("metric")]
    | Annotated[DeviceOfflineTrigger, Tag("device_offline")]
    | Annotated[NoticeTrigger, Tag("notice")]
    | Annotated[ScheduleTrigger, Tag("schedule")]
    | Annotated[OfferTrigger, Tag("offer")],
    Discriminator(
        _trigger_tag,
        custom_error_type="trigger_kind",
        custom_error_message="a trigger needs one of metric, device_offline, notice, schedule"
        " or offer",
    ),
]


# -- conditions -------------------------------------------------------------------------


class MetricCondition(Comparison):
    """The household's latest value of a metric (and channel, device) compares."""

    TAG: ClassVar[str] = "metric"

    metric: str
    channel: str | None = None
    device: str | None = None


class TimeWindow(_Strict):
    after: str | None = Field(default=None, description="HH:MM, pack time zone")
    before: str | None = Field(default=None, description="HH:MM; before < after wraps midnight")
    weekdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] | None = None

    @field_validator("after", "before")
    @classmethod
    def _hhmm(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                time.fromisoformat(value)
            except ValueError as exc:
                raise ValueError(f"{value!r} is not a time of day (HH:MM)") from exc
        return value


class TimeCondition(_Strict):
    """The current time (pack time zone) is inside a window."""

    TAG: ClassVar[str] = "time"

    time: TimeWindow


class HouseholdCondition(Comparison):
    """A household attribute (dotted path: ``members``, ``preferences.diet``, ``opt_outs``)."""

    TAG: ClassVar[str] = "household"

    household: str


class ConsentCondition(_Strict):
    """The household consented to this purpose."""

    TAG: ClassVar[str] = "consent"

    consent: str


class PathCondition(Comparison):
    """Any value of the evaluation context by dotted path (``offer.data.organizer``)."""

    TAG: ClassVar[str] = "path"

    path: str


class AnyCondition(_Strict):
    """At least one of the nested conditions holds."""

    TAG: ClassVar[str] = "any"

    any: list[Condition] = Field(min_length=1)


def _condition_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        for tag in ("metric", "time", "household", "consent", "path", "any"):
            if tag in value:
                return tag
        return None
    return getattr(value, "TAG", None)


Condition = Annotated[
    Annotated[MetricCondition, Tag("metric")]
    | Annotated[TimeCondition, Tag("time")]
    | Annotated[HouseholdCondition, Tag("household")]
    | Annotated[ConsentCondition, Tag("consent")]
    | Annotated[PathCondition, Tag("path")]
    | Annotated[AnyCondition, Tag("any")],
    Discriminator(
        _condition_tag,
        custom_error_type="condition_kind",
        custom_error_message="a condition needs one of metric, time, household, consent, path"
        " or any",
    ),
]


# -- actions ----------------------------------------------------------------------------


class ActionSpec(_Strict):
    """What the rule asks for. Strings in ``key``, ``title``, ``message`` and ``data`` are
    sandboxed templates; a data string that is one ``{{ expression }}`` keeps its type."""

    kind: Literal[
        "suggest", "notify", "request", "offer", "reschedule", "cancel", "set_flag", "withdraw"
    ]
    key: str | None = Field(
        default=None,
        description="de-duplication key (default: the rule id); withdraw names the key to withdraw",
    )
    title: str = ""
    message: str = ""
    data: dict[str, Any] = {}

    @field_validator("key", "title", "message")
    @classmethod
    def _template_compiles(cls, value: str | None) -> str | None:
        if value:
            compile_template(value)
        return value

    @field_validator("data")
    @classmethod
    def _data_compiles(cls, value: dict[str, Any]) -> dict[str, Any]:
        compile_data(value)
        return value

    @model_validator(mode="after")
    def _withdraw_key(self) -> ActionSpec:
        if self.kind == "withdraw" and not self.key:
            raise ValueError("withdraw needs the key of the suggestion to withdraw")
        return self


# -- rule and pack ----------------------------------------------------------------------


class Rule(_Strict):
    """One rule: when any trigger fires and every condition holds, run the actions."""

    id: RuleId
    description: str = ""
    enabled: bool = True
    triggers: list[Trigger] = Field(min_length=1)
    conditions: list[Condition] = []
    actions: list[ActionSpec] = Field(min_length=1)
    cooldown: Duration | None = Field(
        default=None, description="per household: no second firing within this time"
    )
    dedup: bool = Field(
        default=True,
        description="an action key still open for this household is not raised again",
    )
    dedup_for: Duration = Field(
        default=12 * 3600.0,
        description="an open key nobody released counts as closed after this long (the"
        " offers side expires suggestions after 12 h)",
    )
    misfire: Literal["fire", "skip"] = Field(
        default="fire",
        description="a for: timer or schedule that came due while the hub was down: fire"
        " once on start, or skip it",
    )


class Pack(_Strict):
    """One rule pack (one YAML file)."""

    pack: RuleId | None = Field(default=None, description="name (default: the file name)")
    description: str = ""
    timezone: str = "UTC"
    rules: list[Rule] = []

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> Pack:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"duplicate rule id {rule.id!r}")
            seen.add(rule.id)
        return self


AnyCondition.model_rebuild()


def pack_json_schema() -> dict[str, Any]:
    """The JSON Schema of a pack, as published in ``rules/schema.json``."""
    schema = Pack.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://community-hub.example/rules/schema.json"
    schema["title"] = "Community hub rule pack"
    return schema
