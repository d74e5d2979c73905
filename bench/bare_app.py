"""The yardstick of ``bench/bench_http.py``: FastAPI with one route and nothing else.

Served by the same uvicorn (httptools, uvloop) as the hub, so that the ratio of the hub's
requests/s to this app's says what the hub's own code costs on this machine right now.
"""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
