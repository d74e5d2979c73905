"""REST routes of the trust export (OpenAPI tag ``trust``) and the public key set."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from hub.ledger.routes import HouseholdP, component, domain_router
from hub.trust.keys import KeyRing
from hub.trust.record import build_record

router = domain_router("trust", 401, 403)

MEDIA_TYPE = "application/vc+jwt"


def _keys(request: Request) -> KeyRing:
    keys: KeyRing = component(request, "trust_keys")
    return keys


@router.get("/trust/export", response_class=Response,
            responses={200: {"description": "My record as a signed credential (compact JWS)",
                             "content": {MEDIA_TYPE: {"example": "eyJhbGciOiJFZERTQSJ9.e30.sig"}}}},
            summary="Export my ratings received and time-bank history, signed by the hub")
def export(request: Request, p: HouseholdP) -> Response:
    assert p.household
    hub = request.app.state.hub
    token = build_record(hub.db, _keys(request), p.household, hub.offers.uow.now())
    return Response(token + "\n", media_type=MEDIA_TYPE, headers={
        "Content-Disposition": f'attachment; filename="record-{p.household}.jwt"',
        "Cache-Control": "no-store"})


@router.get("/.well-known/jwks.json", summary="The hub's public signing keys (JWK set)",
            responses={200: {"description": "Every key that signed exports, newest first"}})
def jwks(request: Request) -> Any:
    return JSONResponse(_keys(request).jwks(), headers={"Cache-Control": "max-age=300"})
