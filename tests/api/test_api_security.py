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

import httpx
import pytest

from hub.config import Settings
from hub.ingest.pipeline import PipelinePorts
from hub.service import Hub
from tests.conftest import Broker
from tests.ingest.test_ingest_pipeline import JsonPowerAdapter

# Public on purpose: operations, the login, the API's own documentation.
PUBLIC = {"/healthz", "/readyz", "/metrics", "/auth/login"}


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
