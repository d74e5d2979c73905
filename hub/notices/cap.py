"""OASIS CAP 1.1 / 1.2 ``<alert>`` elements to :class:`~hub.notices.model.Notice` values.

Works on an already parsed (and defused) ElementTree element; :mod:`hub.notices.parse`
does the safe parsing and the dispatch. Element names follow CAP 1.2 §3.2; CAP 1.1 uses
the same names for everything read here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from xml.etree.ElementTree import Element

from hub.errors import NoticeRejected
from hub.notices.model import Area, Circle, MsgType, Notice, NoticeInfo, Point

CAP_NAMESPACES = (
    "urn:oasis:names:tc:emergency:cap:1.2",
    "urn:oasis:names:tc:emergency:cap:1.1",
)

_MSG_TYPES: dict[str, MsgType] = {"Alert": "alert", "Update": "update", "Cancel": "cancel"}


def local(tag: str) -> str:
    """An element tag without its ``{namespace}``."""
    return tag.rsplit("}", 1)[-1]


def namespace(tag: str) -> str:
    """The namespace of a tag, ``""`` when it has none."""
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def is_cap_alert(el: Element) -> bool:
    """True for a CAP 1.1 or 1.2 ``<alert>`` element."""
    return local(el.tag) == "alert" and namespace(el.tag) in CAP_NAMESPACES


def children(el: Element, name: str) -> list[Element]:
    """Direct children called ``name`` in any CAP namespace (or none)."""
    return [c for c in el if local(c.tag) == name and namespace(c.tag) in (*CAP_NAMESPACES, "")]


def text_of(el: Element, name: str) -> str:
    """Stripped text of the first child called ``name``; ``""`` when absent."""
    found = children(el, name)
    return (found[0].text or "").strip() if found else ""


def parse_time(text: str, what: str) -> datetime | None:
    """A CAP dateTime (CAP 1.2 §3.3.2: always with an offset); None when empty."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise NoticeRejected(f"{what} {text!r} is not an ISO 8601 time") from exc
    if value.tzinfo is None:
        raise NoticeRejected(f"{what} {text!r} has no time zone offset (CAP 1.2 §3.3.2)")
    return value


def reference_ids(text: str) -> tuple[str, ...]:
    """Identifiers from CAP ``<references>``: space-separated ``sender,identifier,sent``."""
    ids = []
    for token in text.split():
        parts = token.split(",")
        ids.append(parts[1] if len(parts) == 3 else token)
    return tuple(ids)


def _point(token: str, what: str) -> Point:
    try:
        lat_s, lon_s = token.split(",")
        lat, lon = float(lat_s), float(lon_s)
    except ValueError as exc:
        raise NoticeRejected(f"{what}: {token!r} is not a lat,lon pair") from exc
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise NoticeRejected(f"{what}: {token!r} is outside WGS 84 range")
    return lat, lon


def parse_polygon(text: str) -> tuple[Point, ...] | None:
    """A CAP polygon (space-separated ``lat,lon`` pairs); None when empty (NWS sends empty ones)."""
    tokens = text.split()
    if not tokens:
        return None
    ring = [_point(t, "polygon") for t in tokens]
    if len(ring) < 3:
        raise NoticeRejected(f"polygon has {len(ring)} points, at least 3 are needed")
    if ring[0] != ring[-1]:
        # CAP 1.2 §3.3.4.2 asks for a closed ring; close it rather than refuse the alert.
        ring.append(ring[0])
    return tuple(ring)


def parse_circle(text: str) -> Circle | None:
    """A CAP circle ``lat,lon radius_km``; None when empty."""
    tokens = text.split()
    if not tokens:
        return None
    if len(tokens) != 2:
        raise NoticeRejected(f"circle {text!r} is not 'lat,lon radius'")
    lat, lon = _point(tokens[0], "circle")
    try:
        radius = float(tokens[1])
    except ValueError as exc:
        raise NoticeRejected(f"circle radius {tokens[1]!r} is not a number") from exc
    if radius < 0:
        raise NoticeRejected(f"circle radius {radius} is negative")
    return lat, lon, radius


def value_pairs(elements: Iterable[Element], *, split: bool = False) -> dict[str, tuple[str, ...]]:
    """``valueName``/``value`` pairs of geocode-like elements, grouped by name.

    Pairs are read in document order, so an element holding several pairs in a row (as
    NWS index feeds do inside one ``cap:geocode``) yields each of them. With ``split``,
    a value is a space-separated list (NWS index feeds: ``056023 056035``).
    """
    grouped: dict[str, list[str]] = {}
    for el in elements:
        name: str | None = None
        for child in el:
            if local(child.tag) == "valueName":
                name = (child.text or "").strip()
            elif local(child.tag) == "value" and name:
                text = (child.text or "").strip()
                values = text.split() if split else [text] if text else []
                grouped.setdefault(name, []).extend(values)
    return {k: tuple(v) for k, v in grouped.items()}


def parse_areas(areas: list[Element]) -> Area:
    """Merge CAP ``<area>`` blocks into one :class:`Area` (descriptions joined by ``"; "``)."""
    descriptions: list[str] = []
    polygons: list[tuple[Point, ...]] = []
    circles: list[Circle] = []
    for area in areas:
        desc = text_of(area, "areaDesc")
        if desc:
            descriptions.append(desc)
        for el in children(area, "polygon"):
            ring = parse_polygon(el.text or "")
            if ring:
                polygons.append(ring)
        for el in children(area, "circle"):
            circle = parse_circle(el.text or "")
            if circle:
                circles.append(circle)
    codes = value_pairs(g for a in areas for g in children(a, "geocode"))
    return Area(
        description="; ".join(descriptions),
        codes=codes,
        polygons=tuple(polygons),
        circles=tuple(circles),
    )


def parse_info(info: Element) -> NoticeInfo:
    """One CAP ``<info>`` block (CAP 1.2 §3.2.2)."""
    onset = parse_time(text_of(info, "onset"), "onset")
    effective = parse_time(text_of(info, "effective"), "effective")
    return NoticeInfo(
        language=text_of(info, "language") or "en-US",  # CAP 1.2 §3.2.2 default
        category=tuple((c.text or "").strip() for c in children(info, "category") if c.text),
        event=text_of(info, "event"),
        severity=text_of(info, "severity") or "Unknown",
        urgency=text_of(info, "urgency") or "Unknown",
        certainty=text_of(info, "certainty") or "Unknown",
        headline=text_of(info, "headline"),
        description=text_of(info, "description"),
        instruction=text_of(info, "instruction"),
        onset=onset or effective,
        expires=parse_time(text_of(info, "expires"), "expires"),
        area=parse_areas(children(info, "area")),
    )


def msg_type_of(text: str) -> MsgType:
    """CAP ``msgType`` to the hub's ``msg_type``; Ack and Error are not notices."""
    try:
        return _MSG_TYPES[text]
    except KeyError:
        raise NoticeRejected(
            f"msgType {text!r} is not a notice (Alert, Update or Cancel)"
        ) from None


def parse_alert(alert: Element, *, language: str | None) -> Notice:
    """A CAP ``<alert>`` element to a :class:`Notice`.

    Raises:
        NoticeRejected: a required element is missing or a value is malformed.
    """
    head = {name: text_of(alert, name) for name in ("identifier", "sender", "sent", "msgType")}
    for name, value in head.items():
        if not value:
            raise NoticeRejected(f"CAP alert has no <{name}> (CAP 1.2 §3.2.1 requires it)")
    msg_type = msg_type_of(head["msgType"])
    references = reference_ids(text_of(alert, "references"))
    if msg_type != "alert" and not references:
        raise NoticeRejected(f"CAP {head['msgType']} {head['identifier']!r} has no <references>")
    return Notice.from_infos(
        infos=[parse_info(i) for i in children(alert, "info")],
        language=language,
        id=head["identifier"],
        sender=head["sender"],
        sent=parse_time(head["sent"], "sent"),
        msg_type=msg_type,
        status=text_of(alert, "status") or "Actual",
        references=references,
        source="cap",
    )
