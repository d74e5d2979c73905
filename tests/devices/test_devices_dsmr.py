"""DSMR P1 telegrams: CRC-16 check, versions 2.2 to 5 and the Belgian variant."""

from __future__ import annotations

import pytest
from devices_helpers import corpus, table

from hub.devices import Normalizer, crc16
from hub.errors import PayloadRejected

REAL = corpus("dsmr/raw_telegram_landisgyr350_NL_dsmr42_with_gas.txt")


def telegram(lines: list[str]) -> bytes:
    """A telegram with CRLF line ends and its CRC, as a meter sends it."""
    body = ("\r\n".join(lines) + "\r\n!").encode()
    return body + f"{crc16(body):04X}\r\n".encode()


def test_crc16_is_crc16_arc() -> None:
    assert crc16(b"123456789") == 0xBB3D  # the catalogue check value of CRC-16/ARC
    end = REAL.index(b"!")
    assert crc16(REAL[: end + 1]) == int(REAL[end + 1 : end + 5], 16)  # the real meter's own


def test_every_single_byte_corruption_is_rejected_whole(normalizer: Normalizer) -> None:
    end = REAL.index(b"!")
    rejected = 0
    for pos in range(1, end):
        original = REAL[pos]
        for replacement in {ord("0") if original != ord("0") else ord("1"), original ^ 0x01}:
            corrupted = REAL[:pos] + bytes([replacement]) + REAL[pos + 1 :]
            with pytest.raises(PayloadRejected) as info:
                normalizer.normalize("dsmr/raw", corrupted)
            assert "DSMR" in info.value.reason
            rejected += 1
    assert rejected >= end - 1  # at least one corruption per byte position


def test_crc_digits_corrupted_or_missing(normalizer: Normalizer) -> None:
    end = REAL.index(b"!")
    wrong = REAL[: end + 1] + b"8775\n"
    with pytest.raises(PayloadRejected, match="CRC mismatch"):
        normalizer.normalize("dsmr/raw", wrong)
    with pytest.raises(PayloadRejected, match="without its CRC"):
        normalizer.normalize("dsmr/raw", REAL[: end + 1] + b"\r\n")
    with pytest.raises(PayloadRejected, match="four hex digits"):
        normalizer.normalize("dsmr/raw", REAL[: end + 1] + b"87Z4\n")
    with pytest.raises(PayloadRejected, match="no '!'"):
        normalizer.normalize("dsmr/raw", REAL[:end])  # truncated telegram
    with pytest.raises(PayloadRejected, match="start with"):
        normalizer.normalize("dsmr/raw", REAL[5:])  # joined mid-telegram


def test_lf_only_line_ends_fail_the_crc(normalizer: Normalizer) -> None:
    # A bridge that rewrote CRLF to LF changed the bytes the CRC covers.
    with pytest.raises(PayloadRejected, match="CRC"):
        normalizer.normalize("dsmr/raw", REAL.replace(b"\r\n", b"\n"))


def test_dsmr22_legacy_gas_without_crc(normalizer: Normalizer) -> None:
    raw = "\r\n".join([
        "/ISk5\\2MT382-1004", "", "0-0:96.1.1(00000000000000)",
        "1-0:1.8.1(00001.001*kWh)", "1-0:1.8.2(00001.002*kWh)", "1-0:2.8.1(00000.500*kWh)",
        "0-0:96.14.0(0001)", "1-0:1.7.0(0001.01*kW)", "1-0:2.7.0(0000.00*kW)",
        "0-0:17.0.0(0999.00*kW)", "0-1:24.1.0(3)", "0-1:96.1.0(000000000000)",
        "0-1:24.3.0(161107190000)(00)(60)(1)(0-1:24.2.1)(m3)", "(00124.477)",
        "0-1:24.4.0(1)", "!", "",
    ]).encode()
    got = table(normalizer.normalize("dsmr/raw", raw))
    meter = "ISk52MT382-1004"
    assert got[(meter, "energy", "t1")] == (1.001, "kWh", None)  # no 0-0:1.0.0 in 2.2
    assert got[(meter, "energy", "t2")] == (1.002, "kWh", None)
    assert got[(meter, "energy_export", "t1")] == (0.5, "kWh", None)
    assert got[(meter, "power", None)] == (1010.0, "W", None)
    assert got[(meter, "gas", None)] == (124.477, "m³", None)  # value on the next line
    assert got[(meter, "tariff", None)] == (1, None, None)


def test_dsmr5_gas_and_water_meters(normalizer: Normalizer) -> None:
    raw = telegram([
        "/Ene5\\T210-D ESMR5.0", "", "1-3:0.2.8(50)", "0-0:1.0.0(230714101523S)",
        "1-0:1.8.1(001234.567*kWh)", "1-0:1.8.2(002345.678*kWh)",
        "1-0:2.8.1(000100.000*kWh)", "1-0:2.8.2(000200.000*kWh)", "0-0:96.14.0(0002)",
        "1-0:1.7.0(00.512*kW)", "1-0:2.7.0(00.000*kW)", "1-0:32.7.0(231.0*V)",
        "1-0:52.7.0(229.5*V)", "1-0:72.7.0(230.1*V)", "1-0:31.7.0(002*A)",
        "0-1:24.1.0(003)", "0-1:96.1.0(4730303331)", "0-1:24.2.1(230714101000S)(04321.123*m3)",
        "0-2:24.1.0(007)", "0-2:96.1.0(4730303332)", "0-2:24.2.1(230714100500S)(00123.456*m3)",
    ])
    got = table(normalizer.normalize("dsmr/raw", raw))
    meter = "Ene5T210-D ESMR5.0"
    ts = "2023-07-14T08:15:23Z"  # 10:15:23 CEST
    assert got[(meter, "energy", "t2")] == (2345.678, "kWh", ts)
    assert got[(meter, "power", None)] == (512.0, "W", ts)
    assert got[(meter, "voltage", "l2")] == (229.5, "V", ts)
    assert got[(meter, "gas", None)] == (4321.123, "m³", "2023-07-14T08:10:00Z")
    # M-Bus device type 7 is a water meter: m³ to litres, channel = its bus number
    assert got[(meter, "water", "2")] == (123456.0, "L", "2023-07-14T08:05:00Z")


def test_belgian_emucs(normalizer: Normalizer) -> None:
    raw = telegram([
        "/FLU5\\253769484_A", "", "0-0:96.1.4(50217)",
        "0-0:96.1.1(3153414733313031303231363035)", "0-0:1.0.0(200512135409S)",
        "1-0:1.8.1(000000.034*kWh)", "1-0:1.8.2(000015.758*kWh)",
        "1-0:2.8.1(000000.000*kWh)", "1-0:2.8.2(000000.011*kWh)", "0-0:96.14.0(0001)",
        "1-0:1.7.0(00.000*kW)", "1-0:2.7.0(00.000*kW)", "1-0:32.7.0(234.7*V)",
        "1-0:31.7.0(000*A)", "0-0:96.3.10(1)", "0-0:17.0.0(999.9*kW)", "1-0:31.4.0(999*A)",
        "0-0:96.13.0()", "0-1:24.1.0(003)", "0-1:96.1.1(37464C4F32313139303333373333)",
        "0-1:24.4.0(1)", "0-1:24.2.3(200512134558S)(00112.384*m3)",
    ])
    got = table(normalizer.normalize("dsmr/raw", raw))
    meter = "FLU5253769484_A"
    ts = "2020-05-12T11:54:09Z"
    assert got[(meter, "energy", "t2")] == (15.758, "kWh", ts)
    assert got[(meter, "energy_export", "t2")] == (0.011, "kWh", ts)
    assert got[(meter, "voltage", "l1")] == (234.7, "V", ts)
    assert got[(meter, "gas", None)] == (112.384, "m³", "2020-05-12T11:45:58Z")  # 24.2.3
    # a Belgian telegram (0-0:96.1.4 version line) must carry its CRC
    end = raw.index(b"!")
    with pytest.raises(PayloadRejected, match="without its CRC"):
        normalizer.normalize("dsmr/raw", raw[: end + 1])


def test_dsmr2mqtt_electricity_trap(normalizer: Normalizer) -> None:
    payload = (b'{"V1":226.0,"V2":232.0,"V3":229.0,"database":"dsmr","el_consumed":24488767.0,'
               b'"el_returned":21190375.0,"p_consumed":1130.0,"p_generated":0.0,'
               b'"serial":"33363137","timestamp":1642275125}')
    got = table(normalizer.normalize("dsmr/el", payload))
    ts = "2022-01-15T19:32:05Z"
    assert got[("33363137", "energy", None)] == (24488.767, "kWh", ts)
    assert got[("33363137", "energy_export", None)] == (21190.375, "kWh", ts)
    assert got[("33363137", "power", None)] == (1130.0, "W", ts)
    assert got[("33363137", "voltage", "l2")] == (232.0, "V", ts)
