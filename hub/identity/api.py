"""REST routes of the identity package: login, accounts (admin), consents (households).

Mounted by the lead's app; the routes reach the service as
``request.app.state.hub.identity``. Bodies refuse unknown fields (422) and bodies over
64 KiB (413, before parsing); page sizes are capped (422).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StringConstraints

from hub.errors import DomainError
from hub.identity.accounts import Credentials, Principal
from hub.identity.auth import current_principal, http_error, identity_of, require_role
from hub.identity.consent import Grant
from hub.identity.limits import LimitedBodyRoute

Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,64}$")]
Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,61}$")]
Text = Annotated[str, StringConstraints(max_length=200)]
Password = Annotated[str, StringConstraints(min_length=8, max_length=1024)]
Limit = Annotated[int, Query(ge=1, le=200, description="page size, at most 200")]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
# Strict: a JSON true is not a coordinate (lax pydantic would read it as 1.0).
Lat = Annotated[StrictFloat, Field(ge=-90, le=90)]
Lon = Annotated[StrictFloat, Field(ge=-180, le=180)]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no live token"},
    403: {"description": "this role may not use this route"},
    404: {"description": "no such object, or not yours"},
    409: {"description": "conflicts with the current state"},
    413: {"description": "body over 64 KiB"},
    422: {"description": "invalid input"},
}

router = APIRouter(route_class=LimitedBodyRoute, responses=_ERRORS)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- models -----------------------------------------------------------------------------


class LoginIn(Strict):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class PrincipalOut(BaseModel):
    account_id: str
    username: str
    role: str
    household: str | None
    provider: str | None
    community: str | None


class LoginOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: float
    principal: PrincipalOut


class HouseholdIn(Strict):
    id: Id
    community: Id
    name: Text
    street: Text = ""
    lat: Lat | None = None
    lon: Lon | None = None
    area_codes: dict[
        Annotated[str, StringConstraints(max_length=40)],
        Annotated[list[Annotated[str, StringConstraints(max_length=40)]], Field(max_length=20)],
    ] = Field(default_factory=dict, max_length=10)
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")] = "en"
    password: Password | None = None
    username: Name | None = None


class ProviderIn(Strict):
    id: Id
    community: Id | None = None
    name: Text
    kinds: Annotated[list[Name], Field(max_length=20)] = Field(default_factory=list)
    lat: Lat | None = None
    lon: Lon | None = None
    radius_km: Annotated[StrictFloat, Field(gt=0, le=1000)] | None = None
    password: Password | None = None
    username: Name | None = None


class MqttLogin(BaseModel):
    username: str
    password: str | None


class CredentialsOut(BaseModel):
    """Secrets shown once: store them now, the hub keeps only their hashes."""

    account_id: str
    username: str
    role: str
    password: str | None
    api_token: str | None
    mqtt: MqttLogin | None


class AccountOut(BaseModel):
    id: str
    username: str
    role: str
    household: str | None
    provider: str | None
    community: str | None
    mqtt_username: str | None
    disabled: bool


class ConsentIn(Strict):
    grantee_provider: Id | None = None
    grantee_kind: Name | None = None
    purpose: Name
    signals: Annotated[list[Name], Field(min_length=1, max_length=50)]
    until: datetime | None = None


class GrantOut(BaseModel):
    id: str
    household: str
    grantee_provider: str | None
    grantee_kind: str | None
    purpose: str
    signals: list[str]
    created_at: str | None
    until: str | None
    revoked_at: str | None


class AuditOut(BaseModel):
    id: int
    at: str | None
    event: str
    grant_id: str | None
    provider: str | None
    purpose: str | None
    signals: list[str]
    detail: dict[str, Any]


def _credentials(c: Credentials) -> CredentialsOut:
    mqtt = None
    if c.mqtt_username is not None:
        mqtt = MqttLogin(username=c.mqtt_username, password=c.mqtt_password)
    return CredentialsOut(
        account_id=c.account_id,
        username=c.username,
        role=c.role,
        password=c.password,
        api_token=c.api_token,
        mqtt=mqtt,
    )


def _grant(g: Grant) -> GrantOut:
    return GrantOut(**g.marshal())


# -- auth -------------------------------------------------------------------------------


@router.post(
    "/auth/login",
    response_model=LoginOut,
    tags=["auth"],
    responses={429: {"description": "too many failed logins; see Retry-After"}},
)
def login(body: LoginIn, request: Request) -> LoginOut:
    """Exchange a username and password for a short-lived bearer token."""
    address = request.client.host if request.client else ""
    try:
        token, principal, expires = identity_of(request).login(
            body.username, body.password, address=address
        )
    except DomainError as exc:
        raise http_error(exc) from None
    return LoginOut(
        access_token=token, expires_at=expires, principal=PrincipalOut(**principal.marshal())
    )


@router.post("/auth/logout", status_code=204, tags=["auth"])
def logout(
    request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> Response:
    """Revoke the token this request carries."""
    header = request.headers.get("authorization", "")
    identity_of(request).logout(header.partition(" ")[2].strip())
    return Response(status_code=204)


@router.get("/me", response_model=PrincipalOut, tags=["auth"])
async def me(principal: Annotated[Principal, Depends(current_principal)]) -> PrincipalOut:
    """Who the token belongs to."""
    return PrincipalOut(**principal.marshal())


# -- admin ------------------------------------------------------------------------------

AdminOnly = Annotated[Principal, Depends(require_role("admin"))]


@router.post("/admin/households", status_code=201, response_model=CredentialsOut, tags=["admin"])
def create_household(body: HouseholdIn, request: Request, admin: AdminOnly) -> CredentialsOut:
    """Provision a household: its login and its device gateway's MQTT login (shown once)."""
    try:
        creds = identity_of(request).create_household(
            body.id,
            body.community,
            body.name,
            body.street,
            body.lat,
            body.lon,
            body.area_codes,
            body.language,
            body.password,
            username=body.username,
        )
    except DomainError as exc:
        raise http_error(exc) from None
    return _credentials(creds)


@router.post("/admin/providers", status_code=201, response_model=CredentialsOut, tags=["admin"])
def create_provider(body: ProviderIn, request: Request, admin: AdminOnly) -> CredentialsOut:
    """Provision a provider: login, API token and MQTT login (shown once)."""
    try:
        creds = identity_of(request).create_provider(
            body.id,
            body.community,
            body.name,
            body.kinds,
            body.lat,
            body.lon,
            body.radius_km,
            body.password,
            username=body.username,
        )
    except DomainError as exc:
        raise http_error(exc) from None
    return _credentials(creds)


@router.get("/admin/accounts", response_model=list[AccountOut], tags=["admin"])
def list_accounts(
    request: Request, admin: AdminOnly, limit: Limit = 50, offset: Offset = 0
) -> list[AccountOut]:
    """Accounts, oldest first."""
    rows = identity_of(request).list_accounts(limit=limit, offset=offset)
    return [AccountOut(**r) for r in rows]


@router.post("/admin/accounts/{account}/disable", status_code=204, tags=["admin"])
def disable_account(account: Name, request: Request, admin: AdminOnly) -> Response:
    """Disable an account (id or username): tokens revoked, MQTT connections kicked."""
    if account in (admin.account_id, admin.username):
        raise HTTPException(409, "an admin cannot disable their own account")
    try:
        identity_of(request).disable_account(account)
    except DomainError as exc:
        raise http_error(exc) from None
    return Response(status_code=204)


@router.delete("/admin/accounts/{account}", status_code=204, tags=["admin"])
def delete_account(account: Name, request: Request, admin: AdminOnly) -> Response:
    """Delete an account (id or username) and its MQTT login; its data stays."""
    if account in (admin.account_id, admin.username):
        raise HTTPException(409, "an admin cannot delete their own account")
    try:
        identity_of(request).delete_account(account)
    except DomainError as exc:
        raise http_error(exc) from None
    return Response(status_code=204)


# -- consents ---------------------------------------------------------------------------

HouseholdOnly = Annotated[Principal, Depends(require_role("household"))]


def _household(principal: Principal) -> str:
    if principal.household is None:  # a household account always has one
        raise HTTPException(403, "this account belongs to no household")
    return principal.household


@router.get("/consents", response_model=list[GrantOut], tags=["consents"])
async def list_consents(
    request: Request, principal: HouseholdOnly, limit: Limit = 50, offset: Offset = 0
) -> list[GrantOut]:
    """The household's grants, newest first."""
    grants = identity_of(request).consent.list_grants(
        _household(principal), limit=limit, offset=offset
    )
    return [_grant(g) for g in grants]


@router.post("/consents", status_code=201, response_model=GrantOut, tags=["consents"])
def grant_consent(body: ConsentIn, request: Request, principal: HouseholdOnly) -> GrantOut:
    """Grant a provider, or a kind of provider, signals for a purpose (until a time)."""
    try:
        grant = identity_of(request).consent.grant(
            _household(principal),
            body.grantee_provider,
            body.grantee_kind,
            purpose=body.purpose,
            signals=body.signals,
            until=body.until,
        )
    except DomainError as exc:
        raise http_error(exc) from None
    return _grant(grant)


@router.get("/consents/audit", response_model=list[AuditOut], tags=["consents"])
async def consent_audit(
    request: Request,
    principal: HouseholdOnly,
    after_id: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[AuditOut]:
    """Every grant, use and revocation of the household's consents, oldest first (JSON)."""
    rows = identity_of(request).consent.audit_export(
        _household(principal), limit=limit, after_id=after_id
    )
    return [AuditOut(**r) for r in rows]


@router.get("/consents/{grant_id}", response_model=GrantOut, tags=["consents"])
async def get_consent(grant_id: Name, request: Request, principal: HouseholdOnly) -> GrantOut:
    """One of the household's grants (404 for anyone else's)."""
    try:
        return _grant(identity_of(request).consent.get(grant_id, _household(principal)))
    except DomainError as exc:
        raise http_error(exc) from None


@router.post("/consents/{grant_id}/revoke", response_model=GrantOut, tags=["consents"])
def revoke_consent(grant_id: Name, request: Request, principal: HouseholdOnly) -> GrantOut:
    """Revoke a grant: nothing more of it reaches the provider, queued copies included."""
    try:
        return _grant(identity_of(request).consent.revoke(grant_id, _household(principal)))
    except DomainError as exc:
        raise http_error(exc) from None
