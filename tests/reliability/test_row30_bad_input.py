"""RELIABILITY row 30: control characters in text fields, NUL or ``..`` in paths.

Over the app's own OpenAPI document: every string field of every JSON request body, sent
with NUL and ESC in it, is refused with 422 naming the field; every path parameter holding
a NUL or ``..`` is 404. Then what a user meets: a gathering titled ``"a\\u0000b\\u001b[31m"``
is refused and not stored, while newlines and tabs are kept; a dashboard form with a control
character is refused; ``GET /ui/static/app.js%00.css`` is 404. Every answer is problem+json.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.reliability.conftest import ANA, ANA_PASSWORD, Live

HOSTILE = "a\u0000b\u001b[31m"
PROBLEM = "application/problem+json"


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        resolved: dict[str, Any] = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
        return resolved
    return schema


def _string_fields(doc: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> list[tuple[str, ...]]:
    """Paths of the string properties of a body schema (nested objects too, two levels)."""
    schema = _resolve(doc, schema)
    out: list[tuple[str, ...]] = []
    for name, prop in (schema.get("properties") or {}).items():
        options = [_resolve(doc, p) for p in prop.get("anyOf", [prop])]
        if any(o.get("type") == "string" for o in options):
            out.append((name,))
        if any(_resolve(doc, o.get("items") or {}).get("type") == "string" for o in options):
            out.append((name, "0"))  # a list of texts: its first item
        for option in options:
            if option.get("type") == "object" and depth < 2:
                out.extend((name, *sub) for sub in _string_fields(doc, option, depth + 1))
    return out


def _nest(path: tuple[str, ...], value: str) -> dict[str, Any]:
    body: Any = value
    for name in reversed(path):
        body = [body] if name == "0" else {name: body}
    return dict(body)


async def test_row30_every_text_field_and_path_of_the_document(live_hub: Live) -> None:
    stored_or_5xx: list[str] = []
    wrong: list[str] = []
    fields = paths = 0
    async with httpx.AsyncClient(base_url=live_hub.url) as http:
        doc = (await http.get("/openapi.json")).json()
        for template, item in doc["paths"].items():
            for method, op in item.items():
                content = (op.get("requestBody") or {}).get("content", {})
                if "application/json" in content:
                    for field in _string_fields(doc, content["application/json"]["schema"]):
                        fields += 1
                        r = await http.request(method, re.sub(r"\{[^}]+\}", "x1", template),
                                               json=_nest(field, HOSTILE))
                        name = "body." + ".".join(field)
                        if r.status_code >= 500 or r.status_code < 300:
                            stored_or_5xx.append(f"{method} {template} {name}: {r.status_code}")
                        if (r.status_code != 422 or r.headers["content-type"] != PROBLEM
                                or not r.json()["detail"].startswith(f"{name}: control character U+0000")):
                            wrong.append(f"{method} {template} {name}: {r.status_code} {r.text[:120]}")
                if "{" not in template:
                    continue
                for bad in ("a%00b", "%2e%2e"):
                    paths += 1
                    r = await http.request(method, re.sub(r"\{[^}]+\}", bad, template, count=1))
                    if r.status_code != 404 or r.headers["content-type"] != PROBLEM:
                        wrong.append(f"{method} {template} with {bad}: {r.status_code}")
    print(f"RELIABILITY row 30 (document): {fields} text fields with NUL and ESC -> 422 naming the field, "
          f"{paths} paths with NUL or '..' -> 404; {len(stored_or_5xx)} stored or 5xx")
    assert stored_or_5xx == []
    assert wrong == []
    assert fields >= 35
    assert paths >= 40


async def test_row30_a_hostile_gathering_title_is_not_stored(live_hub: Live) -> None:
    starts = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0).isoformat()
    gathering = {"title": HOSTILE, "starts_at": starts, "capacity": 4,
                 "place": {"label": "Lake Pier", "lat": 52.13, "lon": 5.0}}
    async with httpx.AsyncClient(base_url=live_hub.url) as http:
        login = await http.post("/auth/login", json={"username": ANA, "password": ANA_PASSWORD})
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        refused = await http.post("/gatherings", json=gathering, headers=auth)
        nested = await http.post("/gatherings", headers=auth,
                                 json=gathering | {"title": "ok", "place": {"label": "Pier\u001b[2J"}})
        stored = (await http.get("/gatherings", headers=auth)).json()["items"]
        kept = await http.post("/gatherings", headers=auth,
                               json=gathering | {"title": "Fishing\tat the lake\r\nbring bait"})
        after = (await http.get("/gatherings", headers=auth)).json()["items"]
    assert refused.status_code == 422
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["detail"] == "body.title: control character U+0000 is not allowed (only newline and tab)"
    assert refused.json()["errors"][0]["loc"] == ["body", "title"]
    assert nested.status_code == 422
    assert nested.json()["detail"].startswith("body.place.label: control character U+001B")
    assert stored == []
    assert kept.status_code in (200, 201), kept.text
    assert [g["title"] for g in after] == ["Fishing\tat the lake\r\nbring bait"]


async def test_row30_dashboard_forms_static_files_and_error_media_types(live_hub: Live) -> None:
    async with httpx.AsyncClient(base_url=live_hub.url) as http:
        form = await http.post("/ui/login", data={"username": "h-ana\u001b", "password": ANA_PASSWORD})
        nul_static = await http.get("/ui/static/app.js%00.css")
        up_static = await http.get("/ui/static/%2e%2e/%2e%2e/pyproject.toml")
        real_static = await http.get("/ui/static/app.js")
        big = await http.post("/auth/login", content=b"x" * 200_000, headers={"Content-Type": "application/json"})
        wrong_method = await http.delete("/auth/login")
        unknown = await http.get("/no-such-route")
        not_json = await http.post("/auth/login", content=b"{", headers={"Content-Type": "application/json"})
        untyped = await http.post("/auth/login", content=b'{"username": "a\\u001b", "password": "x"}')
    assert form.status_code == 422
    assert form.json()["detail"].startswith("body.username: control character U+001B")
    assert "hub_session" not in form.headers.get("set-cookie", "")
    assert (nul_static.status_code, up_static.status_code, real_static.status_code) == (404, 404, 200)
    assert big.status_code == 413
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "POST"
    assert unknown.status_code == 404
    assert not_json.status_code == 422
    assert untyped.status_code == 422
    assert untyped.json()["detail"].startswith("body.username: control character U+001B")
    for r in (form, nul_static, up_static, big, wrong_method, unknown, not_json, untyped):
        assert r.headers["content-type"] == PROBLEM, r.request.url
        assert r.json()["status"] == r.status_code
