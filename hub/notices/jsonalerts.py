"""National warning services that publish JSON instead of CAP XML, to notices.

Three shapes, told apart by their keys (never by where they came from):

* **NWS alerts GeoJSON** (``api.weather.gov/alerts``): a ``FeatureCollection`` of alert
  ``Feature``s, or one ``Feature``. ``properties`` carry CAP's fields under their CAP names
  (``messageType`` for msgType); ``geocode`` holds ``UGC``/``SAME`` lists; the geometry, when
  present, is a GeoJSON ``Polygon``/``MultiPolygon`` in ``[lon, lat]`` order, turned into
  CAP's ``(lat, lon)`` rings; another geometry type or broken coordinates refuse the alert.
* **NINA / MoWaS dashboard** (``warnung.bund.de`` ``/dashboard/<ARS>.json`` and the
  ``mowas/gefahrendurchsagen.json`` map lists): a list of ``{id, payload: {data: ...},
  i18nTitle, sent, onset, expires}``. Each ``i18nTitle`` language becomes a variant; the
  compressed area (``ZGEM``...) is kept as a geocode of that name.
* **NINA warning details** (``/warnings/<id>.json``): CAP as JSON (``identifier``, ``info``
  list, ``area`` list with ``geocode`` value pairs), alone or as an object keyed by id.

Anything else raises :class:`NoticeRejected` saying which shapes are known.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.errors import NoticeRejected
from hub.notices.cap import msg_type_of, parse_time, reference_ids
from hub.notices.model import Area, Circle, Notice, NoticeInfo, Point

NWS_LANGUAGE = "en-US"


def is_alert_json(obj: Any) -> bool:
    """True for a document one of this module's readers understands."""
    if isinstance(obj, dict):
        return (obj.get("type") in ("FeatureCollection", "Feature")
                or _is_cap_json(obj) or _is_cap_json_map(obj))
    return isinstance(obj, list) and bool(obj) and all(_is_dashboard_item(i) for i in obj)


def parse_alert_json(obj: Any, *, language: str | None = None) -> list[Notice]:
    """Notices from an already decoded JSON warning document (see module docstring).

    Raises:
        NoticeRejected: not one of the known shapes, or a field of the wrong type or form.
    """
    try:
        if isinstance(obj, list):
            if obj and all(_is_dashboard_item(i) for i in obj):
                return [_dashboard_notice(i, language) for i in obj]
        elif isinstance(obj, dict):
            if obj.get("type") == "FeatureCollection":
                features = obj.get("features")
                if not isinstance(features, list):
                    raise NoticeRejected("GeoJSON FeatureCollection without a features list")
                return [_nws_notice(f, language) for f in features]
            if obj.get("type") == "Feature":
                return [_nws_notice(obj, language)]
            if _is_cap_json(obj):
                return [_cap_json_notice(obj, language)]
            if _is_cap_json_map(obj):
                return [_cap_json_notice(v, language) for v in obj.values()]
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        if isinstance(exc, NoticeRejected):
            raise
        raise NoticeRejected(f"warning JSON not understood ({type(exc).__name__}: {exc})"
                             ) from None
    raise NoticeRejected(
        "JSON is not a known notice document (NWS alerts GeoJSON, NINA dashboard list,"
        " NINA/CAP warning JSON or utility outage list)"
    )


# --- NWS alerts GeoJSON ---------------------------------------------------------------


def _nws_notice(feature: Any, language: str | None) -> Notice:
    if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
        raise NoticeRejected("GeoJSON feature without properties")
    p: dict[str, Any] = feature["properties"]
    ident = _text(p.get("id") or p.get("identifier"))
    if not ident:
        raise NoticeRejected("NWS alert without an id")
    refs = tuple(_text(r.get("identifier")) for r in p.get("references") or ()
                 if isinstance(r, dict) and r.get("identifier"))
    codes = {str(k): tuple(str(v) for v in vs) for k, vs in (p.get("geocode") or {}).items()
             if isinstance(vs, list)}
    category = p.get("category")
    info = NoticeInfo(
        language=NWS_LANGUAGE,
        category=tuple(category) if isinstance(category, list) else
        ((str(category),) if category else ()),
        event=_text(p.get("event")),
        severity=_text(p.get("severity")) or "Unknown",
        urgency=_text(p.get("urgency")) or "Unknown",
        certainty=_text(p.get("certainty")) or "Unknown",
        headline=_text(p.get("headline")),
        description=_text(p.get("description")),
        instruction=_text(p.get("instruction")),
        onset=_time(p.get("onset"), "onset") or _time(p.get("effective"), "effective"),
        expires=_time(p.get("expires"), "expires"),
        area=Area(description=_text(p.get("areaDesc")), codes=codes,
                  polygons=_geojson_rings(feature.get("geometry"))),
    )
    return Notice.from_infos(
        infos=[info], language=language, id=ident,
        sender=_text(p.get("sender")) or _text(p.get("senderName")),
        sent=_time(p.get("sent"), "sent"),
        msg_type=msg_type_of(_text(p.get("messageType")) or "Alert"),
        status=_text(p.get("status")) or "Actual",
        references=refs, source="cap",
    )


def _geojson_rings(geometry: Any) -> tuple[tuple[Point, ...], ...]:
    """GeoJSON ``[lon, lat]`` polygons to CAP ``(lat, lon)`` rings (outer rings only).

    ``null`` is no geometry (the alert is placed by its zones). Anything else must be a
    Polygon or MultiPolygon of WGS 84 positions, as api.weather.gov sends; a point, a line or
    broken coordinates refuse the alert with the reason, as a broken CAP polygon does.
    """
    if geometry is None:
        return ()
    if not isinstance(geometry, dict):
        raise NoticeRejected("GeoJSON geometry must be an object or null")
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind not in ("Polygon", "MultiPolygon"):
        raise NoticeRejected(f"GeoJSON geometry {str(kind)[:32]!r} is not an area"
                             " (Polygon or MultiPolygon)")
    polygons = [coords] if kind == "Polygon" else coords
    if not isinstance(polygons, list) or not polygons:
        raise NoticeRejected(f"GeoJSON {kind} without coordinates")
    rings = []
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon or not isinstance(polygon[0], list):
            raise NoticeRejected(f"GeoJSON {kind}: a polygon is not a list of rings")
        ring = tuple(_position(pt, kind) for pt in polygon[0])
        if len(ring) < 4 or ring[0] != ring[-1]:
            raise NoticeRejected(f"GeoJSON {kind}: a ring needs 4 or more positions, the last"
                                 " equal to the first (RFC 7946 §3.1.6)")
        rings.append(ring)
    return tuple(rings)


def _position(pt: Any, kind: str) -> Point:
    """A GeoJSON position ``[lon, lat]`` as CAP ``(lat, lon)``, range-checked."""
    if (not isinstance(pt, list) or len(pt) < 2
            or not all(type(v) in (int, float) for v in pt[:2])):
        raise NoticeRejected(f"GeoJSON {kind}: {str(pt)[:40]} is not a [lon, lat] position")
    lon, lat = float(pt[0]), float(pt[1])
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise NoticeRejected(f"GeoJSON {kind}: {str(pt)[:40]} is outside WGS 84 range")
    return lat, lon


# --- NINA dashboard -------------------------------------------------------------------


def _is_dashboard_item(item: Any) -> bool:
    return isinstance(item, dict) and "id" in item and isinstance(item.get("payload"), dict)


def _dashboard_notice(item: dict[str, Any], language: str | None) -> Notice:
    payload: dict[str, Any] = item["payload"]
    data: dict[str, Any] = payload.get("data") or {}
    titles = item.get("i18nTitle") or {}
    if not isinstance(titles, dict):
        raise NoticeRejected("NINA dashboard item: i18nTitle is not an object")
    if not titles and data.get("headline"):
        titles = {"de": data["headline"]}
    area = data.get("area") or {}
    codes = ({str(area["type"]): (str(area["data"]),)}
             if isinstance(area, dict) and area.get("type") and area.get("data") else {})
    event = _text((data.get("transKeys") or {}).get("event"))
    onset, expires = _time(item.get("onset"), "onset"), _time(item.get("expires"), "expires")
    infos = [
        NoticeInfo(language=str(lang), event=event,
                   severity=_text(data.get("severity")) or "Unknown",
                   headline=_text(title), onset=onset, expires=expires,
                   area=Area(codes=codes))
        for lang, title in titles.items()
    ]
    return Notice.from_infos(
        infos=infos, language=language, id=_text(item["id"]),
        sender=_text(data.get("provider")), sent=_time(item.get("sent"), "sent"),
        msg_type=msg_type_of(_text(data.get("msgType")) or "Alert"),
        status="Actual", references=(), source="cap-index",  # a summary, like an index entry
    )


# --- CAP as JSON (NINA warning details) -----------------------------------------------


def _is_cap_json(obj: Mapping[str, Any]) -> bool:
    return "identifier" in obj and isinstance(obj.get("info"), list)


def _is_cap_json_map(obj: Mapping[str, Any]) -> bool:
    return bool(obj) and all(isinstance(v, dict) and _is_cap_json(v) for v in obj.values())


def _cap_json_notice(alert: dict[str, Any], language: str | None) -> Notice:
    for name in ("identifier", "sender", "sent", "msgType"):
        if not alert.get(name):
            raise NoticeRejected(f"CAP JSON alert has no {name!r}")
    refs = alert.get("references") or ""
    return Notice.from_infos(
        infos=[_cap_json_info(i) for i in alert["info"]], language=language,
        id=_text(alert["identifier"]), sender=_text(alert["sender"]),
        sent=_time(alert["sent"], "sent"), msg_type=msg_type_of(_text(alert["msgType"])),
        status=_text(alert.get("status")) or "Actual",
        references=reference_ids(refs) if isinstance(refs, str) else (), source="cap",
    )


def _cap_json_info(info: dict[str, Any]) -> NoticeInfo:
    descriptions, polygons, circles = [], [], []
    codes: dict[str, tuple[str, ...]] = {}
    for area in info.get("area") or ():
        if area.get("areaDesc"):
            descriptions.append(_text(area["areaDesc"]))
        for pair in area.get("geocode") or ():
            name = _text(pair.get("valueName"))
            codes[name] = (*codes.get(name, ()), _text(pair.get("value")))
        for text in _as_list(area.get("polygon")):
            ring = tuple(_latlon(tok) for tok in str(text).split())
            if ring:
                polygons.append(ring)
        for text in _as_list(area.get("circle")):
            centre, _, radius = str(text).partition(" ")
            lat, lon = _latlon(centre)
            circles.append((lat, lon, float(radius)))
    circle_list: list[Circle] = circles
    return NoticeInfo(
        language=_text(info.get("language")) or "en-US",
        category=tuple(str(c) for c in _as_list(info.get("category"))),
        event=_text(info.get("event")),
        severity=_text(info.get("severity")) or "Unknown",
        urgency=_text(info.get("urgency")) or "Unknown",
        certainty=_text(info.get("certainty")) or "Unknown",
        headline=_text(info.get("headline")),
        description=_text(info.get("description")),
        instruction=_text(info.get("instruction")),
        onset=_time(info.get("onset"), "onset") or _time(info.get("effective"), "effective"),
        expires=_time(info.get("expires"), "expires"),
        area=Area(description="; ".join(descriptions), codes=codes,
                  polygons=tuple(polygons), circles=tuple(circle_list)),
    )


# --- helpers --------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise NoticeRejected(f"expected text, got {type(value).__name__}")
    return str(value).strip()


def _time(value: Any, what: str) -> Any:
    return parse_time(_text(value), what)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _latlon(token: str) -> Point:
    lat, _, lon = token.partition(",")
    return float(lat), float(lon)
