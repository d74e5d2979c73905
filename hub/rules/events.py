"""Non-telemetry triggers the engine accepts through :meth:`RuleEngine.on_event`.

* :class:`DeviceAvailability` - a device went offline or came back (LWT, availability
  topics). The engine treats it as a reading of metric ``online``, so a rule can use
  either ``device_offline: fridge-1`` or ``metric: online, equals: false``.
* :class:`NoticeChange` - the notices package reports a notice that arrived, was updated,
  cancelled or expired for some households. Any object with the same attributes works
  (:class:`NoticeChangeLike`, :class:`NoticeLike`), so the notices package need not import
  this module.
* :class:`OfferEvent` - the offers package reports an offer, booking, gathering or
  suggestion event of a household (``accepted``, ``expired``, ``cancelled``, ``clashing``,
  ``booked``, ...). Any object with ``kind, household, offer_id, data`` works
  (:class:`OfferEventLike`: the offers package's own ``OfferEvent`` fits). An event whose
  data carries ``"key"`` also releases the engine's de-duplication of that key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from hub.events import DeviceAvailability as DeviceAvailability  # re-exported: the rules take it

NoticeAction = Literal["arrived", "updated", "cancelled", "expired"]
OfferKind = str
"""``accepted``, ``declined``, ``expired``, ``cancelled``, ``clashing``, ``claimed``,
``scheduled``, ``moved``, ``fulfilled``, ``rated``, ``withdrawn``, ``waitlisted``, ``booked``."""


@runtime_checkable
class NoticeLike(Protocol):
    """What the engine reads of a notice (the notices package's own class fits)."""

    @property
    def id(self) -> str: ...
    @property
    def event(self) -> str: ...
    @property
    def category(self) -> Sequence[str]: ...
    @property
    def onset(self) -> datetime | str | None: ...
    @property
    def expires(self) -> datetime | str | None: ...
    @property
    def area(self) -> Any: ...


@runtime_checkable
class NoticeChangeLike(Protocol):
    """A notice change for the households in its area."""

    @property
    def action(self) -> str: ...
    @property
    def notice(self) -> NoticeLike: ...
    @property
    def households(self) -> Sequence[str]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    """A minimal notice (tests, backtests); the notices package has a richer one."""

    id: str
    event: str
    category: tuple[str, ...] = ()
    onset: datetime | None = None
    expires: datetime | None = None
    area: Any = None
    headline: str = ""
    severity: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeChange:
    """A notice ``arrived``, ``updated``, ``cancelled`` or ``expired`` for these households.

    ``thread`` is the id of the first notice of its update chain (an update or a cancel
    carries a new CAP id); templates see it as ``notice.thread`` (the notice id if empty).
    """

    action: NoticeAction
    notice: NoticeLike
    households: tuple[str, ...] = ()
    thread: str = ""
    previous: str | None = None


@runtime_checkable
class OfferEventLike(Protocol):
    """An offer or booking event (the offers package's own ``OfferEvent`` fits)."""

    @property
    def kind(self) -> str: ...
    @property
    def household(self) -> str: ...
    @property
    def offer_id(self) -> str: ...
    @property
    def data(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class OfferEvent:
    """An offer or booking event of a household, reported by the offers package.

    Attributes:
        kind: ``accepted``, ``expired``, ``cancelled``, ``clashing``, ``booked``, ...
        household: whose offer or booking it is.
        offer_id: the offer's, booking's or invitation's id.
        data: what rules may match and render (``type``, ``title``, ``starts``, ``place``,
            ``organizer``, ``clashes_with``, ``key``, ...).
    """

    kind: OfferKind
    household: str
    offer_id: str
    data: Mapping[str, Any] = field(default_factory=dict)
