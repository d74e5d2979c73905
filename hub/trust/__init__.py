"""Trust that leaves with its owner: a household's record, signed by the hub.

:mod:`hub.trust.keys` keeps the hub's Ed25519 keys (rotation keeps old ones),
:mod:`hub.trust.jws` signs and verifies compact JWS (RFC 7515, EdDSA per RFC 8037),
:mod:`hub.trust.record` builds and checks the exported record.
"""

from hub.trust.keys import KeyRing
from hub.trust.record import build_record, verify_document

__all__ = ["KeyRing", "build_record", "verify_document"]
