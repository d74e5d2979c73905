"""RELIABILITY row 22 over the whole app: every operation of the OpenAPI document.

A real hub (SQLite, the session broker, uvicorn on loopback) with every package's routes:
each operation is called without a token (401 unless it is deliberately public), and the
provider and admin routes with the wrong role's token (403).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.config import Settings
from hub.ingest.pipeline import PipelinePorts
from hub.service import Hub
from tests.conftest import Broker
from tests.ingest.test_ingest_pipeline import JsonPowerAdapter

# Public on purpose: operations, the login, the API's own documentation.
PUBLIC = {"/healthz", "/readyz", "/metrics", "/auth/login", "/.well-known/jwks.json"}


@pytest.fixture
async def full_hub(broker: Broker, tmp_path: Path) -> AsyncIterator[tuple[Hub, dict[str, str]]]:
    settings = Settings(mqtt_url=f"mqtt://127.0.0.1:{broker.port}", mqtt_client_id=f"sec-{tmp_path.name}",
                        data_dir=tmp_path, api_port=0, secret_key="k" * 32)
    hub = Hub(settings, ports=PipelinePorts(normalizer=JsonPowerAdapter()))
    stop = asyncio.Event()
    task = asyncio.create_task(hub.run(stop))
    await asyncio.wait_for(hub.ready.wait(), 10)
    admin = hub.identity.create_admin("sec-admin", "admin-password-1")
    hub.identity.create_household("h-ana", "riverside", "Ana", password="ana-password-1")
    provider = hub.identity.create_provider("fresh-grocer", "riverside", "Fresh", kinds=["grocery"],
                                            password="grocer-password-1")
    tokens = {}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{hub.api_port}") as http:
        for role, user, password in (("admin", admin.username, "admin-password-1"),
                                     ("household", "h-ana", "ana-password-1"),
                                     ("provider", provider.username, "grocer-password-1")):
            r = await http.post("/auth/login", json={"username": user, "password": password})
            assert r.status_code == 200, r.text
            tokens[role] = r.json()["access_token"]
    yield hub, tokens
    stop.set()
    await asyncio.wait_for(task, 6)


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


def _owner(path: str) -> str | None:
    """Who alone may call a path, by the API's layout."""
    if path.startswith(("/admin/", "/api/rules")):
        return "admin"
    if path.startswith("/provider/"):
        return "provider"
    return None


async def test_row22_every_operation_of_the_whole_app(full_hub: tuple[Hub, dict[str, str]]) -> None:
    hub, tokens = full_hub
    from hub.api.app import create_app

    paths = create_app(hub).openapi()["paths"]
    verbs = {"get", "post", "put", "delete", "patch"}
    operations = [(m.upper(), p) for p, ops in paths.items() for m in ops if m in verbs]
    wrong: list[str] = []
    attempts = denied = 0
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{hub.api_port}") as http:
        for method, path in operations:
            if path in PUBLIC:
                continue
            attempts += 1
            r = await http.request(method, _concrete(path), json={})
            if r.status_code == 401:
                denied += 1
            else:
                wrong.append(f"{method} {path} without a token: {r.status_code}")
            owner = _owner(path)
            if owner is None:
                continue
            for role, token in tokens.items():
                if role == owner:
                    continue
                attempts += 1
                auth = {"Authorization": f"Bearer {token}"}
                r = await http.request(method, _concrete(path), json={}, headers=auth)
                if r.status_code == 403:
                    denied += 1
                else:
                    wrong.append(f"{method} {path} as {role}: {r.status_code}")
    print(f"RELIABILITY row 22 (whole app): {100 * denied / attempts:.0f} % denied, {denied} of {attempts} "
          f"anonymous and cross-role calls over {len(operations)} operations")
    assert wrong == []
    assert len(operations) >= 50, "every package's routes must be in the document"


async def test_row26_schemathesis_over_the_whole_app(full_hub: tuple[Hub, dict[str, str]]) -> None:
    """Property-based calls of every operation, each with a valid token of its owner's role.

    Driven through hypothesis directly (schemathesis' pytest plugin does not load under
    pytest 9); checks: no 5xx, documented status codes, content types, response schemas.
    """
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis import checks

    hub, _ = full_hub
    base = f"http://127.0.0.1:{hub.api_port}"
    accounts = {row["role"]: row["id"] for row in hub.db.query("SELECT id, role FROM accounts")}
    schema = await asyncio.to_thread(schemathesis.openapi.from_url, f"{base}/openapi.json")
    failures: list[str] = []
    calls = 0

    def run_operation(operation: Any) -> None:
        role = _owner(operation.path) or "household"

        def check(case: Any) -> None:
            nonlocal calls
            # A fresh token per case: a generated logout must not end the other cases' session.
            token = hub.identity.create_api_token(accounts[role], ttl_s=600)
            calls += 1
            try:
                response = case.call(base_url=base, headers={"Authorization": f"Bearer {token}"})
                case.validate_response(response, checks=[
                    checks.not_a_server_error, checks.status_code_conformance,
                    checks.content_type_conformance, checks.response_schema_conformance,
                ])
            except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a group of failures
                failures.append(f"{case.method} {case.path}: {exc}"[:400])

        given(case=operation.as_strategy())(
            settings(max_examples=8, deadline=None, database=None, suppress_health_check=list(HealthCheck))(check)
        )()

    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        try:
            await asyncio.to_thread(run_operation, operation)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup is a BaseExceptionGroup
            detail = " / ".join(str(e).splitlines()[0] for e in getattr(exc, "exceptions", [exc]))
            failures.append(f"{operation.method.upper()} {operation.path}: {detail}"[:300])
    print(f"RELIABILITY row 26 (whole app): {len(failures)} failures in {calls} generated calls over "
          f"{len(operations)} operations (no 5xx, status codes, content types, schemas)")
    assert failures == [], "\n".join(failures)
    assert calls > 200
