"""The installable web app: ``/ui/manifest.webmanifest``, the service worker ``/ui/sw.js``
(scope ``/ui/``) and the offline page it keeps, ``/ui/offline``.

The manifest's name and the offline page follow the reader's language like every page.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from hub.dashboards.render import STATIC, page, reader_for

router = APIRouter(include_in_schema=False)

ICONS = [
    {"src": "/ui/static/icons/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
    {"src": "/ui/static/icons/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
    {"src": "/ui/static/icons/maskable-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
]


@router.get("/ui/manifest.webmanifest")
async def manifest(request: Request) -> Response:
    """The Web App Manifest (W3C): what a phone needs to install the hub's pages."""
    who = reader_for(request)
    name = who.gettext("Community hub")
    body = {
        "id": "/ui/", "name": name, "short_name": name, "lang": who.html_lang,
        "start_url": "/ui/", "scope": "/ui/", "display": "standalone",
        "background_color": "#f5f6f4", "theme_color": "#185a4a", "icons": ICONS,
    }
    return JSONResponse(body, media_type="application/manifest+json",
                        headers={"Cache-Control": "no-cache", "Vary": "Accept-Language"})


@router.get("/ui/sw.js")
async def service_worker() -> Response:
    """The service worker, from ``/ui/`` so that its scope covers every page."""
    return FileResponse(STATIC / "sw.js", media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})


@router.get("/ui/offline")
async def offline(request: Request) -> Response:
    """What a navigation shows when the network is gone (cached by the service worker)."""
    response = page(request, "offline.html", keep_flash=True)
    response.headers["Cache-Control"] = "no-cache"
    return response
