"""The rules routes on a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from hub.clock import FakeClock
from hub.events import Reading
from hub.rules.actions import ListSink
from hub.rules.api import router
from hub.rules.engine import RuleEngine
from hub.storage.database import Database

PACK = """\
pack: p
rules:
  - id: slow
    triggers: [{metric: stock, channel: milk, below: 0.5, for: 30m}]
    actions: [{kind: suggest, title: "slow"}]
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(
    db: Database, clock: FakeClock, sink: ListSink, write_pack: Callable[..., Path]
) -> Iterator[tuple[str, RuleEngine, Path]]:
    path = write_pack(PACK)
    engine = RuleEngine(db, clock, sink)
    engine.reload([path])
    app = FastAPI()
    app.state.hub = SimpleNamespace(rules=engine)
    app.include_router(router)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, name="rules-api", daemon=True)
    thread.start()
    ready = threading.Event()
    for _ in range(500):  # wait for the server's own readiness flag, 5 s at most
        if server.started:
            ready.set()
            break
        ready.wait(0.01)
    assert ready.is_set(), "the API server did not start"
    try:
        yield f"http://127.0.0.1:{port}", engine, path
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_rules_traces_and_reload(served: tuple[str, RuleEngine, Path]) -> None:
    base, engine, path = served
    engine.on_readings("h-ana", [Reading(device="f", metric="stock", channel="milk", value=0.1)])
    with httpx.Client(base_url=base, timeout=5) as client:
        body = client.get("/api/rules").json()
        assert [(r["id"], r["line"]) for r in body["rules"]] == [("slow", 3)]
        assert body["pending"][0]["due"] == "2026-11-28T08:30:00Z"
        traces = client.get("/api/rules/traces", params={"household": "h-ana"}).json()
        assert [t["outcome"] for t in traces] == ["pending"]
        assert client.get("/api/rules/traces", params={"limit": 0}).status_code == 422
        path.write_text(PACK.replace("below: 0.5", "below: [1]"), encoding="utf-8")
        result = client.post("/api/rules/reload").json()
        assert result["ok"] is False
        assert result["errors"][0].startswith(f"{path}:4: rule slow: triggers.0.below")
        assert result["unchanged"] == ["p/slow"]
