"""RELIABILITY row 22 over the whole app: every operation of the OpenAPI document.

A real hub (SQLite, the session broker, uvicorn on loopback) with every package's routes:
each operation is called without a token (401 unless it is deliberately public), and the
provider and admin routes with the wrong role's token (403).
"""

from __future__ import annotations

import asyncio
import re
import sys
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
PUBLIC = {"/healthz", "/readyz", "/metrics", "/auth/login", "/.well-known/jwks.json"}


@pytest.fixture
async def full_hub(broker: Broker, tmp_path: Path) -> AsyncIterator[tuple[Hub, dict[str, str]]]:
    settings = Settings(mqtt_url=f"mqtt://127.0.0.1:{broker.port}", mqtt_client_id=f"sec-{tmp_path.name}",
                        data_dir=tmp_path, api_port=0, secret_key="k" * 32)
    hub = Hub(settings, ports=PipelinePorts(normalizer=JsonPowerAdapter()))
    stop = asyncio.Event()
    task = asyncio.create_task(hub.run(stop))
    await asyncio.wait_for(hub.ready.wait(), 10)
    admin = hub.identity.create_admin("sec-admin", "admin-password-1", community="riverside")
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


SCHEMATHESIS_CONFIG = Path(__file__).with_name("schemathesis.toml")

#: Which operations each role's run covers: its own, by the API's layout (the others answer
#: 403, which row 22 proves). The logout is left out: it would end the run's own token.
ROLE_SCOPE = {
    "household": ("--exclude-path-regex", r"^/(admin|provider)/|^/api/rules|^/auth/logout$"),
    "provider": ("--include-path-regex", r"^/provider/"),
    "admin": ("--include-path-regex", r"^/(admin/|api/rules)"),
}


async def test_row26_schemathesis_over_the_whole_app(full_hub: tuple[Hub, dict[str, str]], tmp_path: Path) -> None:
    """Schemathesis over the app's own OpenAPI document: every check, every phase
    (examples, coverage, fuzzing, stateful), under a household, a provider and an admin token.

    Run through schemathesis' command line (its pytest plugin does not load under pytest 9),
    with few examples per operation to keep ``make test`` quick. The admin runs last: its
    stateful phase may delete the accounts the other runs used.
    """
    hub, _ = full_hub
    base = f"http://127.0.0.1:{hub.api_port}"
    accounts = {row["role"]: row["id"] for row in hub.db.query("SELECT id, role FROM accounts")}
    failures: dict[str, str] = {}
    summary = []
    for role in ("household", "provider", "admin"):
        token = hub.identity.create_api_token(accounts[role], ttl_s=3600)
        option, pattern = ROLE_SCOPE[role]
        command = [
            sys.executable, "-m", "schemathesis.cli", "--config-file", str(SCHEMATHESIS_CONFIG),
            "run", f"{base}/openapi.json",
            "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful",
            "--max-examples", "3", "--workers", "1", "--seed", "26", "--no-color",
            "--suppress-health-check", "all", "--request-timeout", "30",
            "-H", f"Authorization: Bearer {token}", option, pattern,
        ]
        proc = await asyncio.create_subprocess_exec(
            *command, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(), 900)
        text = out.decode(errors="replace")
        tail = [line for line in text.splitlines() if line.strip()][-3:]
        summary.append(f"{role}: {' / '.join(tail)}")
        if proc.returncode != 0:
            failures[role] = text[-6000:]
    print("RELIABILITY row 26 (schemathesis, all checks and phases): " + "; ".join(summary))
    assert failures == {}, "\n\n".join(f"== {role} ==\n{text}" for role, text in failures.items())
