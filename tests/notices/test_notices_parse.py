"""Every CAP and outage file of the corpus parses, with its fields asserted."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest
from notices_support import CORPUS

from hub.errors import NoticeRejected
from hub.notices.model import CONTRACT_KEYS, Notice
from hub.notices.parse import parse_document

ROOT = Path(__file__).resolve().parents[2]


def tz(hours: int) -> timezone:
    return timezone(timedelta(hours=hours))


def read(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def test_amber_alert_two_languages_pick_and_keep() -> None:
    (en,) = parse_document(read("cap12_oasis_amber_alert_example.xml"))
    assert en.id == "KAR0-0306112239-SW"
    assert en.sender == "KARO@CLETS.DOJ.CA.GOV"
    assert en.sent == datetime(2003, 6, 11, 22, 39, tzinfo=tz(-7))
    assert en.marshal()["sent"] == "2003-06-11T22:39:00-07:00"
    assert (en.msg_type, en.status) == ("alert", "Actual")
    assert en.category == ("Rescue",)
    assert (en.urgency, en.severity, en.certainty) == ("Immediate", "Severe", "Likely")
    assert en.language == "en-US"
    assert en.event == "Child Abduction"
    assert en.headline == "Amber Alert in Los Angeles County"
    assert en.area.description == "Los Angeles County"
    assert en.area.codes == {"SAME": ("006037",)}
    assert [i.language for i in en.infos] == ["en-US", "es-US"]
    assert en.references == ()

    (es,) = parse_document(read("cap12_oasis_amber_alert_example.xml"), language="es")
    assert es.language == "es-US"
    assert es.event == "Abducción de Niño"
    assert es.headline == "Alerta Amber en el condado de Los Ángeles"
    assert es.area.description == "condado de Los Ángeles"
    assert es.infos == en.infos
    assert en.in_language("es-US").event == "Abducción de Niño"
    # A language not offered falls back to the first block.
    (fr,) = parse_document(read("cap12_oasis_amber_alert_example.xml"), language="fr-FR")
    assert fr.language == "en-US"


def test_nws_cap11_blizzard_warning() -> None:
    (n,) = parse_document(read("nws_cap11_blizzard_warning.xml"))
    assert n.id == (
        "NOAA-NWS-ALERTS-MN1261CB03F0E0.BlizzardWarning.1261CB10BF00MN.DLHWSWDLH."
        "5c2cf27b1f56885d61654dc47fa411d5"
    )
    assert n.sender == "w-nws.webmaster@noaa.gov"
    assert n.marshal()["sent"] == "2021-12-27T10:08:00-06:00"
    assert n.category == ("Met",)
    assert n.event == "Blizzard Warning"
    # No <onset>: the effective time stands in.
    assert n.onset == datetime(2021, 12, 27, 10, 8, tzinfo=tz(-6))
    assert n.marshal()["expires"] == "2021-12-27T18:00:00-06:00"
    assert n.language == "en-US"  # CAP default when <language> is absent
    assert n.instruction.startswith("Travel should be restricted to emergencies only.")
    assert n.description.startswith("...BLIZZARD WARNING REMAINS IN EFFECT")
    assert n.area.description == "Southern Cook, North Shore; Southern Lake, North Shore"
    assert n.area.codes == {"FIPS6": ("027031", "027075"), "UGC": ("MNZ020", "MNZ021")}
    assert n.area.polygons == ()  # the empty <polygon/> is ignored


def test_cap12_severe_thunderstorm_polygon() -> None:
    (n,) = parse_document(read("oasis_cap12_appendixA2_severe_thunderstorm.xml"))
    assert n.id == "KSTO1055887203"
    assert n.sender == "KSTO@NWS.NOAA.GOV"
    assert n.marshal()["sent"] == "2003-06-17T14:57:00-07:00"
    assert n.event == "SEVERE THUNDERSTORM"
    assert (n.urgency, n.severity, n.certainty) == ("Immediate", "Severe", "Observed")
    assert n.instruction == "TAKE COVER IN A SUBSTANTIAL SHELTER UNTIL THE STORM PASSES."
    assert n.onset is None
    assert n.expires == datetime(2003, 6, 17, 16, 0, tzinfo=tz(-7))
    assert n.area.polygons == (
        ((38.47, -120.14), (38.34, -119.95), (38.52, -119.74), (38.62, -119.89), (38.47, -120.14)),
    )
    assert n.area.codes == {"SAME": ("006109", "006009", "006003")}
    assert n.marshal()["area"]["polygons"][0][0] == [38.47, -120.14]


def test_nws_atom_index_feed() -> None:
    notices = parse_document(read("nws_atom_feed_cap11_index_2018.xml"))
    assert len(notices) == 163
    assert all(n.source == "cap-index" and n.msg_type == "alert" for n in notices)
    assert all(n.link == n.id and n.link.startswith("https://alerts.weather.gov/") for n in notices)
    first = notices[0]
    assert first.id.endswith(
        "AK125AB652A170.HighWindWarning.125AB660BDF0AK.AFGNPWNSB.e9d4afdcacb3b7015f58bccc1db60d46"
    )
    assert first.sender == "w-nws.webmaster@noaa.gov"
    assert first.marshal()["sent"] == "2018-08-15T14:52:00-08:00"
    assert first.event == "High Wind Warning"
    assert first.category == ("Met",)
    assert first.severity == "Severe"
    assert first.marshal()["expires"] == "2018-08-16T07:00:00-08:00"
    assert first.headline.startswith("High Wind Warning issued August 15 at 2:52PM AKDT")
    assert first.area.description == "Eastern Beaufort Sea Coast"
    assert first.area.codes == {"FIPS6": ("002185",), "UGC": ("AKZ204",)}

    by_event = {n.event: n for n in notices}
    sws = next(n for n in notices if n.id.endswith("MOBSPSMOB.0c429569b1ae326d9ec51df9303d57a0"))
    assert sws.sent == datetime(2018, 8, 15, 17, 55, tzinfo=tz(-5))
    assert sws.area.polygons[0][0] == (31.62, -86.35)
    assert len(sws.area.polygons[0]) == 9
    red_flag = notices[-1]
    assert red_flag.event == "Red Flag Warning"
    assert red_flag.marshal()["sent"] == "2018-08-15T14:50:00-06:00"
    # NWS index geocodes hold space-separated lists.
    assert red_flag.area.codes == {
        "FIPS6": ("056023", "056035", "056037", "056041"),
        "UGC": ("WYZ277", "WYZ278", "WYZ279", "WYZ414"),
    }
    assert sum(1 for n in notices if n.area.polygons) == 99
    assert "Red Flag Warning" in by_event


def test_tauron_outage_json() -> None:
    (n,) = parse_document(read("tauron_outages_planned_subset.json"))
    assert n.id == "c497d2cf-4338-4580-88e9-126cfd7f1a3a"
    assert n.source == "outage"
    assert n.category == ("Infra",)
    assert n.event == "Planned power outage"
    assert n.onset == datetime(2026, 10, 6, 13, 0, tzinfo=UTC)
    assert n.marshal()["onset"] == "2026-10-06T13:00:00+00:00"
    assert n.marshal()["expires"] == "2026-10-06T15:00:00+00:00"
    assert n.area.description == "Wrocław Krzyki: Aliancka 17."
    assert n.area.codes == {"TAURON-ADDRESS-POINT": ("5484734",)}
    assert n.sent is None
    assert n.msg_type == "alert"


def test_outage_inactive_item_is_a_cancel() -> None:
    doc = orjson.loads(read("tauron_outages_planned_subset.json"))
    doc["OutageItems"][0]["IsActive"] = False
    (n,) = parse_document(orjson.dumps(doc))
    assert n.msg_type == "cancel"
    assert n.references == ("c497d2cf-4338-4580-88e9-126cfd7f1a3a",)


@pytest.mark.parametrize(
    "name", sorted(p.name for p in CORPUS.iterdir() if p.suffix in {".xml", ".json"})
)
def test_marshal_has_exactly_the_contract_keys_and_round_trips(name: str) -> None:
    for notice in parse_document(read(name)):
        data = notice.marshal()
        assert tuple(data) == CONTRACT_KEYS
        assert set(data["area"]) == {"description", "codes", "polygons", "circles"}
        assert Notice.from_record(notice.to_record()) == notice


def test_references_triples_map_to_identifiers() -> None:
    doc = read("oasis_cap12_appendixA2_severe_thunderstorm.xml").replace(
        b"<msgType>Alert</msgType>",
        b"<msgType>Update</msgType><references>KSTO@NWS.NOAA.GOV,KSTO1055887200,"
        b"2003-06-17T14:00:00-07:00 KSTO@NWS.NOAA.GOV,KSTO1055887201,2003-06-17T14:30:00-07:00"
        b"</references>",
    )
    (n,) = parse_document(doc)
    assert n.msg_type == "update"
    assert n.references == ("KSTO1055887200", "KSTO1055887201")


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        (b"", "neither XML nor JSON"),
        (b"<alert", "malformed XML"),
        (b"<html/>", "not a CAP alert"),
        (b'<alert xmlns="urn:oasis:names:tc:emergency:cap:0.9"/>', "not supported"),
        (
            b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><sender>x</sender></alert>',
            "no <identifier>",
        ),
        (b"{not json", "malformed JSON"),
        (b'{"a": 1}', "no OutageItems"),
        (b'{"OutageItems": [{"OutageId": "x"}]}', "StartDate"),
        (b'{"OutageItems": [{"OutageId": "x", "StartDate": "2026-10-06T13:00:00"}]}', "StartDate"),
    ],
)
def test_malformed_documents_are_refused_with_a_reason(doc: bytes, reason: str) -> None:
    with pytest.raises(NoticeRejected, match=reason):
        parse_document(doc)


def test_ack_and_naive_times_are_refused() -> None:
    base = read("oasis_cap12_appendixA2_severe_thunderstorm.xml")
    with pytest.raises(NoticeRejected, match="msgType 'Ack'"):
        parse_document(base.replace(b"<msgType>Alert", b"<msgType>Ack"))
    with pytest.raises(NoticeRejected, match="no time zone offset"):
        parse_document(base.replace(b"2003-06-17T14:57:00-07:00", b"2003-06-17T14:57:00"))
    with pytest.raises(NoticeRejected, match="has no <references>"):
        parse_document(base.replace(b"<msgType>Alert", b"<msgType>Cancel"))


def run_cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", "notices", "parse", *args],
        capture_output=True,
        timeout=60,
        check=False,
        env={"PYTHONPATH": str(ROOT)},
    )


def test_cli_prints_one_json_object_per_notice() -> None:
    done = run_cli(str(CORPUS / "nws_atom_feed_cap11_index_2018.xml"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 163
    assert orjson.loads(lines[-1])["event"] == "Red Flag Warning"
    done = run_cli("--language", "es-US", str(CORPUS / "cap12_oasis_amber_alert_example.xml"))
    (line,) = done.stdout.splitlines()
    assert orjson.loads(line)["headline"] == "Alerta Amber en el condado de Los Ángeles"


def test_cli_refusal_exits_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "laughs.xml"
    bad.write_bytes(b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')
    done = run_cli(str(bad))
    assert done.returncode == 2
    assert done.stdout == b""
    err = done.stderr.decode().strip().splitlines()
    assert len(err) == 1
    assert "DTDForbidden" in err[0]
