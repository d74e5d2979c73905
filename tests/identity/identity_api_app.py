"""A real HTTP server around the identity router, as the lead's app will mount it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from identity_probe import free_port

from hub.errors import DomainError
from hub.identity.api import router
from hub.identity.service import Identity


def build_app(identity: Identity) -> FastAPI:
    app = FastAPI(title="identity test app")
    app.state.hub = SimpleNamespace(identity=identity)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "code": exc.code}, status_code=exc.status)

    app.include_router(router)
    return app


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free loopback port; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="debug", lifespan="off", log_config=None
        )
    )
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started:
                break
            if not thread.is_alive():
                raise RuntimeError("uvicorn exited")
            threading.Event().wait(0.01)  # polling the server's own ready flag
        else:
            raise RuntimeError("uvicorn did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
