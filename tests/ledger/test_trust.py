"""The signed record export: it verifies offline with the key set alone, any altered byte
is refused, rotation keeps old exports verifiable, and the CLI says so with its exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ledger_fixtures import Bank, hub_cli

from hub.offers.ratings import append_rating
from hub.trust import KeyRing, build_record, verify_document
from hub.trust.jws import JwsError, sign
from hub.trust.keys import b64url_decode


def history(bank: Bank) -> None:
    t = bank.tb.record("h-ana", "h-chen", "1.5", "bike", "a")
    bank.tb.confirm("h-chen", t["id"], "c")
    t = bank.tb.record("h-chen", "h-ana", "0.5", "cake", "c")
    bank.tb.confirm("h-ana", t["id"], "a")
    with bank.db.transaction() as conn:
        append_rating(conn, household="h-chen", subject="h-ana", offer="loan-1", stars=5,
                      comment="returned the drill on time", at="2026-11-29T12:00:00Z")
        append_rating(conn, household="h-ana", subject="h-chen", offer="loan-2", stars=4,
                      comment="", at="2026-11-29T12:05:00Z")


def test_record_holds_ratings_received_and_history(bank: Bank) -> None:
    history(bank)
    ring = KeyRing(bank.db, bank.clock)
    doc = verify_document(build_record(bank.db, ring, "h-ana", "2026-11-29T20:00:00Z"), ring.jwks())
    subject = doc["credentialSubject"]
    assert doc["type"] == ["VerifiableCredential", "CommunityHubRecord"]
    assert doc["issuer"]["id"] == "urn:community-hub:riverside"
    assert [r["comment"] for r in subject["ratings_received"]] == ["returned the drill on time"]
    assert subject["timebank"]["balance"] == -1.0
    assert [e["cents"] for e in subject["timebank"]["entries"]] == [150, 50]
    assert [t["status"] for t in subject["timebank"]["transfers"]] == ["confirmed", "confirmed"]


def test_every_single_altered_byte_is_refused(bank: Bank) -> None:
    history(bank)
    ring = KeyRing(bank.db, bank.clock)
    token = build_record(bank.db, ring, "h-ana", "2026-11-29T20:00:00Z")
    jwks = ring.jwks()
    for i in range(len(token)):
        for replacement in {"A", "x"} - {token[i]}:
            altered = token[:i] + replacement + token[i + 1:]
            with pytest.raises(JwsError):
                verify_document(altered, jwks)
    with pytest.raises(JwsError):
        verify_document(token + " ", jwks)


def test_rotation_keeps_old_exports_verifiable(bank: Bank) -> None:
    history(bank)
    ring = KeyRing(bank.db, bank.clock)
    old = build_record(bank.db, ring, "h-ana", "2026-11-29T20:00:00Z")
    old_kid = ring.current()[0]
    new_kid, _ = ring.rotate()
    new = build_record(bank.db, ring, "h-ana", "2026-11-29T20:01:00Z")
    jwks = ring.jwks()
    assert [k["kid"] for k in jwks["keys"]][:2] == [new_kid, old_kid]
    assert jwks["keys"][1]["status"] == "retired"
    assert verify_document(old, jwks)["credentialSubject"]["household"] == "h-ana"
    assert verify_document(new, jwks)["credentialSubject"]["household"] == "h-ana"
    with pytest.raises(JwsError, match="no key"):
        verify_document(old, {"keys": [jwks["keys"][0]]})


def test_a_resigned_forgery_and_a_wrong_item_hash_are_refused(bank: Bank) -> None:
    history(bank)
    ring = KeyRing(bank.db, bank.clock)
    token = build_record(bank.db, ring, "h-ana", "2026-11-29T20:00:00Z")
    payload = json.loads(b64url_decode(token.split(".")[1]))
    payload["credentialSubject"]["ratings_received"][0]["stars"] = 1
    kid, key = ring.current()
    # Even signed with the hub's own key, a rating that does not match its hash is refused.
    with pytest.raises(JwsError, match="chain hash"):
        verify_document(sign(payload, key, kid, "vc+jwt"), ring.jwks())
    other = KeyRing(bank.db, bank.clock)
    other_kid, other_key = other.rotate()
    forged = sign(payload, other_key, "hub-forged", "vc+jwt")
    with pytest.raises(JwsError, match="no key"):
        verify_document(forged, {"keys": [k for k in ring.jwks()["keys"] if k["kid"] != other_kid]})


def test_cli_verifies_offline_with_the_key_set(bank: Bank, tmp_path: Path) -> None:
    history(bank)
    key = hub_cli("trust", "key", data_dir=tmp_path)
    assert key.returncode == 0, key.stderr
    jwks = json.loads(key.stdout)
    assert jwks["keys"][0]["crv"] == "Ed25519"
    (tmp_path / "jwks.json").write_text(key.stdout)
    token = build_record(bank.db, KeyRing(bank.db, bank.clock), "h-ana", "2026-11-29T20:00:00Z")
    elsewhere = tmp_path / "other-hub"  # an empty store: only the key file vouches
    (tmp_path / "record.jwt").write_text(token + "\n")
    ok = hub_cli("trust", "verify", str(tmp_path / "record.jwt"), "--jwks",
                 str(tmp_path / "jwks.json"), data_dir=elsewhere)
    assert ok.returncode == 0, ok.stderr
    assert "intact: record of h-ana" in ok.stdout
    assert "2 ledger entries" in ok.stdout
    raw = bytearray((tmp_path / "record.jwt").read_bytes())
    raw[len(raw) // 2] ^= 0x01
    (tmp_path / "altered.jwt").write_bytes(bytes(raw))
    bad = hub_cli("trust", "verify", str(tmp_path / "altered.jwt"), "--jwks",
                  str(tmp_path / "jwks.json"), data_dir=elsewhere)
    assert bad.returncode == 1
    assert "NOT intact" in bad.stderr
