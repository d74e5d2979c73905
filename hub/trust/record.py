"""A household's record (ratings received, time-bank history) as a signed credential.

The document is a compact JWS (EdDSA) whose payload follows the W3C Verifiable Credentials
Data Model 2.0 (``@context``, ``type``, ``issuer``, ``validFrom``, ``credentialSubject``),
the "VC secured with JOSE" form (``typ: vc+jwt``): any JOSE library verifies it, and since
the signature covers the payload's exact bytes no JSON-LD canonicalisation is needed (see
docs/trust.md for why). Every rating and ledger entry inside keeps its chain hash, so the
receiving hub can also check each item against its content.
"""

from __future__ import annotations

from typing import Any

from hub.ledger.chain import FIELDS as ENTRY_FIELDS
from hub.ledger.chain import entry_hash, head
from hub.offers.ratings import ratings_of, row_hash
from hub.offers.uow import new_id
from hub.storage.database import Database
from hub.trust.jws import JwsError, sign, verify
from hub.trust.keys import KeyRing

CONTEXT = "https://www.w3.org/ns/credentials/v2"
TYPE = "CommunityHubRecord"
TYP = "vc+jwt"
RATING_FIELDS = ("id", "household", "subject", "offer", "stars", "comment", "created_at",
                 "prev_hash", "hash")


def issuer_of(community: str) -> str:
    """The issuer id of a community's hub."""
    return f"urn:community-hub:{community}"


def build_record(db: Database, keys: KeyRing, household: str, now: str) -> str:
    """The signed record of ``household`` (compact JWS text)."""
    row = db.query_one("SELECT h.name, h.community, c.name AS cname FROM households h"
                       " JOIN communities c ON c.id = h.community WHERE h.id = ?", (household,))
    if row is None:
        raise LookupError(f"no household {household}")
    entries, running = [], 0
    for r in db.query("SELECT * FROM timebank_entries WHERE debit = ? OR credit = ? ORDER BY seq",
                      (household, household)):
        running += r["cents"] if r["credit"] == household else -r["cents"]
        entries.append({k: r[k] for k in (*ENTRY_FIELDS, "hash")})
    transfers = [dict(r) for r in db.query(
        "SELECT id, payer, helper, cents, note, status, created_at, decided_at FROM"
        " timebank_transfers WHERE (payer = ? OR helper = ?) AND status IN"
        " ('confirmed', 'reversed') ORDER BY created_at, id", (household, household))]
    issuer = issuer_of(row["community"])
    credential = {
        "@context": [CONTEXT],
        "type": ["VerifiableCredential", TYPE],
        "id": f"urn:uuid:{new_id('rec')}",
        "issuer": {"id": issuer, "name": f"{row['cname']} community hub"},
        "validFrom": now,
        "credentialSubject": {
            "id": f"{issuer}:household:{household}",
            "household": household,
            "name": row["name"],
            "community": row["community"],
            "ratings_received": ratings_of(db, household),
            "timebank": {"balance_hundredths": running, "balance": running / 100,
                         "entries": entries, "transfers": transfers,
                         "ledger_head": head(db)},
        },
    }
    kid, key = keys.current()
    return sign({**credential, "iss": issuer, "sub": household}, key, kid, TYP)


def verify_document(text: str, jwks: dict[str, Any]) -> dict[str, Any]:
    """Check an export's signature and content; return its credential.

    Raises:
        JwsError: the signature, the shape or an item's chain hash is wrong.
    """
    header, doc = verify(text, jwks)
    if header.get("typ") != TYP:
        raise JwsError(f"the JWS typ must be {TYP}")
    if CONTEXT not in (doc.get("@context") or []) or TYPE not in (doc.get("type") or []):
        raise JwsError(f"not a {TYPE} verifiable credential")
    subject = doc.get("credentialSubject")
    if not isinstance(subject, dict) or not isinstance(subject.get("household"), str):
        raise JwsError("credentialSubject.household is missing")
    household = subject["household"]
    if doc.get("sub") != household:
        raise JwsError("sub does not name the credential's subject")
    for rating in subject.get("ratings_received") or []:
        if not isinstance(rating, dict) or set(rating) != set(RATING_FIELDS):
            raise JwsError("a rating has unexpected fields")
        if rating["subject"] != household or row_hash(rating["prev_hash"], rating) != rating["hash"]:
            raise JwsError(f"rating {rating.get('id')} does not match its chain hash")
    bank = subject.get("timebank")
    if not isinstance(bank, dict):
        raise JwsError("credentialSubject.timebank is missing")
    running = 0
    for entry in bank.get("entries") or []:
        if not isinstance(entry, dict) or set(entry) != {*ENTRY_FIELDS, "hash"}:
            raise JwsError("a ledger entry has unexpected fields")
        if entry_hash(entry["prev_hash"], entry) != entry["hash"]:
            raise JwsError(f"ledger entry {entry.get('id')} does not match its chain hash")
        if household not in (entry["debit"], entry["credit"]):
            raise JwsError(f"ledger entry {entry['id']} is not the subject's")
        running += entry["cents"] if entry["credit"] == household else -entry["cents"]
    if bank.get("balance_hundredths") != running:
        raise JwsError("the balance is not the sum of the entries")
    return doc
