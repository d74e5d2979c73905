"""``GET /ui/static/...``: the dashboards' CSS, JS and vendored assets, from disk.

Only files under ``dashboards/static`` with a known type are served; anything else is 404.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from hub.dashboards.render import STATIC

router = APIRouter(include_in_schema=False)

TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
}


def resolve(relative: str, root: Path = STATIC) -> Path | None:
    """The file under ``root`` named by ``relative``, or None (traversal, hidden, unknown type)."""
    if not relative or "\\" in relative or any(part.startswith(".") for part in relative.split("/")):
        return None
    base = root.resolve()
    path = (base / relative).resolve()
    if not path.is_relative_to(base) or not path.is_file() or path.suffix not in TYPES:
        return None
    return path


@router.get("/ui/static/{relative:path}")
async def static_file(relative: str) -> FileResponse:
    path = resolve(relative)
    if path is None:
        raise HTTPException(404, "no such file")
    return FileResponse(path, media_type=TYPES[path.suffix], headers={"Cache-Control": "public, max-age=3600"})
