"""Line protocol encoding (checked against a real InfluxDB in test_telemetry_influx.py)."""

from __future__ import annotations

import pytest

from hub.telemetry.lineprotocol import encode, encode_batch

TS = 1_764_288_000.123456  # 2025-11-28T00:00:00.123456Z


def test_one_sample_is_one_line_with_sorted_tags_and_a_float_field() -> None:
    assert encode(("ana", "plug-1", "power", "", TS, 12)) == (
        "power,device=plug-1,household=ana value=12.0 1764288000123456000"
    )
    assert encode(("ana", "meter", "energy", "t1", TS, 1234.5)) == (
        "energy,channel=t1,device=meter,household=ana value=1234.5 1764288000123456000"
    )


@pytest.mark.parametrize(
    ("device", "expected"),
    [
        ("Living Room Lamp", r"device=Living\ Room\ Lamp"),
        ("a,b=c", r"device=a\,b\=c"),
        ("Küche ☕", r"device=Küche\ ☕"),
        ("0x00158d0001", "device=0x00158d0001"),
        (r"back\slash", r"device=back\slash"),
    ],
)
def test_tag_values_are_escaped(device: str, expected: str) -> None:
    line = encode(("ana", device, "power", "", TS, 1.0))
    assert line is not None
    assert f",{expected}," in line


def test_measurements_escape_commas_and_spaces() -> None:
    assert encode(("h", "d", "odd metric,x", "", TS, 1.0)) == (
        r"odd\ metric\,x,device=d,household=h value=1.0 1764288000123456000"
    )


@pytest.mark.parametrize(
    "sample",
    [
        ("h", "line\nbreak", "power", "", TS, 1.0),
        ("h", "carriage\rreturn", "power", "", TS, 1.0),
        ("h", "trailing\\", "power", "", TS, 1.0),
        ("h", "escaped\\ space", "power", "", TS, 1.0),
        ("h", "d", "power", "bad\\,channel", TS, 1.0),
        ("h", "", "power", "", TS, 1.0),
        ("", "d", "power", "", TS, 1.0),
        ("h", "d", "#comment", "", TS, 1.0),
    ],
)
def test_names_that_cannot_be_written_unambiguously_are_refused(
    sample: tuple[str, str, str, str, float, float],
) -> None:
    assert encode(sample) is None


def test_a_batch_joins_lines_and_counts_refusals() -> None:
    body, refused = encode_batch(
        [
            ("h", "a", "power", "", 1.0, 1.0),
            ("h", "bad\n", "power", "", 1.0, 2.0),
            ("h", "b", "power", "", 2.0, 3.5),
        ]
    )
    assert body == (
        "power,device=a,household=h value=1.0 1000000000\n"
        "power,device=b,household=h value=3.5 2000000000"
    )
    assert refused == 1


def test_large_and_small_floats_keep_their_value() -> None:
    line = encode(("h", "d", "energy", "", 1.0, 1e16))
    assert line is not None
    assert " value=1e+16 " in line
    line = encode(("h", "d", "energy", "", 1.0, -0.000125))
    assert line is not None
    assert " value=-0.000125 " in line
