"""Photos: real images only (checked by content), size limits, metadata stripped,
random names outside any web root, served only to the thing's community."""

from __future__ import annotations

import io
import os
import re
from typing import Any

import httpx
from PIL import Image, PngImagePlugin
from sharing_support import World, who

from hub.sharing.photos import MAX_BYTES, MAX_PER_THING

GPS_TAG = 0x8825


def _thing(api: httpx.Client) -> str:
    r = api.post("/things", json={"title": "Cordless drill", "category": "tools"},
                 headers=who("h-chen"))
    assert r.status_code == 201
    return str(r.json()["id"])


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (2400, 1200), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SnoopCam"  # Make
    exif[0x0112] = 6  # orientation: rotated, so the clean copy must be turned upright
    exif.get_ifd(GPS_TAG)[2] = (52.0, 0.0, 0.0)  # GPSLatitude
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"secret comment")
    return out.getvalue()


def _png_with_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Chen, Mill Lane 3")
    out = io.BytesIO()
    Image.new("RGBA", (64, 48), (0, 90, 200, 255)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def _webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 10)).save(out, "WEBP")
    return out.getvalue()


def _upload(api: httpx.Client, tid: str, data: bytes, content_type: str = "image/jpeg",
            household: str = "h-chen") -> httpx.Response:
    return api.post(f"/things/{tid}/photos", content=data,
                    headers={**who(household), "content-type": content_type})


def test_a_jpeg_loses_its_metadata_and_is_served_to_the_community(api: httpx.Client,
                                                                   world: World) -> None:
    tid = _thing(api)
    original = _jpeg_with_gps()
    assert b"SnoopCam" in original
    r = _upload(api, tid, original)
    assert r.status_code == 201, r.text
    photo: dict[str, Any] = r.json()
    assert photo["media_type"] == "image/jpeg"
    # Turned upright (orientation 6: 2400x1200 becomes 1200x2400), then scaled to 1600.
    assert (photo["width"], photo["height"]) == (800, 1600)

    files = os.listdir(world.sharing.photos.folder)
    assert len(files) == 1
    assert re.fullmatch(r"[0-9a-f]{32}\.jpg", files[0])
    served = api.get(photo["url"], headers=who("h-ana"))
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert b"SnoopCam" not in served.content
    assert b"secret comment" not in served.content
    clean = Image.open(io.BytesIO(served.content))
    assert dict(clean.getexif()) == {}
    assert "comment" not in clean.info
    # The thing lists it; another community and anonymous callers get nothing.
    listed = api.get(f"/things/{tid}", headers=who("h-ana")).json()["photos"]
    assert [p["id"] for p in listed] == [photo["id"]]
    assert api.get(photo["url"], headers=who("h-zed")).status_code == 404
    assert api.get(photo["url"]).status_code == 401


def test_png_and_webp_are_re_encoded(api: httpx.Client) -> None:
    tid = _thing(api)
    r = _upload(api, tid, _png_with_text(), "image/png")
    assert r.status_code == 201, r.text
    served = api.get(r.json()["url"], headers=who("h-ana")).content
    assert b"Mill Lane" not in served
    assert Image.open(io.BytesIO(served)).format == "PNG"
    r = _upload(api, tid, _webp(), "image/webp")
    assert r.status_code == 201, r.text
    assert r.json()["media_type"] == "image/webp"


def test_what_is_not_a_real_image_is_refused(api: httpx.Client, world: World) -> None:
    tid = _thing(api)
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, "GIF")
    cases = {
        "a GIF": (gif.getvalue(), "image/jpeg"),
        "HTML named as a JPEG": (b"<html><script>alert(1)</script></html>", "image/jpeg"),
        "a truncated JPEG": (_jpeg_with_gps()[:600], "image/jpeg"),
        "nothing": (b"", "image/png"),
    }
    for name, (data, ctype) in cases.items():
        r = _upload(api, tid, data, ctype)
        assert r.status_code == 422, name
        assert r.headers["content-type"] == "application/problem+json", name
        assert r.json()["detail"], name
    assert "GIF" in _upload(api, tid, gif.getvalue()).json()["detail"]
    # Over the size limit: 413 before the body is read.
    r = _upload(api, tid, b"\xff" * (MAX_BYTES + 1))
    assert r.status_code == 413
    # Only the owner adds photos; a stranger's upload is 404 and leaves no file.
    assert _upload(api, tid, _webp(), "image/webp", household="h-ana").status_code == 404
    folder = world.sharing.photos.folder
    assert not folder.exists() or os.listdir(folder) == []


def test_photo_count_limit_and_removal(api: httpx.Client, world: World) -> None:
    tid = _thing(api)
    ids = []
    for _ in range(MAX_PER_THING):
        r = _upload(api, tid, _webp(), "image/webp")
        assert r.status_code == 201
        ids.append(r.json()["id"])
    r = _upload(api, tid, _webp(), "image/webp")
    assert r.status_code == 409
    assert len(os.listdir(world.sharing.photos.folder)) == MAX_PER_THING
    assert api.delete(f"/things/{tid}/photos/{ids[0]}", headers=who("h-ana")).status_code == 404
    assert api.delete(f"/things/{tid}/photos/{ids[0]}", headers=who("h-chen")).status_code == 204
    assert len(os.listdir(world.sharing.photos.folder)) == MAX_PER_THING - 1
    assert api.get(f"/things/{tid}/photos/{ids[0]}", headers=who("h-chen")).status_code == 404
