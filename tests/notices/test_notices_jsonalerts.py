"""JSON warning services (NWS alerts GeoJSON, NINA / MoWaS) through the parser and the CLI."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from notices_support import CORPUS

from hub.errors import NoticeRejected
from hub.notices.parse import parse_document

PST = timezone(timedelta(hours=-8))
CET = timezone(timedelta(hours=1))


def read(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def test_nws_feature_collection() -> None:
    notices = parse_document(read("nws_geojson_alerts_active_zone_pynws.json"))
    assert [n.id for n in notices] == ["NWS-IDP-PROD-3965873-3369046", "NWS-IDP-PROD-3965873-001"]
    n = notices[0]
    assert (n.sender, n.msg_type, n.status) == ("w-nws.webmaster@noaa.gov", "update", "Actual")
    assert n.sent == datetime(2019, 12, 20, 13, 34, tzinfo=PST)
    assert (n.event, n.category) == ("Flood Watch", ("Met",))
    assert (n.severity, n.urgency, n.certainty) == ("Severe", "Future", "Possible")
    assert n.onset == datetime(2019, 12, 20, 13, 34, tzinfo=PST)
    assert n.expires == datetime(2019, 12, 21, 5, 30, tzinfo=PST)
    assert n.language == "en-US"
    assert n.area.description.startswith("North Oregon Coast; Greater Portland Metro Area")
    assert n.area.codes["UGC"][:3] == ("ORZ001", "ORZ006", "WAZ039")
    assert len(n.area.codes["UGC"]) == 11
    assert "041051" in n.area.codes["SAME"]
    assert n.references == ("NWS-IDP-PROD-3964821-3368352", "NWS-IDP-PROD-3965324-3368680",
                            "NWS-IDP-PROD-3965155-3368578", "NWS-IDP-PROD-3963421-3367361")
    assert n.headline.startswith("Flood Watch issued December 20 at 1:34PM PST")
    assert n.instruction != ""
    assert n.description.startswith("The Flood Watch continues")


def test_nws_single_feature_with_polygon() -> None:
    # A real alert Feature on its own, the shape /alerts/{id} answers; the geometry is
    # GeoJSON [lon, lat] (as NWS writes the numbers) and must come out as CAP (lat, lon).
    (n,) = parse_document(read("nws_geojson_alert_feature_polygon_callahan_tx_2024.json"))
    cdt = timezone(timedelta(hours=-5))
    assert n.id == "urn:oid:2.49.0.1.840.0.907afeaae671d4ee00ff8c46735a08e24b091c58.001.1"
    assert (n.event, n.severity, n.urgency, n.certainty) == (
        "Severe Thunderstorm Warning", "Severe", "Immediate", "Observed")
    assert (n.msg_type, n.status, n.category) == ("alert", "Actual", ("Met",))
    assert (n.sent, n.onset, n.expires) == (datetime(2024, 5, 25, 17, 27, tzinfo=cdt),
                                            datetime(2024, 5, 25, 17, 27, tzinfo=cdt),
                                            datetime(2024, 5, 25, 18, 0, tzinfo=cdt))
    assert n.area.description == "Callahan, TX"
    assert n.area.codes == {"SAME": ("048059",), "UGC": ("TXC059",)}
    (ring,) = n.area.polygons
    assert ring[0] == ring[-1] == (32.12, -99.28)
    assert len(ring) == 5
    assert all(32.0 < lat < 32.3 and -99.3 < lon < -99.1 for lat, lon in ring)
    assert n.instruction.startswith("Remain alert for a possible tornado!")


@pytest.mark.parametrize(("geometry", "reason"), [
    ({"type": "Point", "coordinates": [-99.2, 32.2]}, "'Point' is not an area"),
    ({"type": "Polygon", "coordinates": [[[-99.2, 32.2], [-99.1, 32.2], [-99.2, 32.2]]]},
     "4 or more positions"),
    ({"type": "Polygon", "coordinates": [[["-99.2", 32.2]] * 4]}, "not a \\[lon, lat\\]"),
    ({"type": "Polygon", "coordinates": [[[32.2, -199.0]] * 4]}, "outside WGS 84"),
    ({"type": "MultiPolygon", "coordinates": []}, "without coordinates"),
    ("Polygon", "must be an object or null"),
])
def test_nws_feature_geometry_it_cannot_use_is_refused(geometry: object, reason: str) -> None:
    # The real Feature with its geometry replaced by one the parser must refuse.
    feature = orjson.loads(read("nws_geojson_alert_feature_polygon_callahan_tx_2024.json"))
    feature["geometry"] = geometry
    with pytest.raises(NoticeRejected, match=reason):
        parse_document(orjson.dumps(feature))
    feature["geometry"] = None  # null: placed by its zones, no polygon
    (n,) = parse_document(orjson.dumps(feature))
    assert (n.area.polygons, n.area.codes["UGC"]) == ((), ("TXC059",))


def test_nina_dashboard_list() -> None:
    notices = parse_document(read("nina_dashboard_sample_warnings_ha.json"))
    assert [n.id for n in notices] == ["mow.DE-BW-S-SE018-20211102-18-001",
                                       "mow.DE-NW-BN-SE030-20201014-30-000"]
    a, b = notices
    assert (a.sender, a.msg_type, a.severity, a.event) == ("MOWAS", "update", "Minor",
                                                          "BBK-EVC-040")
    assert a.headline == ("Corona-Verordnung des Landes: Warnstufe durch "
                          "Landesgesundheitsamt ausgerufen")
    assert a.language == "de"
    assert a.sent == datetime(2021, 11, 2, 20, 7, 16, tzinfo=CET)
    assert (a.onset, a.expires) == (None, None)
    assert a.area.codes == {"ZGEM": ("9956+1102,100001",)}
    assert b.headline == "Ausfall Notruf 112"
    assert b.onset == datetime(2021, 11, 1, 5, 20, tzinfo=CET)
    assert b.expires == datetime(3021, 11, 22, 5, 19, tzinfo=CET)


def test_unknown_json_shape_is_refused_with_reason() -> None:
    with pytest.raises(NoticeRejected, match="OutageItems"):
        parse_document(b'{"warnings": []}')
    with pytest.raises(NoticeRejected, match="features list"):
        parse_document(b'{"type": "FeatureCollection", "features": 3}')
    with pytest.raises(NoticeRejected, match="properties"):
        parse_document(b'{"type": "Feature", "properties": null}')
    with pytest.raises(NoticeRejected, match="expected text"):
        parse_document(b'[{"id": "x", "payload": {"data": {"headline": ["no"]}}}]')


@pytest.mark.parametrize(("name", "count", "first_id"), [
    ("nws_geojson_alerts_active_zone_pynws.json", 2, "NWS-IDP-PROD-3965873-3369046"),
    ("nina_dashboard_sample_warnings_ha.json", 2, "mow.DE-BW-S-SE018-20211102-18-001"),
    ("nws_geojson_alert_feature_polygon_callahan_tx_2024.json", 1,
     "urn:oid:2.49.0.1.840.0.907afeaae671d4ee00ff8c46735a08e24b091c58.001.1"),
    ("meteoalarm_atom_spain_2026_07_29_plomari.xml", 2,
     "https://feeds.meteoalarm.org/api/v1/warnings/feeds-spain/fed4e3c5-58e0-4f9f-9409-5b88551f7c5c"
     "?index_info=1&index_area=0&index_geocode=0"),
])
def test_cli_parses_json_warning_services(name: str, count: int, first_id: str) -> None:
    out = subprocess.run([sys.executable, "-m", "hub.cli", "notices", "parse", str(CORPUS / name)],
                         capture_output=True, check=True, timeout=60)
    lines = [orjson.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == count
    assert lines[0]["id"] == first_id


def test_cli_refuses_unknown_json(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "odd.json"
    path.write_bytes(b'{"hello": "world"}')
    out = subprocess.run([sys.executable, "-m", "hub.cli", "notices", "parse", str(path)],
                         capture_output=True, timeout=60)
    assert out.returncode == 2
    assert b"refused" in out.stderr


def test_nina_warning_details_cap_json_keyed_by_id() -> None:
    notices = parse_document(read("nina_warning_details_subset_ha.json"))
    assert [n.id for n in notices] == ["mow.DE-BW-S-SE018-20211102-18-001",
                                       "mow.DE-NW-BN-SE030-20201014-30-000"]
    health, storm = notices
    assert (health.sender, health.msg_type, health.language) == ("DE-NW-BN-SE030", "update",
                                                                 "DE")
    assert (health.category, health.event) == (("Health",), "Gefahreninformation")
    assert (health.severity, health.urgency, health.certainty) == ("Minor", "Immediate",
                                                                   "Observed")
    assert health.area.codes == {"AreaId": ("0",)}
    assert health.area.description.startswith("Bundesland: Freie Hansestadt Bremen")
    assert health.references[0] == "DE-NW-BN-SE030-20200506-30-001"
    assert (storm.sender, storm.msg_type, storm.language) == ("opendata@dwd.de", "alert",
                                                              "de-DE")
    assert (storm.event, storm.category, storm.severity) == ("STURMBÖEN", ("Met",), "Moderate")
    assert storm.onset == datetime(2021, 11, 1, 5, 20, tzinfo=CET)  # onset wins over effective
    assert storm.expires == datetime(3021, 11, 22, 5, 19, tzinfo=CET)
    assert storm.instruction.startswith("ACHTUNG! Hinweis auf mögliche Gefahren")
    assert storm.area.codes == {}
    assert storm.references == ()
    # One warning on its own, as /warnings/<id>.json answers, reads the same.
    single = orjson.loads(read("nina_warning_details_subset_ha.json"))[storm.id]
    (alone,) = parse_document(orjson.dumps(single))
    assert alone == storm


def test_cap_json_without_required_fields_is_refused() -> None:
    with pytest.raises(NoticeRejected, match="'sender'"):
        parse_document(b'{"identifier": "x", "info": []}')


def test_meteoalarm_cap_atom_feed_real_spain() -> None:
    # A real MeteoAlarm legacy Atom feed (Spain, 2026-07-29): CAP fields as cap:* elements,
    # cap:message_type for msgType, the area as an EMMA_ID geocode of valueName/value.
    first, second = parse_document(read("meteoalarm_atom_spain_2026_07_29_plomari.xml"))
    utc = UTC
    assert (first.event, first.severity, first.urgency, first.certainty) == (
        "Severe high-temperature warning", "Severe", "Future", "Likely")
    assert (first.msg_type, second.msg_type) == ("update", "alert")
    assert first.status == "Actual"
    assert first.sender == "meteoalarm.org"
    assert first.headline == "Orange High-temperature Warning issued for Spain - La Mancha albaceteña"
    assert (first.sent, first.onset, first.expires) == (
        datetime(2026, 7, 29, 17, 4, 9, tzinfo=utc), datetime(2026, 7, 31, 11, 0, tzinfo=utc),
        datetime(2026, 7, 31, 18, 59, 59, tzinfo=utc))
    assert (first.area.description, first.area.codes) == ("La Mancha albaceteña",
                                                          {"EMMA_ID": ("ES161",)})
    assert (second.area.description, second.area.codes) == ("Noroeste de Murcia",
                                                            {"EMMA_ID": ("ES222",)})
    assert first.id != second.id


def test_meteoalarm_atom_message_type_spelling() -> None:
    # Minimal entry written here for what the real Spain sample lacks: cap:references.
    feed = (b'<feed xmlns="http://www.w3.org/2005/Atom" '
            b'xmlns:cap="urn:oasis:names:tc:emergency:cap:1.2"><entry><id>x</id>'
            b'<cap:message_type>Update</cap:message_type><cap:references>a,b,c</cap:references>'
            b'<cap:event>wind</cap:event><cap:severity>Minor</cap:severity>'
            b'<cap:geocode><valueName>EMMA_ID</valueName><value>DE121</value></cap:geocode>'
            b'</entry></feed>')
    (n,) = parse_document(feed)
    assert (n.msg_type, n.references, n.area.codes) == ("update", ("b",), {"EMMA_ID": ("DE121",)})
