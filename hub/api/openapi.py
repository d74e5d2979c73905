"""The OpenAPI document, completed from what the app really does.

FastAPI describes what each route declares; the app also answers from places a route does
not declare: the body-size and input-guard middleware (413, 404, 422), the token and role
dependencies (401, 403), the problem handlers (every error is
``application/problem+json``) and the store: every write can meet a full disk (or a
PostgreSQL out of resources) and answer 503 with ``Retry-After``. :func:`complete` adds
those answers to every operation they can happen on, derived from the operations
themselves (method, body, path parameters, security) and from the routes' role
dependencies, so the document never needs keeping by hand.
It also publishes the input guard's rule: every request-body string that has no pattern of
its own gets :data:`hub.api.guard.TEXT_PATTERN`.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from hub.api.guard import TEXT_PATTERN
from hub.api.routes import api_routes
from hub.identity.auth import route_security
from hub.problems import MEDIA_TYPE, TITLES

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details.",
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
    "required": ["type", "title", "status", "detail", "instance"],
}
_VERBS = {"get", "put", "post", "delete", "patch", "head", "options"}
_PROBLEM = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
_WHY = {
    400: "the body cannot be read",
    401: "no live token",
    403: "this role may not use this route",
    404: "no such object, or not yours; a path with NUL or '..'",
    413: "body over the size limit (64 KiB for most routes)",
    422: "invalid input: the problem names the field",
    503: "the store is full (or PostgreSQL out of resources): nothing was written; "
         "try again after Retry-After (the same Idempotency-Key replays safely)",
}
#: Methods that write: each can meet a full store and answer 503 (RELIABILITY row 35).
_WRITES = {"post", "put", "patch", "delete"}


def _problem_response(status: int, existing: dict[str, Any] | None, *, retry_after: bool = True
                      ) -> dict[str, Any]:
    out = dict(existing or {})
    out.setdefault("description", _WHY.get(status, TITLES.get(status, "Error")))
    content = dict(out.get("content") or {})
    example = next((c.get("example") for c in content.values() if "example" in c), None)
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    if example is not None:
        problem["example"] = example
    out["content"] = {MEDIA_TYPE: problem}
    if status in (429, 503) and retry_after:
        out.setdefault("headers", {})["Retry-After"] = {
            "description": "seconds to wait before trying again",
            "required": True, "schema": {"type": "integer", "minimum": 1}}
    return out


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        resolved: dict[str, Any] = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
        return resolved
    return schema


def _guard_strings(doc: dict[str, Any], schema: dict[str, Any], seen: set[int]) -> None:
    """Give every string schema reachable from ``schema`` the guard's pattern."""
    schema = _resolve(doc, schema)
    if id(schema) in seen:
        return
    seen.add(id(schema))
    if schema.get("type") == "string" and not {"pattern", "format", "enum", "const"} & schema.keys():
        schema["pattern"] = TEXT_PATTERN
    if schema.get("type") == "object" and "additionalProperties" in schema and "propertyNames" not in schema:
        schema["propertyNames"] = {}  # keys are text too: given the pattern just below
    names = schema.get("propertyNames")
    if isinstance(names, dict) and "pattern" not in names and "$ref" not in names:
        names["pattern"] = TEXT_PATTERN
    for key in ("items", "additionalProperties", "propertyNames", "not"):
        child = schema.get(key)
        if isinstance(child, dict):
            _guard_strings(doc, child, seen)
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for child in schema.get(key) or []:
            if isinstance(child, dict):
                _guard_strings(doc, child, seen)
    for child in (schema.get("properties") or {}).values():
        if isinstance(child, dict):
            _guard_strings(doc, child, seen)


def complete(doc: dict[str, Any], app: FastAPI) -> dict[str, Any]:
    """Add every answer the middleware, dependencies and handlers give, to each operation."""
    doc.setdefault("components", {}).setdefault("schemas", {}).setdefault("Problem", PROBLEM_SCHEMA)
    roles = {(m.lower(), p): r for m, p, r, _auth in route_security(app)}
    auth = {(m.lower(), p) for m, p, _r, a in route_security(app) if a}
    seen: set[int] = set()
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if method not in _VERBS:
                continue
            responses: dict[str, Any] = op.setdefault("responses", {})
            statuses: set[int] = set()
            body = op.get("requestBody")
            if body is not None:
                statuses |= {400, 413, 422}
                for media in (body.get("content") or {}).values():
                    if isinstance(media.get("schema"), dict):
                        _guard_strings(doc, media["schema"], seen)
            params = op.get("parameters") or []
            if params:
                statuses.add(422)
            if any(p.get("in") == "path" for p in params):
                statuses.add(404)
            if op.get("security") or (method, path) in auth:
                statuses.add(401)
            if roles.get((method, path)) is not None:
                statuses.add(403)
            full_store = method in _WRITES and "503" not in responses
            if full_store:
                statuses.add(503)
            for status in statuses:
                responses.setdefault(str(status), {})
            for code, response in list(responses.items()):
                if code[:1] in {"4", "5"} or code == "default":
                    responses[code] = _problem_response(int(code) if code.isdigit() else 0, response,
                                                        retry_after=code != "503" or full_store)
    # FastAPI's own 422 schema is replaced by the problem everywhere: drop it when unused.
    if "#/components/schemas/HTTPValidationError" not in json.dumps(doc.get("paths")):
        doc["components"]["schemas"].pop("HTTPValidationError", None)
        doc["components"]["schemas"].pop("ValidationError", None)
    return doc


def install(app: FastAPI) -> None:
    """Serve the completed document at ``/openapi.json`` (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description,
                              routes=list(api_routes(app.routes)), tags=app.openapi_tags, servers=app.servers)
            app.openapi_schema = complete(doc, app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
