"""Photos of things: real JPEG, PNG or WebP only, re-encoded without their metadata.

The upload is checked by its content (Pillow opens and fully decodes it; the file name
and the declared type count for nothing), refused over :data:`MAX_BYTES` or
:data:`MAX_PIXELS`, turned upright by its EXIF orientation, scaled down to
:data:`MAX_SIDE` and re-encoded in its own format, which drops EXIF, GPS, XMP, ICC and
comments. The file goes to the hub's data directory (never a web root) under a random
name, and is served only by the authorised route of :mod:`hub.sharing.api`.
"""

from __future__ import annotations

import io
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from hub.errors import Conflict, DomainError, NotFound
from hub.i18n.words import N_
from hub.offers.context import Context
from hub.offers.problems import Unprocessable
from hub.offers.uow import new_id
from hub.sharing.common import member
from hub.sharing.things import Things

MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 1600
MAX_PER_THING = 6
#: Pillow format -> (media type, file suffix).
FORMATS = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png"),
           "WEBP": ("image/webp", ".webp")}
#: The upload route, for the app's body-size limit.
UPLOAD_PATH = r"/things/[^/]+/photos"


class TooLarge(DomainError):
    """An upload over the size limit."""

    status = 413
    code = "too-large"


@dataclass(frozen=True, slots=True)
class Clean:
    """A re-encoded image."""

    data: bytes
    media_type: str
    suffix: str
    width: int
    height: int


def clean_image(data: bytes) -> Clean:
    """Check that ``data`` is a real JPEG/PNG/WebP and re-encode it without metadata."""
    if len(data) > MAX_BYTES:
        raise TooLarge(N_("a photo may be at most %(most)s bytes; this one is %(size)s",
                          most=MAX_BYTES, size=len(data)))
    if not data:
        raise Unprocessable(N_("the photo is empty: send the image bytes as the request body"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            fmt = probe.format
            if fmt not in FORMATS:
                raise Unprocessable(N_("a photo must be JPEG, PNG or WebP, not %(format)s", format=fmt or 'unknown'))
            if probe.width * probe.height > MAX_PIXELS:
                raise Unprocessable(N_("a photo may have at most %(most)s pixels", most=MAX_PIXELS))
            probe.verify()
            opened = Image.open(io.BytesIO(data))
            opened.load()
    except Unprocessable:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Unprocessable(N_("not a readable JPEG, PNG or WebP image (%(exc)s)", exc=exc)) from None
    image: Image.Image = ImageOps.exif_transpose(opened) or opened
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    # Pillow carries comments, EXIF, XMP and ICC in ``info`` into save(): keep none of
    # them but a palette's transparency.
    image.info = {k: v for k, v in image.info.items() if k == "transparency"}
    media_type, suffix = FORMATS[fmt]
    out = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    elif fmt == "WEBP":
        image.save(out, "WEBP", quality=85)
    else:
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            image = image.convert("RGBA")
        image.save(out, "PNG", optimize=True)
    return Clean(out.getvalue(), media_type, suffix, image.width, image.height)


class Photos:
    """Add, serve and remove the photos of things."""

    def __init__(self, ctx: Context, things: Things, folder: Path) -> None:
        self._ctx = ctx
        self._db = ctx.uow.db
        self._things = things
        self.folder = folder

    def add(self, owner: str, tid: str, data: bytes, actor: str) -> dict[str, Any]:
        """Store a cleaned photo of the owner's thing; return its description."""
        clean = clean_image(data)
        self.folder.mkdir(parents=True, exist_ok=True)
        name = secrets.token_hex(16) + clean.suffix
        path = self.folder / name
        try:
            return self._insert(owner, tid, path, clean, actor)
        except BaseException:
            path.unlink(missing_ok=True)  # nothing refers to it: do not leave it behind
            raise

    def _insert(self, owner: str, tid: str, path: Path, clean: Clean, actor: str
                ) -> dict[str, Any]:
        uow = self._ctx.uow
        name = path.name
        with uow.tx() as conn:
            self._things.owned(conn, tid, owner)
            count = conn.execute("SELECT COUNT(*) FROM sharing_photos WHERE thing = ?",
                                 (tid,)).fetchone()[0]
            if count >= MAX_PER_THING:
                raise Conflict(N_("a thing has at most %(most)s photos", most=MAX_PER_THING))
            path.write_bytes(clean.data)
            pid = new_id("pho")
            conn.execute(
                "INSERT INTO sharing_photos (id, thing, file, media_type, width, height, bytes,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (pid, tid, name, clean.media_type, clean.width, clean.height,
                 len(clean.data), uow.now()))
            uow.transition(conn, "thing", tid, "available", "available", actor,
                           note=f"photo {pid} added")
        return {"id": pid, "url": f"/things/{tid}/photos/{pid}", "media_type": clean.media_type,
                "width": clean.width, "height": clean.height, "bytes": len(clean.data)}

    def read(self, viewer: str, tid: str, pid: str) -> tuple[bytes, str]:
        """A photo's bytes and media type, for a household of the thing's community."""
        me = member(self._db, viewer)
        with self._db.transaction() as conn:
            self._things.row(conn, tid, me.community)
            row = conn.execute("SELECT file, media_type FROM sharing_photos WHERE id = ? AND"
                               " thing = ?", (pid, tid)).fetchone()
        if row is None:
            raise NotFound(N_("no photo %(pid)s of thing %(tid)s", pid=pid, tid=tid))
        path = self.folder / row["file"]
        if path.parent != self.folder or not path.is_file():
            raise NotFound(N_("photo %(pid)s is missing", pid=pid))
        return path.read_bytes(), str(row["media_type"])

    def remove(self, owner: str, tid: str, pid: str, actor: str) -> None:
        """Delete a photo of the owner's thing (row and file)."""
        uow = self._ctx.uow
        with uow.tx() as conn:
            self._things.owned(conn, tid, owner)
            row = conn.execute("SELECT file FROM sharing_photos WHERE id = ? AND thing = ?",
                               (pid, tid)).fetchone()
            if row is None:
                raise NotFound(N_("no photo %(pid)s of thing %(tid)s", pid=pid, tid=tid))
            conn.execute("DELETE FROM sharing_photos WHERE id = ?", (pid,))
            uow.transition(conn, "thing", tid, "available", "available", actor,
                           note=f"photo {pid} removed")
            path = self.folder / row["file"]
            uow.after_commit(lambda: path.unlink(missing_ok=True))
