"""Notices as domain values: :class:`Notice`, its language variants and its :class:`Area`.

A notice is what the hub keeps of one CAP ``<alert>`` (CAP 1.2 §3.2.1), one entry of a CAP
index feed (Atom or RSS), or one item of a utility's outage list. Its id is the CAP
``identifier``; CAP ``<references>`` hold ``sender,identifier,sent`` triples (CAP 1.2
§3.2.1 "references") of which only the identifier is kept, so ``references`` is a list of
notice ids. Two senders reusing one identifier would collide; CAP asks senders to make
identifiers unique (§3.2.1 "identifier"), and the hub relies on that.

:meth:`Notice.marshal` gives exactly the JSON object of CONTRACTS.md ("hub notices
parse"); :meth:`Notice.to_record` / :meth:`Notice.from_record` keep everything else too
(all language variants, community, link, source) for storage.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

MsgType = Literal["alert", "update", "cancel"]
MSG_TYPES: tuple[MsgType, ...] = ("alert", "update", "cancel")

Point = tuple[float, float]
Circle = tuple[float, float, float]

CONTRACT_KEYS = (
    "id",
    "sender",
    "sent",
    "msg_type",
    "status",
    "event",
    "category",
    "severity",
    "urgency",
    "certainty",
    "headline",
    "description",
    "instruction",
    "language",
    "onset",
    "expires",
    "area",
    "references",
)


def iso(dt: datetime | None) -> str | None:
    """ISO 8601 with the datetime's own offset (``+00:00`` for UTC), or None."""
    return None if dt is None else dt.isoformat()


def _parse_iso(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True, kw_only=True)
class Area:
    """Where a notice applies.

    Attributes:
        description: free text (CAP ``areaDesc``; several areas joined with ``"; "``).
        codes: geocodes by name, e.g. ``{"SAME": ("006109",), "UGC": ("MNZ020",)}``.
        polygons: closed rings of ``(lat, lon)`` points (WGS 84, CAP 1.2 §3.3.4.2).
        circles: ``(lat, lon, radius_km)`` triples.
    """

    description: str = ""
    codes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    polygons: tuple[tuple[Point, ...], ...] = ()
    circles: tuple[Circle, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when the area says nothing at all (the notice then goes to the community)."""
        return not (self.description.strip() or self.codes or self.polygons or self.circles)

    @property
    def is_geographic(self) -> bool:
        """True when codes, polygons or circles can be matched against locations."""
        return bool(self.codes or self.polygons or self.circles)

    def marshal(self) -> dict[str, Any]:
        """The ``area`` object of CONTRACTS.md."""
        return {
            "description": self.description,
            "codes": {name: list(values) for name, values in self.codes.items()},
            "polygons": [[[lat, lon] for lat, lon in ring] for ring in self.polygons],
            "circles": [[lat, lon, r] for lat, lon, r in self.circles],
        }

    @classmethod
    def unmarshal(cls, data: Mapping[str, Any]) -> Area:
        """Inverse of :meth:`marshal`."""
        codes = data.get("codes") or {}
        rings = data.get("polygons") or ()
        circles = data.get("circles") or ()
        return cls(
            description=str(data.get("description") or ""),
            codes={str(k): tuple(str(v) for v in vs) for k, vs in codes.items()},
            polygons=tuple(tuple((float(p[0]), float(p[1])) for p in ring) for ring in rings),
            circles=tuple((float(c[0]), float(c[1]), float(c[2])) for c in circles),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeInfo:
    """One language variant of a notice (one CAP ``<info>`` block)."""

    language: str = "en-US"
    category: tuple[str, ...] = ()
    event: str = ""
    severity: str = "Unknown"
    urgency: str = "Unknown"
    certainty: str = "Unknown"
    headline: str = ""
    description: str = ""
    instruction: str = ""
    onset: datetime | None = None
    expires: datetime | None = None
    area: Area = field(default_factory=Area)

    def marshal(self) -> dict[str, Any]:
        """JSON form (times ISO 8601 with their offset)."""
        return {
            "language": self.language,
            "category": list(self.category),
            "event": self.event,
            "severity": self.severity,
            "urgency": self.urgency,
            "certainty": self.certainty,
            "headline": self.headline,
            "description": self.description,
            "instruction": self.instruction,
            "onset": iso(self.onset),
            "expires": iso(self.expires),
            "area": self.area.marshal(),
        }

    @classmethod
    def unmarshal(cls, data: Mapping[str, Any]) -> NoticeInfo:
        """Inverse of :meth:`marshal`."""
        return cls(
            language=str(data.get("language") or ""),
            category=tuple(data.get("category") or ()),
            event=str(data.get("event") or ""),
            severity=str(data.get("severity") or "Unknown"),
            urgency=str(data.get("urgency") or "Unknown"),
            certainty=str(data.get("certainty") or "Unknown"),
            headline=str(data.get("headline") or ""),
            description=str(data.get("description") or ""),
            instruction=str(data.get("instruction") or ""),
            onset=_parse_iso(data.get("onset")),
            expires=_parse_iso(data.get("expires")),
            area=Area.unmarshal(data.get("area") or {}),
        )


def pick_info(infos: Sequence[NoticeInfo], language: str | None) -> NoticeInfo | None:
    """The variant for ``language``: exact tag, then same primary tag, then the first.

    Tags compare case-insensitively (BCP 47), so ``"es"`` picks ``"es-US"``.
    """
    if not infos:
        return None
    if language:
        wanted = language.casefold()
        for info in infos:
            if info.language.casefold() == wanted:
                return info
        primary = wanted.split("-")[0]
        for info in infos:
            if info.language.casefold().split("-")[0] == primary:
                return info
    return infos[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    """A community notice: a CAP alert, an index-feed entry or a utility outage item.

    The flat fields (event ... area) come from the chosen language variant; ``infos``
    keeps every variant, the chosen one included. ``onset`` is CAP ``onset``, or
    ``effective`` when the alert gives no onset (the hazard's start as best known).

    Attributes:
        id: CAP identifier (feed entries: the entry id; outages: the utility's outage id).
        sender: CAP sender, feed author, or the utility's name.
        sent: when the sender issued it, with its offset; None when the source has none.
        msg_type: ``alert``, ``update`` or ``cancel``.
        references: ids of the notices this one updates or cancels.
        community: the community it was ingested for, when known.
        link: for index-feed entries, the URL of the full CAP alert.
        source: ``cap``, ``cap-index``, ``outage`` or ``api``.
    """

    id: str
    sender: str = ""
    sent: datetime | None = None
    msg_type: MsgType = "alert"
    status: str = "Actual"
    event: str = ""
    category: tuple[str, ...] = ()
    severity: str = "Unknown"
    urgency: str = "Unknown"
    certainty: str = "Unknown"
    headline: str = ""
    description: str = ""
    instruction: str = ""
    language: str = ""
    onset: datetime | None = None
    expires: datetime | None = None
    area: Area = field(default_factory=Area)
    references: tuple[str, ...] = ()
    infos: tuple[NoticeInfo, ...] = ()
    community: str | None = None
    link: str | None = None
    source: str = "cap"

    @classmethod
    def from_infos(
        cls, *, infos: Sequence[NoticeInfo], language: str | None, **head: Any
    ) -> Notice:
        """Build a notice whose flat fields come from the variant best matching ``language``."""
        chosen = pick_info(infos, language)
        flat: dict[str, Any] = {} if chosen is None else _info_fields(chosen)
        return cls(infos=tuple(infos), **flat, **head)

    def in_language(self, language: str | None) -> Notice:
        """The same notice with its flat fields taken from the best variant for ``language``."""
        chosen = pick_info(self.infos, language)
        if chosen is None:
            return self
        return dataclasses.replace(self, **_info_fields(chosen))

    def with_community(self, community: str) -> Notice:
        """The same notice, tagged with its community."""
        return dataclasses.replace(self, community=community)

    def marshal(self) -> dict[str, Any]:
        """Exactly the JSON object of CONTRACTS.md ("hub notices parse")."""
        return {
            "id": self.id,
            "sender": self.sender,
            "sent": iso(self.sent),
            "msg_type": self.msg_type,
            "status": self.status,
            "event": self.event,
            "category": list(self.category),
            "severity": self.severity,
            "urgency": self.urgency,
            "certainty": self.certainty,
            "headline": self.headline,
            "description": self.description,
            "instruction": self.instruction,
            "language": self.language,
            "onset": iso(self.onset),
            "expires": iso(self.expires),
            "area": self.area.marshal(),
            "references": list(self.references),
        }

    def to_record(self) -> dict[str, Any]:
        """Everything, for storage: :meth:`marshal` plus variants, community, link, source."""
        record = self.marshal()
        record["infos"] = [info.marshal() for info in self.infos]
        record["community"] = self.community
        record["link"] = self.link
        record["source"] = self.source
        return record

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> Notice:
        """Inverse of :meth:`to_record` (also accepts a bare :meth:`marshal` object)."""
        msg_type = str(data.get("msg_type") or "alert")
        if msg_type not in MSG_TYPES:
            raise ValueError(f"unknown msg_type {msg_type!r}")
        return cls(
            id=str(data["id"]),
            sender=str(data.get("sender") or ""),
            sent=_parse_iso(data.get("sent")),
            msg_type=msg_type,
            status=str(data.get("status") or "Actual"),
            event=str(data.get("event") or ""),
            category=tuple(data.get("category") or ()),
            severity=str(data.get("severity") or "Unknown"),
            urgency=str(data.get("urgency") or "Unknown"),
            certainty=str(data.get("certainty") or "Unknown"),
            headline=str(data.get("headline") or ""),
            description=str(data.get("description") or ""),
            instruction=str(data.get("instruction") or ""),
            language=str(data.get("language") or ""),
            onset=_parse_iso(data.get("onset")),
            expires=_parse_iso(data.get("expires")),
            area=Area.unmarshal(data.get("area") or {}),
            references=tuple(str(r) for r in data.get("references") or ()),
            infos=tuple(NoticeInfo.unmarshal(i) for i in data.get("infos") or ()),
            community=data.get("community"),
            link=data.get("link"),
            source=str(data.get("source") or "cap"),
        )


def _info_fields(info: NoticeInfo) -> dict[str, Any]:
    return {
        "language": info.language,
        "category": info.category,
        "event": info.event,
        "severity": info.severity,
        "urgency": info.urgency,
        "certainty": info.certainty,
        "headline": info.headline,
        "description": info.description,
        "instruction": info.instruction,
        "onset": info.onset,
        "expires": info.expires,
        "area": info.area,
    }
