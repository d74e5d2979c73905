"""Utility outage JSON (the Tauron Dystrybucja ``waapi/outages`` form) to notices.

The document answers "which outages concern this address point": an envelope with
``AddressPoint`` and ``OutageItems``, PascalCase keys, UTC ``Z`` times. Each item becomes
a notice: category ``Infra``, event from ``TypeId`` (1 = planned), onset/expires from
``StartDate``/``EndDate``, area description from the free-text ``Message`` (which lists
the streets), and the address point ids as the geocode ``TAURON-ADDRESS-POINT`` (the item's
own, plus the envelope's: the whole answer is about that address point).

The document has no issue time and no sender, so ``sent`` is None and ``sender`` is
:data:`SENDER`. An item with ``IsActive: false`` is read as the utility withdrawing it:
a ``cancel`` notice with id ``<OutageId>:inactive`` referencing ``<OutageId>``.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from hub.errors import NoticeRejected
from hub.notices.model import Area, Notice, NoticeInfo

SENDER = "TAURON Dystrybucja"
CODE_NAME = "TAURON-ADDRESS-POINT"
EVENTS = {1: "Planned power outage", 2: "Unplanned power outage"}


class _AddressPoint(BaseModel):
    model_config = ConfigDict(extra="ignore")
    AddressPointId: int | str | None = None
    CityName: str = ""


class _OutageItem(BaseModel):
    model_config = ConfigDict(extra="ignore")
    OutageId: str
    StartDate: AwareDatetime
    EndDate: AwareDatetime | None = None
    TypeId: int = 1
    IsActive: bool = True
    Message: str = ""
    AddressPointIds: list[int | str] = []


class _OutageList(BaseModel):
    model_config = ConfigDict(extra="ignore")
    OutageItems: list[_OutageItem]
    AddressPoint: _AddressPoint | None = None


def looks_like_outage_json(obj: Any) -> bool:
    """True for a JSON object in the Tauron outage form."""
    return isinstance(obj, dict) and "OutageItems" in obj


def parse_outage_json(data: bytes, *, language: str | None = None) -> list[Notice]:
    """Parse a Tauron outage list; one notice per item.

    Raises:
        NoticeRejected: not JSON, or not in the expected form (with the first problem).
    """
    del language  # one language only (Polish); kept for a uniform signature
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise NoticeRejected(f"malformed JSON: {exc}") from exc
    if not looks_like_outage_json(obj):
        raise NoticeRejected("JSON is not a utility outage list (no OutageItems)")
    try:
        doc = _OutageList.model_validate(obj)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise NoticeRejected(f"outage JSON: {where}: {err['msg']}") from exc
    envelope_ids = []
    if doc.AddressPoint is not None and doc.AddressPoint.AddressPointId is not None:
        envelope_ids.append(str(doc.AddressPoint.AddressPointId))
    return [_notice(item, envelope_ids) for item in doc.OutageItems]


def _notice(item: _OutageItem, envelope_ids: list[str]) -> Notice:
    ids = [str(i) for i in item.AddressPointIds]
    ids += [i for i in envelope_ids if i not in ids]
    message = item.Message.strip()
    event = EVENTS.get(item.TypeId, f"Power outage (type {item.TypeId})")
    info = NoticeInfo(
        language="pl-PL",
        category=("Infra",),
        event=event,
        headline=f"{event}: {message}" if message else event,
        description=message,
        onset=item.StartDate,
        expires=item.EndDate,
        area=Area(description=message, codes={CODE_NAME: tuple(ids)} if ids else {}),
    )
    head: dict[str, Any] = {"id": item.OutageId, "msg_type": "alert", "references": ()}
    if not item.IsActive:
        head = {
            "id": f"{item.OutageId}:inactive",
            "msg_type": "cancel",
            "references": (item.OutageId,),
        }
    return Notice.from_infos(
        infos=[info],
        language=None,
        sender=SENDER,
        sent=None,
        status="Actual",
        source="outage",
        **head,
    )
