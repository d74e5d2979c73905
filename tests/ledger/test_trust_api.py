"""Ana's record export (STORY.md section 6, 20:00) through the real hub, verified offline
by another hub's command line with only the published key set."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
from ledger_fixtures import Live, hub_cli


async def test_export_and_offline_verification(live: Live, tmp_path: Path) -> None:
    ana, chen = await asyncio.gather(asyncio.to_thread(live.client, "h-ana"),
                                     asyncio.to_thread(live.client, "h-chen"))
    with ana, chen:
        t = (await asyncio.to_thread(ana.post, "/timebank/transfers",
                                     json={"to": "h-chen", "hours": 1.5, "note": "bike"})).json()
        await asyncio.to_thread(chen.post, f"/timebank/transfers/{t['id']}/confirm")
        r = await asyncio.to_thread(ana.get, "/trust/export")
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/vc+jwt"
        anonymous = await asyncio.to_thread(httpx.get, f"{live.url}/trust/export")
        assert anonymous.status_code == 401
    keys = await asyncio.to_thread(httpx.get, f"{live.url}/.well-known/jwks.json")  # no login
    assert keys.status_code == 200
    assert keys.json()["keys"][0]["alg"] == "EdDSA"
    (tmp_path / "record.jwt").write_bytes(r.content)
    (tmp_path / "jwks.json").write_text(json.dumps(keys.json()))
    other = tmp_path / "other-community"
    ok = await asyncio.to_thread(hub_cli, "trust", "verify", str(tmp_path / "record.jwt"), "--jwks",
                                 str(tmp_path / "jwks.json"), data_dir=other)
    assert ok.returncode == 0, ok.stderr
    assert "record of h-ana" in ok.stdout
    assert "balance -1.5 h" in ok.stdout
