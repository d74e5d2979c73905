"""RELIABILITY rows 21-24 and 26 over a real HTTP server running the identity router.

Written against ``app.routes`` and the OpenAPI document, so that the lead can point the
same checks at the whole app: every route's roles come from :func:`require_role`.
"""

from __future__ import annotations

import resource
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from identity_api_app import build_app, serve
from identity_probe import FAST_PASSWORDS
from schemathesis import checks

from hub.clock import SystemClock
from hub.identity.auth import route_security
from hub.identity.limits import LoginLimiter
from hub.identity.service import Identity
from tests.stores import open_db

ROLE_NAMES = ("admin", "household", "provider", "bridge")


@dataclass
class Api:
    url: str
    app: FastAPI
    identity: Identity
    tokens: dict[str, str]
    accounts: dict[str, str]
    passwords: dict[str, str]
    other_token: str
    other_household: str
    other_grants: list[str]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    db = open_db(tmp_path_factory.mktemp("api") / "hub.db")
    clock = SystemClock()
    identity = Identity(
        db,
        None,
        clock,
        "api-secret-" + secrets.token_hex(8),
        passwords=FAST_PASSWORDS,
        limiter=LoginLimiter(clock, max_failures=5, max_failures_per_ip=100_000),
    )
    admin = identity.create_admin("root-" + secrets.token_hex(4))
    ha = identity.create_household("h-ana", "riverside", "Ana", password="ana-password-1")
    identity.create_household("h-ben", "riverside", "Ben", password="ben-password-1")
    prov = identity.create_provider("fresh-grocer", "riverside", "Fresh", kinds=["grocer"])
    bridge = identity.create_bridge("bridge-" + secrets.token_hex(4), "h-ana")
    grants = [
        identity.consent.grant(
            "h-ben",
            grantee_provider="fresh-grocer",
            purpose="grocery_delivery",
            signals=["pantry_needs", f"s{i}"],
        ).id
        for i in range(5)
    ]
    app = build_app(identity)
    with serve(app) as url:
        tokens = {}
        for role, creds in (("admin", admin), ("household", ha)):
            r = httpx.post(
                f"{url}/auth/login", json={"username": creds.username, "password": creds.password}
            )
            assert r.status_code == 200, r.text
            tokens[role] = r.json()["access_token"]
        r = httpx.post(
            f"{url}/auth/login", json={"username": "h-ben", "password": "ben-password-1"}
        )
        assert prov.api_token is not None
        assert bridge.api_token is not None
        tokens["provider"] = prov.api_token
        tokens["bridge"] = bridge.api_token
        yield Api(
            url,
            app,
            identity,
            tokens,
            {
                "admin": admin.account_id,
                "household": ha.account_id,
                "provider": prov.account_id,
                "bridge": bridge.account_id,
            },
            {"admin": admin.password or "", "household": "ana-password-1"},
            r.json()["access_token"],
            "h-ben",
            grants,
        )
    db.close()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _operations(app: FastAPI) -> list[tuple[str, str, frozenset[str] | None, bool]]:
    return [op for op in route_security(app) if op[0] != "HEAD"]


def _concrete(path: str) -> str:
    return path.replace("{", "x").replace("}", "")


def test_row21_household_token_on_anothers_consents(api: Api) -> None:
    ids = list(api.other_grants)
    ids += [str(i) for i in range(1, 410)]  # sequential
    ids += [secrets.token_hex(12) for _ in range(400)]  # random, same shape as real ids
    ids += [g[:-1] + ("0" if g[-1] != "0" else "1") for g in api.other_grants]  # near misses
    ids += [f"{g}-x" for g in api.other_grants] + ["audit-x", "h-ben", "fresh-grocer"] * 60
    ids = ids[:1000]
    leaked = statuses_not_404 = 0
    with httpx.Client(base_url=api.url, headers=_auth(api.tokens["household"])) as client:
        for gid in ids:
            for method, path in (("GET", f"/consents/{gid}"), ("POST", f"/consents/{gid}/revoke")):
                r = client.request(method, path)
                statuses_not_404 += r.status_code != 404
                leaked += "h-ben" in r.text or any(g in r.text for g in api.other_grants)
        listing = client.get("/consents").json()
        audit = client.get("/consents/audit").json()
    leaked += sum(g["household"] != "h-ana" for g in listing) + len(audit)
    still = [api.identity.consent.get(g, "h-ben").revoked_at for g in api.other_grants]
    print(
        f"RELIABILITY row 21: {leaked} leaked, {statuses_not_404} answers other than 404,"
        f" over {len(ids)} ids x 2 routes; {sum(s is not None for s in still)} of B's grants"
        " revoked by A"
    )
    assert len(ids) == 1000
    assert leaked == 0
    assert statuses_not_404 == 0
    assert still == [None] * len(still)


def test_row22_every_route_denies_other_roles(api: Api) -> None:
    denied = attempts = 0
    wrong: list[str] = []
    with httpx.Client(base_url=api.url) as client:
        for method, path, roles, needs_principal in _operations(api.app):
            if not needs_principal:
                continue
            attempts += 1
            r = client.request(method, _concrete(path), json={})
            if r.status_code == 401:
                denied += 1
            else:
                wrong.append(f"{method} {path} without token: {r.status_code}")
            if roles is None:
                continue
            for role in ROLE_NAMES:
                if role in roles:
                    continue
                attempts += 1
                r = client.request(
                    method, _concrete(path), json={}, headers=_auth(api.tokens[role])
                )
                if r.status_code == 403:
                    denied += 1
                else:
                    wrong.append(f"{method} {path} as {role}: {r.status_code}")
    share = 100.0 * denied / attempts
    print(
        f"RELIABILITY row 22: {share:.0f} % denied ({denied} of {attempts} cross-role and"
        f" anonymous calls over {len(_operations(api.app))} operations)"
    )
    assert wrong == []
    assert attempts > 20


def test_row23_extra_fields_rejected(api: Api) -> None:
    ident = api.identity
    before = (
        len(ident.consent.list_grants("h-ana")),
        len(ident.consent.list_grants("h-ben")),
        len(ident.list_accounts(limit=200)),
    )
    attacks = [
        (
            "/consents",
            "household",
            {
                "grantee_provider": "fresh-grocer",
                "purpose": "grocery_delivery",
                "signals": ["slot"],
                "household": "h-ben",
            },
        ),
        (
            "/consents",
            "household",
            {
                "grantee_provider": "fresh-grocer",
                "purpose": "grocery_delivery",
                "signals": ["slot"],
                "household_id": "h-ben",
            },
        ),
        (
            "/consents",
            "household",
            {
                "grantee_provider": "fresh-grocer",
                "purpose": "grocery_delivery",
                "signals": ["slot"],
                "status": "revoked",
                "scope": "*",
            },
        ),
        (
            "/consents",
            "household",
            {
                "grantee_provider": "fresh-grocer",
                "purpose": "grocery_delivery",
                "signals": ["slot"],
                "provider_id": "x",
                "revoked_at": None,
            },
        ),
        (
            "/admin/households",
            "admin",
            {"id": "h-new", "community": "riverside", "name": "N", "role": "admin"},
        ),
        (
            "/admin/households",
            "admin",
            {
                "id": "h-new2",
                "community": "riverside",
                "name": "N",
                "status": "active",
                "household_id": "h-ben",
            },
        ),
        ("/admin/providers", "admin", {"id": "p-new", "name": "P", "provider_id": "fresh-grocer"}),
        (
            "/auth/login",
            "household",
            {"username": "h-ana", "password": "ana-password-1", "role": "admin"},
        ),
    ]
    rejected = 0
    with httpx.Client(base_url=api.url) as client:
        for path, role, body in attacks:
            r = client.post(path, json=body, headers=_auth(api.tokens[role]))
            rejected += r.status_code == 422
    after = (
        len(ident.consent.list_grants("h-ana")),
        len(ident.consent.list_grants("h-ben")),
        len(ident.list_accounts(limit=200)),
    )
    changed = sum(a != b for a, b in zip(before, after, strict=True))
    print(
        f"RELIABILITY row 23: {rejected} of {len(attacks)} bodies with extra fields rejected"
        f" (422); {changed} changed"
    )
    assert rejected == len(attacks)
    assert changed == 0


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def test_row24_limits(api: Api) -> None:
    big = b"{" + b'"a":"' + b"x" * (10 * 1024 * 1024) + b'"}'
    rss0 = _rss_kb()
    statuses, times = [], []
    with httpx.Client(base_url=api.url, headers=_auth(api.tokens["household"])) as client:
        for _ in range(10):
            t = time.perf_counter()
            r = client.post("/consents", content=big, headers={"content-type": "application/json"})
            times.append(time.perf_counter() - t)
            statuses.append(r.status_code)

        def chunks() -> Iterator[bytes]:
            for _ in range(160):
                yield b"x" * 65536

        r = client.post("/consents", content=chunks(), headers={"content-type": "application/json"})
        statuses.append(r.status_code)
        pages = [
            client.get("/consents", params={"limit": n}).status_code
            for n in (201, 10**9, 2**63, -1)
        ]
        pages.append(client.get("/consents/audit", params={"limit": 10**7}).status_code)
        admin = _auth(api.tokens["admin"])
        pages.append(
            client.get("/admin/accounts", params={"limit": 10**6}, headers=admin).status_code
        )
        arrays = client.post(
            "/consents", json={"grantee_kind": "grocer", "purpose": "x", "signals": ["a"] * 10_000}
        ).status_code
    rss1 = _rss_kb()
    guesses = []
    with httpx.Client(base_url=api.url) as client:
        for i in range(8):
            r = client.post("/auth/login", json={"username": "h-ben", "password": f"guess-{i}-xx"})
            guesses.append(r.status_code)
        right = client.post("/auth/login", json={"username": "h-ben", "password": "ben-password-1"})
    print(
        f"RELIABILITY row 24: 10 MB bodies -> {sorted(set(statuses))} in at most"
        f" {max(times) * 1000:.0f} ms; chunked 10 MB -> {statuses[-1]}; huge page sizes ->"
        f" {pages}; 10k-item array -> {arrays}; guesses -> {guesses}, then the right password"
        f" -> {right.status_code} (Retry-After {right.headers.get('retry-after')});"
        f" RSS {rss0} -> {rss1} kB"
    )
    assert statuses == [413] * 11
    assert pages == [422] * 6
    assert arrays == 422
    assert guesses == [401] * 5 + [429] * 3
    assert right.status_code == 429
    assert int(right.headers["retry-after"]) > 0
    assert rss1 - rss0 < 50 * 1024  # ten 10 MB bodies were never held at once


def _bind(check: Any, role: str) -> Any:
    def run(case: Any) -> None:
        check(case, role)

    return run


def test_row26_schemathesis(api: Api) -> None:
    """Property-based calls of every operation with a valid token of an admitted role.

    Driven through hypothesis directly (schemathesis' pytest plugin does not load under
    pytest 9); checks: no 5xx, documented status codes, content types and response schemas.
    """
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    ops = _operations(api.app)
    failures: list[str] = []
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        found = next(
            r for m, p, r, _ in ops if p == operation.path and m == operation.method.upper()
        )
        role = sorted(found or {"household"})[0]

        def check(case: Any, role: str) -> None:
            nonlocal calls
            # A fresh token per case: a generated logout must not end other cases' sessions.
            token = api.identity.create_api_token(api.accounts[role], ttl_s=600)
            response = case.call(base_url=api.url, headers=_auth(token))
            calls += 1
            try:
                case.validate_response(
                    response,
                    checks=[
                        checks.not_a_server_error,
                        checks.status_code_conformance,
                        checks.content_type_conformance,
                        checks.response_schema_conformance,
                    ],
                )
            except AssertionError as exc:  # schemathesis raises a grouped failure
                failures.append(f"{case.method} {case.path}: {exc}"[:400])

        given(case=operation.as_strategy())(
            settings(
                max_examples=25,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )(_bind(check, role))
        )()
    print(
        f"RELIABILITY row 26: {len(failures)} failures in {calls} generated calls over"
        f" {len(ops)} operations (no 5xx, status codes, content types, schemas)"
    )
    assert failures == []
    assert calls > 100
